package ghactions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
)

// rateRecorder records what WithMetrics registers.
type rateRecorder struct {
	mu    sync.Mutex
	names []string
	fns   []func() (int, int, bool)
}

func (r *rateRecorder) RateLimit(system, resource string, fn func() (remaining, limit int, ok bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, system+"/"+resource)
	r.fns = append(r.fns, fn)
}

// With a webhook secret, NewTargets returns the receiver of the
// repositories' deliveries, wires each repository target's Source to it
// and polls only as a safety net: a signed workflow_run completed failure
// is re-run at once, though the next poll is ten minutes away. WithMetrics
// registers the client's rate limit, read from GitHub's answers.
func TestNewTargetsWithWebhookSecret(t *testing.T) {
	t.Parallel()
	const token, secret = "ghp_webhookTargets0123456789abcdefAB", "hook-s3cret"
	srv := ghtest.NewServer(ghtest.WithToken(token))
	t.Cleanup(srv.Close)
	ci := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	no := false
	cfg := &ghactions.TargetConfig{APIURL: srv.URL(), Critical: &no, Repos: []ghactions.RepoConfig{{Repo: ghactions.Repo{Owner: "octo", Name: "app", Branch: "main"}}}}
	rates := &rateRecorder{}
	g, err := ghactions.NewTargets(context.Background(), cfg, ghactions.WithToken(token), ghactions.WithHTTPClient(srv.HTTPClient()),
		ghactions.WithWebhookSecret(secret), ghactions.WithMetrics(rates))
	require.NoError(t, err)
	hook, ok := g.Receiver.(*ghactions.Webhook)
	require.True(t, ok, "the group's receiver is the webhook")
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	assert.NotNil(t, tg.Source, "deliveries wake the target")
	assert.Equal(t, ghactions.SafetyNetInterval, tg.Policy.Interval, "no interval set: polling is the safety net")
	assert.Equal(t, 1, tg.Policy.FailureThreshold, "no threshold set: a delivered failure is repaired at once")
	assert.Equal(t, ghactions.ProblemDeps(), tg.ProblemDeps)
	assert.Equal(t, redundancy.NonCritical, tg.Criticality)
	assert.Contains(t, g.Notes, "github: webhook deliveries wake the repository targets; polled every 10m0s as a safety net")
	assert.Equal(t, []string{"github/core"}, rates.names)

	ctx, cancel := context.WithCancel(context.Background())
	o := redundancy.New()
	require.NoError(t, o.Add(tg))
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		ts, _ := o.Target(tg.Name)
		return hook.Stats().Watchers == 1 && !ts.LastCheck.IsZero()
	}, 10*time.Second, 5*time.Millisecond, "the first check ran and the source is watched")
	rem, limit, known := rates.fns[0]()
	assert.True(t, known, "the rate limit GitHub reported")
	assert.Equal(t, ghtest.DefaultRateLimit, limit)
	assert.Less(t, rem, limit)

	public := httptest.NewServer(hook)
	t.Cleanup(public.Close)
	run := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Status: ghactions.RunInProgress})
	srv.CompleteRun(run, ghactions.ConclusionFailure)
	body, ok := srv.WorkflowRunPayload(run, "completed")
	require.True(t, ok)
	code, err := ghtest.Deliver(ctx, public.Client(), public.URL, "workflow_run", body, []byte("not the secret"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code, "a bad signature")
	code, err = ghtest.Deliver(ctx, public.Client(), public.URL, "workflow_run", body, []byte(secret))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool {
		r, _ := srv.Run(run)
		return r.Attempt == 2
	}, 10*time.Second, 5*time.Millisecond, "re-run at once, not at the next poll")
	assert.Equal(t, int64(1), hook.Stats().BadSignature)

	// An interval the file sets is kept.
	cfg.Policy.Interval = time.Minute
	g, err = ghactions.NewTargets(context.Background(), cfg, ghactions.WithHTTPClient(srv.HTTPClient()), ghactions.WithWebhookSecret(secret))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, g.Targets[0].Policy.Interval)
	// No secret: no receiver, no source, the ordinary interval.
	cfg.Policy.Interval = 0
	g, err = ghactions.NewTargets(context.Background(), cfg, ghactions.WithHTTPClient(srv.HTTPClient()), ghactions.WithWebhookSecret(""))
	require.NoError(t, err)
	assert.Nil(t, g.Receiver)
	assert.Nil(t, g.Targets[0].Source)
	assert.Zero(t, g.Targets[0].Policy.Interval)
	for _, n := range g.Notes {
		assert.False(t, strings.Contains(n, "webhook"), n)
	}
}
