package netlify_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// quick is a policy for driving the orchestrator by hand: recover on the
// first failure, no retries of actions, no jitter.
func quick() redundancy.Policy {
	return redundancy.Policy{
		Interval:         time.Minute,
		FailureThreshold: 1,
		Retry:            -1,
		RetryDelay:       time.Millisecond,
		Backoff:          redundancy.Backoff{Base: time.Minute, Jitter: -1},
		Budget:           redundancy.Budget{Max: 5, Window: time.Hour},
	}
}

type harness struct {
	srv   *netlifytest.Server
	site  string
	clock *redundancytest.FakeClock
	orch  *redundancy.Orchestrator
	rec   *redundancytest.Recorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	srv, site := newSite(t)
	clk := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clk))
	return &harness{srv: srv, site: site, clock: clk, orch: o, rec: redundancytest.NewRecorder(o)}
}

// client returns a fake-server client whose waits are recorded, not slept.
func (h *harness) client() *netlify.APIClient {
	return h.srv.Client(netlify.WithClock(newRecClock(t0)), netlify.WithRetry(2, time.Millisecond))
}

func (h *harness) add(t *testing.T, chk redundancy.Checker, rec redundancy.Recoverer, p redundancy.Policy) {
	t.Helper()
	require.NoError(t, h.orch.Add(redundancy.Target{Name: "site", Checker: chk, Recoverer: rec, Policy: p}))
}

// tick advances the clock by d and runs one cycle.
func (h *harness) tick(d time.Duration) redundancy.TargetState {
	h.clock.Advance(d)
	h.orch.Tick(context.Background())
	st, _ := h.orch.Target("site")
	return st
}

func verbs(rs []redundancy.ActionResult) []string {
	var out []string
	for _, r := range rs {
		s := r.Verb + " " + r.Subject
		if !r.OK() {
			s += " FAILED"
		}
		out = append(out, s)
	}
	return out
}

func TestOrchestratorRegeneratesManifest(t *testing.T) {
	t.Parallel()
	for _, breakIt := range []struct {
		name string
		fn   func(t *testing.T, fnDir, mp string)
	}{
		{"missing", func(t *testing.T, fnDir, mp string) {}},
		{"stale", func(t *testing.T, fnDir, mp string) {
			_, err := netlify.RegenerateManifest(fnDir, mp, t0.Add(-time.Hour))
			require.NoError(t, err)
		}},
		{"unlisted", func(t *testing.T, fnDir, mp string) {
			_, err := netlify.RegenerateManifest(fnDir, mp, t0)
			require.NoError(t, err)
			writeFile(t, fnDir, "added.js", "x", t0.Add(-time.Hour))
		}},
	} {
		t.Run(breakIt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			fnDir, mp := project(t, t0.Add(-30*time.Minute))
			breakIt.fn(t, fnDir, mp)
			mc := &netlify.ManifestChecker{FunctionsDir: fnDir, ManifestPath: mp}
			h.add(t, mc, &netlify.Recoverer{FunctionsDir: fnDir, ManifestPath: mp, Clock: h.clock}, quick())

			st := h.tick(0)
			require.Equal(t, []string{"netlify.regenerate-manifest " + mp}, verbs(st.History))
			assert.Equal(t, 1, h.rec.Count(redundancy.EventRecoverySucceeded))

			st = h.tick(time.Minute)
			assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
			m, err := netlify.ReadManifest(mp)
			require.NoError(t, err)
			assert.Equal(t, t0.UnixMilli(), m.Timestamp, "stamped with the orchestrator's clock")
		})
	}
}

func TestOrchestratorRebuildsFailedDeploy(t *testing.T) {
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
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "Failed during stage 'building site'"}, false)
			c := h.client()
			rec := &netlify.Recoverer{Client: c, SiteID: h.site}
			if viaHook {
				rec.BuildHookURL = h.srv.BuildHookURL(h.site)
			}
			h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, rec, quick())

			st := h.tick(0)
			assert.Equal(t, []string{"netlify.rebuild d2"}, verbs(st.History))
			require.Len(t, h.srv.Builds(), 1)
			if viaHook {
				assert.Equal(t, 0, h.srv.CallCount("POST", "/sites/"+h.site+"/builds"))
			} else {
				assert.Equal(t, 1, h.srv.CallCount("POST", "/sites/"+h.site+"/builds"))
			}

			st = h.tick(time.Minute)
			assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
		})
	}
}

