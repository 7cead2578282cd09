package netlify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
)

// With a webhook secret, NewTargets returns the receiver of the site's
// deploy notifications and wires the site target's Source to it; a target
// that checks only deploys is polled as a safety net and repaired at the
// first failing check, so a signed "deploy failed" notification leads to
// the rebuild at once. Probes keep their polling.
func TestNewTargetsWithWebhookSecret(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "good", CreatedAt: time.Now().Add(-time.Hour)}, true)
	no := false
	cfg := &netlify.TargetConfig{SiteID: site, APIURL: srv.APIURL(), Critical: &no}
	g, err := netlify.NewTargets(context.Background(), cfg, netlify.WithToken(netlifytest.DefaultToken),
		netlify.WithHTTPClient(srv.HTTPClient()), netlify.WithWebhookSecret(string(hookSecret)))
	require.NoError(t, err)
	hook, ok := g.Receiver.(*netlify.Webhook)
	require.True(t, ok, "the group's receiver is the webhook")
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	assert.NotNil(t, tg.Source)
	assert.Equal(t, netlify.SafetyNetInterval, tg.Policy.Interval)
	assert.Equal(t, 1, tg.Policy.FailureThreshold)
	assert.Equal(t, netlify.ProblemDeps(), tg.ProblemDeps)
	assert.Equal(t, redundancy.NonCritical, tg.Criticality)
	assert.Equal(t, []string{"netlify: deploy notifications wake netlify-site-1; polled every 10m0s as a safety net"}, g.Notes)

	o := redundancy.New()
	require.NoError(t, o.Add(tg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		ts, _ := o.Target(tg.Name)
		return hook.Stats().Watchers == 1 && ts.Status == redundancy.StatusHealthy
	}, 10*time.Second, 5*time.Millisecond)

	public := httptest.NewServer(hook)
	t.Cleanup(public.Close)
	failed := srv.AddDeploy(site, netlify.Deploy{ID: "broken", State: netlify.DeployError, ErrorMessage: "exit code 2"}, false)
	code, err := srv.Notify(ctx, public.Client(), public.URL, failed, []byte("not the secret"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, err = srv.Notify(ctx, public.Client(), public.URL, failed, hookSecret)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool {
		ts, _ := o.Target(tg.Name)
		for _, h := range ts.History {
			if h.Verb == netlify.VerbRebuild && h.OK() {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "rebuilt at once, not at the next poll")

	// With probes the target keeps its polling: notifications do not tell
	// of a function that stopped answering.
	cfg.Probes, cfg.SiteURL = []netlify.Endpoint{{Name: "hello"}}, srv.URL()
	g, err = netlify.NewTargets(context.Background(), cfg, netlify.WithToken(netlifytest.DefaultToken),
		netlify.WithHTTPClient(srv.HTTPClient()), netlify.WithWebhookSecret(string(hookSecret)))
	require.NoError(t, err)
	assert.NotNil(t, g.Receiver)
	assert.Zero(t, g.Targets[0].Policy.Interval)
	assert.Zero(t, g.Targets[0].Policy.FailureThreshold)
	assert.Equal(t, []string{"netlify: deploy notifications wake netlify-site-1; probes and the manifest are still polled every 30s"}, g.Notes)
}
