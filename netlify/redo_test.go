package netlify_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// The issue measured 12 builds for one rebuild decision (MaxRebuilds 1)
// when every POST answered 502 after starting a build: 4 client tries × 3
// runs of the action. Here every build request answers a gateway's 502
// after the build started, the orchestrator retries each action twice,
// and every build fails, so that a second decision comes: the fake counts
// exactly one build per decision.
func TestOrchestratorOneBuildPerDecisionDespite502AfterTheEffect(t *testing.T) {
	t.Parallel()
	for _, viaHook := range []bool{false, true} {
		name := "builds API"
		if viaHook {
			name = "build hook"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "exit 2"}, false)
			fail := netlifytest.BuildResult{State: netlify.DeployError, ErrorMessage: "exit 2 again"}
			h.srv.QueueBuildResults(fail, fail, fail)
			h.srv.FailNext("POST /api/v1/sites/*/builds", netlifytest.BadGatewayAfter(-1))
			h.srv.FailNext("POST /build_hooks/*", netlifytest.BadGatewayAfter(-1))
			c := h.client()
			rec := &netlify.Recoverer{Client: c, SiteID: h.site, MaxRebuilds: 2}
			if viaHook {
				rec.BuildHookURL = h.srv.BuildHookURL(h.site)
			}
			p := quick()
			p.Retry = 2 // the orchestrator may run each action three times
			h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, rec, p)

			st := h.tick(0) // decision 1: rebuild after d2
			require.Equal(t, []string{"netlify.rebuild d2"}, verbs(st.History), "the 502 came after the build started: the action succeeded")
			assert.Len(t, h.srv.Builds(), 1)
			first := h.srv.Builds()[0].DeployID

			st = h.tick(2 * time.Minute) // that build failed: decision 2
			assert.Equal(t, []string{"netlify.rebuild d2", "netlify.rebuild " + first}, verbs(st.History))
			assert.Len(t, h.srv.Builds(), 2)

			st = h.tick(5 * time.Minute) // failed again: the limit escalates
			assert.True(t, st.Escalated)
			assert.Len(t, h.srv.Builds(), 2, "exactly one build per decision")
			calls := "POST /api/v1/sites/*/builds"
			if viaHook {
				calls = "POST /build_hooks/*"
			}
			assert.Equal(t, 2, h.srv.CallCount(calls), "no request sent twice")
		})
	}
}

// A restore that publishes and then answers 502, or hangs, is not sent
// again: the action reads the site, sees the deploy published, and is done.
func TestOrchestratorOneRestoreDespite5xxAfterPublishing(t *testing.T) {
	t.Parallel()
	for _, f := range []redundancytest.Fault{
		{Status: http.StatusBadGateway, After: true, Times: -1},
		{Status: http.StatusInternalServerError, After: true, Times: -1},
		{Status: http.StatusServiceUnavailable, After: true, Times: -1},
	} {
		t.Run(http.StatusText(f.Status), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			restoreSite(t, h)
			h.srv.FailNext("POST /api/v1/sites/*/deploys/*/restore", f)
			p := quick()
			p.Retry = 2
			h.siteTarget(t, h.client(), p, nil)

			st := h.tick(0)
			assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello"}, verbs(st.History))
			require.Len(t, st.History, 2)
			assert.Equal(t, 1, st.History[0].Tries, "the first try found out it had worked")
			assert.Equal(t, "d2", h.srv.Published(h.site))
			assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/sites/*/deploys/*/restore"), "one restore")

			st = h.tick(time.Minute)
			assert.Equal(t, redundancy.StatusHealthy, st.Status)
			assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/sites/*/deploys/*/restore"))
		})
	}
}

// An action run again (the orchestrator's retry, or a second attempt)
// finds its work done and does nothing.
func TestActionsAreSafeToRepeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	restoreSite(t, h)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d4", CreatedAt: t0.Add(-time.Hour), State: netlify.DeployError}, false)
	c := h.client()
	rec := &netlify.Recoverer{Client: c, SiteID: h.site, KnownGood: h.known, LockRestored: true}
	rep := redundancy.NewReport("x",
		redundancy.Finding{Subject: "d4", Problem: netlify.ProblemDeployFailed, Status: redundancy.StatusUnhealthy},
		redundancy.Finding{Subject: "hello", Problem: netlify.ProblemEndpointDown, Status: redundancy.StatusUnhealthy})
	acts, err := rec.Plan(ctx, rep)
	require.NoError(t, err)
	var got []string
	for _, a := range acts {
		got = append(got, a.Verb+" "+a.Subject)
	}
	require.Equal(t, []string{"netlify.rebuild d4", "netlify.restore-deploy d2", "netlify.lock-deploy d2"}, got)
	for range 3 {
		for _, a := range acts {
			require.NoError(t, a.Do(ctx), a.Verb)
		}
	}
	assert.Len(t, h.srv.Builds(), 1)
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/sites/*/deploys/*/restore"))
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/deploys/*/lock"))
	assert.Equal(t, "d2", h.srv.Published(h.site))

	// A restore planned against d3 does not undo a deploy published since.
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d5"}, true)
	err = acts[1].Do(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `deploy "d5" is published now`)
	assert.Equal(t, "d5", h.srv.Published(h.site))
}

// Netlify creates a build hook's build asynchronously: right after the
// post (here answered by a gateway's 502 after it took effect) the deploy
// list does not show it yet. The action's retries post no second hook for
// the same decision; the build is listed later, and nothing more is sent.
func TestOneBuildHookPerDecisionWhenItsDeployIsListedLater(t *testing.T) {
	t.Parallel()
	h := newHarness(t, netlifytest.WithHookDelay(20*time.Second))
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "exit 2"}, false)
	h.srv.FailNext("POST /build_hooks/*", netlifytest.BadGatewayAfter(-1))
	c := h.client()
	rec := &netlify.Recoverer{Client: c, SiteID: h.site, MaxRebuilds: 2, BuildHookURL: h.srv.BuildHookURL(h.site)}
	p := quick()
	p.Retry = 2 // the orchestrator may run the action three times
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, rec, p)

	// The first try's answer is uncertain, so the orchestrator retries the
	// action after RetryDelay on the fake clock: move it along while the
	// tick waits.
	done := make(chan struct{})
	go func() { defer close(done); h.orch.Tick(context.Background()) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		default:
			if h.clock.BlockUntil(1, 50*time.Millisecond) {
				h.clock.Advance(time.Millisecond)
			}
		}
	}
	assert.Equal(t, 1, h.srv.CallCount("POST /build_hooks/*"), "one post for the decision")
	assert.Empty(t, h.srv.Builds(), "not listed yet")

	st := h.tick(time.Minute)
	assert.Equal(t, 1, h.srv.CallCount("POST /build_hooks/*"), "the hook's build came: nothing more sent")
	assert.Len(t, h.srv.Builds(), 1)
	assert.Equal(t, []string{"netlify.rebuild d2"}, verbs(st.History))
}