func TestOrchestratorBuildFailsAgainEscalates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "exit 2"}, false)
	fail := netlifytest.BuildResult{State: netlify.DeployError, ErrorMessage: "exit 2 again"}
	h.srv.QueueBuildResults(fail, fail, fail, fail)
	c := h.client()
	p := quick()
	p.Budget = redundancy.Budget{Max: 2, Window: time.Hour}
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, &netlify.Recoverer{Client: c, SiteID: h.site, MaxRebuilds: 5}, p)

	h.tick(0)
	h.tick(2 * time.Minute) // past the backoff
	st := h.tick(5 * time.Minute)
	assert.True(t, st.Escalated)
	assert.Equal(t, 1, h.rec.Count(redundancy.EventEscalated))
	assert.Len(t, h.srv.Builds(), 2, "the budget stops the rebuilds")
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status)
	assert.Equal(t, netlify.ProblemDeployFailed, st.Report.Findings[0].Problem)
	assert.Contains(t, st.Report.Findings[0].Detail, "exit 2 again")
}

func TestOrchestratorRebuildLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError}, false)
	h.srv.QueueBuildResults(netlifytest.BuildResult{State: netlify.DeployError, ErrorMessage: "again"})
	c := h.client()
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, &netlify.Recoverer{Client: c, SiteID: h.site, MaxRebuilds: 1}, quick())

	h.tick(0)
	h.tick(2 * time.Minute)
	assert.Len(t, h.srv.Builds(), 1)
	ev := h.rec.Events()
	var planErr error
	for _, e := range ev {
		if e.Kind == redundancy.EventEscalated {
			planErr = e.Err
		}
	}
	require.ErrorIs(t, planErr, netlify.ErrRebuildLimit, "the rebuild limit escalates at once")
	st, _ := h.orch.Target("site")
	assert.True(t, st.Escalated)
}

// restoreSite sets up: d1 ready, d2 ready (the right pick), d2x failed
// after it, p1 a ready deploy preview, d3 ready and published but its
// function fails; d4 a newer failed deploy (never a pick).
func restoreSite(h *harness) {
	s := h.srv
	s.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d2x", CreatedAt: t0.Add(-3 * time.Hour), State: netlify.DeployError}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "p1", CreatedAt: t0.Add(-150 * time.Minute), Context: "deploy-preview", Branch: "pr-1"}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(-2 * time.Hour)}, true)
	s.SetFunction("hello", netlifytest.Function{Body: "hi"})
	s.SetDeployFunction("d3", "hello", netlifytest.Function{Status: 500, Body: "TypeError: x is undefined"})
}

func TestOrchestratorRestoresLastGoodDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(h)
	c := h.client()
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL, Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 5 * time.Second}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes}
	h.add(t, chk, &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes}, quick())

	// A dry run names the deploy and does nothing.
	planned, err := h.orch.Plan(context.Background())
	require.NoError(t, err)
	require.Len(t, planned, 2)
	assert.Equal(t, netlify.VerbRestoreDeploy, planned[0].Verb)
	assert.Equal(t, "d2", planned[0].Subject)
	assert.Equal(t, netlify.VerbVerifyEndpoints, planned[1].Verb)
	assert.Equal(t, "d3", h.srv.Published(h.site))

	st := h.tick(0)
	assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello"}, verbs(st.History))
	assert.Equal(t, "d2", h.srv.Published(h.site))

	st = h.tick(time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
}

func TestOrchestratorNeverRestoresTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(h)
	h.srv.SetDeployFunction("d2", "hello", netlifytest.Function{Status: 503}) // the dependency is down, not the deploy
	c := h.client()
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL, Endpoints: []netlify.Endpoint{{Name: "hello"}}}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes}
	h.add(t, chk, &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes}, quick())

	st := h.tick(0)
	assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello FAILED"}, verbs(st.History))
	st = h.tick(5 * time.Minute)
	assert.Equal(t, "d2", h.srv.Published(h.site), "no second restore to d1")
	assert.Equal(t, 1, h.srv.CallCount("POST", "/sites/"+h.site+"/deploys/d2/restore"))
	assert.Zero(t, h.srv.CallCount("POST", "/sites/"+h.site+"/deploys/d1/restore"))
	var last error
	for _, e := range h.rec.Events() {
		if e.Kind == redundancy.EventRecoveryFailed {
			last = e.Err
		}
	}
	require.ErrorIs(t, last, netlify.ErrNoRestoreCandidate)
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status)
}

func TestOrchestratorProbeTimeoutAfterThreshold(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(h)
	h.srv.SetDeployFunction("d3", "hello", netlifytest.Function{Latency: 10 * time.Second})
	c := h.client()
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL, Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 40 * time.Millisecond}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes}
	p := quick()
	p.FailureThreshold = 2
	h.add(t, chk, &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes}, p)

	st := h.tick(0)
	assert.Equal(t, redundancy.StatusUnhealthy, st.Report.Status)
	assert.Contains(t, st.Report.Findings[0].Detail, "timed out after 40ms")
	assert.Empty(t, st.History, "below the threshold: no recovery yet")

	st = h.tick(time.Minute)
	assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello"}, verbs(st.History))
	st = h.tick(time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Status)
}

func TestOrchestratorAPIFailuresNeverRecover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail []netlifytest.Response
		is   error
	}{
		{"500s", []netlifytest.Response{netlifytest.ServerError(), netlifytest.ServerError(), netlifytest.ServerError()}, nil},
		{"malformed JSON", []netlifytest.Response{netlifytest.Malformed()}, netlify.ErrMalformedResponse},
		{"rate limit past the bound", []netlifytest.Response{netlifytest.RateLimited(t0.Add(24 * time.Hour))}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0, State: netlify.DeployError}, false)
			h.srv.FailNext("GET", "/sites/"+h.site, tc.fail...)
			c := h.client()
			h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, &netlify.Recoverer{Client: c, SiteID: h.site}, quick())

			st := h.tick(0)
			assert.Equal(t, redundancy.StatusUnknown, st.Report.Status)
			require.Error(t, st.Report.Err)
			if tc.is != nil {
				require.ErrorIs(t, st.Report.Err, tc.is)
			}
			assert.Zero(t, h.rec.Count(redundancy.EventRecoveryStarted))
			assert.Empty(t, h.srv.Builds())

			// Once the API answers, the failed deploy is seen and rebuilt.
			st = h.tick(time.Minute)
			assert.Equal(t, []string{"netlify.rebuild d2"}, verbs(st.History))
		})
	}
}

func TestOrchestratorRateLimitWaitsForReset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	clk := newRecClock(t0)
	c := h.srv.Client(netlify.WithClock(clk))
	h.srv.FailNext("GET", "/sites/"+h.site+"/deploys", netlifytest.RateLimited(t0.Add(5*time.Second)))
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, nil, quick())

	st := h.tick(0)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
	assert.Equal(t, []time.Duration{5 * time.Second}, clk.Waits())

	// A reset past the check's deadline (Policy.Timeout, 10s) is not
	// waited for: the check ends unknown instead of overrunning.
	h.srv.FailNext("GET", "/sites/"+h.site+"/deploys", netlifytest.RateLimited(t0.Add(30*time.Second)))
	st = h.tick(time.Minute)
	var rl *netlify.RateLimitError
	require.ErrorAs(t, st.Report.Err, &rl)
	assert.Len(t, clk.Waits(), 1)
}

func TestSiteCheckerMergesParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.FailNext("GET", "*", netlifytest.ServerError(), netlifytest.ServerError(), netlifytest.ServerError())
	fnDir, mp := project(t, t0)
	chk := &netlify.SiteChecker{
		Manifest: &netlify.ManifestChecker{FunctionsDir: fnDir, ManifestPath: mp},
		Deploys:  &netlify.DeployChecker{Client: h.client(), SiteID: h.site},
	}
	rep := chk.Check(context.Background())
	require.NoError(t, rep.Err, "one part still ran")
	assert.Equal(t, map[string]redundancy.Problem{
		mp:            netlify.ProblemManifestMissing,
		"netlify-api": netlify.ProblemAPIUnreachable,
	}, problems(rep))
	assert.Equal(t, redundancy.StatusUnhealthy, rep.Status)

	// Regeneration needs no API: the plan has it even while the API is down.
	acts, err := (&netlify.Recoverer{FunctionsDir: fnDir, ManifestPath: mp}).Plan(context.Background(), rep)
	require.NoError(t, err)
	require.Len(t, acts, 1)
	require.NoError(t, acts[0].Do(context.Background()))
	_, err = os.Stat(mp)
	require.NoError(t, err)

	// Every part failing is an error report.
	bad := &netlify.SiteChecker{Manifest: &netlify.ManifestChecker{FunctionsDir: "/nonexistent/fns"}}
	rep = bad.Check(context.Background())
	require.Error(t, rep.Err)
	assert.False(t, errors.Is(rep.Err, netlify.ErrManifestMissing))
}
