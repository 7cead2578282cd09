package netlify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
	known *netlify.KnownGood
}

// newHarness starts a fake Netlify whose builds move on the orchestrator's
// fake clock (10s enqueued, 30s building) and an orchestrator on that clock.
func newHarness(t *testing.T, opts ...netlifytest.Option) *harness {
	t.Helper()
	clk := redundancytest.NewFakeClock(t0)
	srv := netlifytest.NewServer(append([]netlifytest.Option{netlifytest.WithClock(clk), netlifytest.WithBuildTimes(10*time.Second, 30*time.Second)}, opts...)...)
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	o := redundancy.New(redundancy.WithClock(clk))
	return &harness{srv: srv, site: site, clock: clk, orch: o, rec: redundancytest.NewRecorder(o), known: &netlify.KnownGood{}}
}

// good records deploys as having passed the probes while published.
func (h *harness) good(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		d, ok := h.srv.Deploy(id)
		require.True(t, ok, id)
		require.NoError(t, h.known.Record(context.Background(), h.site, d, t0))
	}
}

// events returns the errors of the events of kind k.
func (h *harness) errs(k redundancy.EventKind) []error {
	var out []error
	for _, e := range h.rec.Events() {
		if e.Kind == k {
			out = append(out, e.Err)
		}
	}
	return out
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
			dc := &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}
			h.add(t, dc, rec, quick())

			st := h.tick(0)
			assert.Equal(t, []string{"netlify.rebuild d2"}, verbs(st.History))
			builds := h.srv.Builds()
			require.Len(t, builds, 1)
			assert.Equal(t, viaHook, builds[0].ViaHook)
			assert.Equal(t, "uras: rebuild after deploy d2", builds[0].Title, "the deploy list says who started it")
			nd, _ := h.srv.Deploy(builds[0].DeployID)
			assert.Equal(t, netlify.DeployEnqueued, nd.State, "a build starts enqueued")

			// While the build runs, the newest deploy is in progress: no
			// finding, so no second build.
			h.clock.Advance(20 * time.Second)
			rep := dc.Check(context.Background())
			assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%+v", rep)
			assert.Contains(t, rep.Summary, "(building)")
			st = h.tick(40 * time.Second)
			assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
			assert.Equal(t, builds[0].DeployID, h.srv.Published(h.site))
			assert.Len(t, h.srv.Builds(), 1)
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
// function fails. d1 and d2 passed their probes while published.
func restoreSite(t *testing.T, h *harness) {
	s := h.srv
	s.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d2x", CreatedAt: t0.Add(-3 * time.Hour), State: netlify.DeployError}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "p1", CreatedAt: t0.Add(-150 * time.Minute), Context: "deploy-preview", Branch: "pr-1"}, false)
	s.AddDeploy(h.site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(-2 * time.Hour)}, true)
	s.SetFunction("hello", netlifytest.Function{Body: "hi"})
	s.SetDeployFunction("d3", "hello", netlifytest.Function{Status: 500, Body: "TypeError: x is undefined"})
	h.good(t, "d1", "d2")
}

// siteTarget adds the site as SiteChecker (deploys, probes, known good)
// and Recoverer.
func (h *harness) siteTarget(t *testing.T, c netlify.Client, p redundancy.Policy, tune func(*netlify.Recoverer)) *netlify.ProbeChecker {
	t.Helper()
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL(), Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 5 * time.Second}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes, KnownGood: h.known}
	rec := &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes, KnownGood: h.known, Clock: h.clock}
	if tune != nil {
		tune(rec)
	}
	h.add(t, chk, rec, p)
	return probes
}

func TestOrchestratorRestoresLastGoodDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(t, h)
	h.siteTarget(t, h.client(), quick(), nil)

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

// Only a deploy that passed the probes while it was published is brought
// back, however ready a newer one is; the SiteChecker records them.
func TestOrchestratorRestoresOnlyKnownGood(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, true)
	h.srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	h.siteTarget(t, h.client(), quick(), nil)

	st := h.tick(0)
	require.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
	good, err := h.known.Deploys(context.Background(), h.site)
	require.NoError(t, err)
	require.Len(t, good, 1)
	assert.Equal(t, "d1", good[0].ID, "d1 passed its probes while published")

	// d2 is ready but was never published; d3 breaks hello.
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, false)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(-3 * time.Hour)}, true)
	h.srv.SetDeployFunction("d3", "hello", netlifytest.Function{Status: 500})
	st = h.tick(time.Minute)
	assert.Equal(t, []string{"netlify.restore-deploy d1", "netlify.verify-endpoints hello"}, verbs(st.History))
	assert.Equal(t, "d1", h.srv.Published(h.site))
	good, err = h.known.Deploys(context.Background(), h.site)
	require.NoError(t, err)
	assert.Len(t, good, 1, "d3 never passed")
}

// After the one rollback, a further failure escalates at once.
func TestOrchestratorNeverRestoresTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(t, h)
	h.srv.SetDeployFunction("d2", "hello", netlifytest.Function{Status: 503}) // the dependency is down, not the deploy
	h.siteTarget(t, h.client(), quick(), nil)

	st := h.tick(0)
	assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello FAILED"}, verbs(st.History))
	st = h.tick(5 * time.Minute)
	assert.Equal(t, "d2", h.srv.Published(h.site), "no second restore to d1")
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/sites/*/deploys/*/restore"))
	assert.True(t, st.Escalated, "escalated at once")
	esc := h.errs(redundancy.EventEscalated)
	require.Len(t, esc, 1)
	require.ErrorIs(t, esc[0], netlify.ErrNoRestoreCandidate)
	require.ErrorIs(t, esc[0], redundancy.ErrExhausted)
	assert.Equal(t, 1, h.rec.Count(redundancy.EventRecoveryStarted), "no budget burnt on a second attempt")
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status)
}

// The probe of the published deploy times out; the deploy restored
// answers at once. The ticks run in a synctest bubble with every request
// in process, so the 40ms timeout is the bubble's fake time, which no load
// can stretch. (The fake server is started outside the bubble: its
// listener is not the bubble's to wait for.)
func TestOrchestratorProbeTimeoutAfterThreshold(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(t, h)
	h.srv.SetDeployFunction("d3", "hello", netlifytest.Function{Hang: true})
	hc := &http.Client{Transport: h.srv.Transport()}
	c := h.srv.Client(netlify.WithHTTPClient(hc), netlify.WithClock(newRecClock(t0)))
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL(), HTTPClient: hc, Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 40 * time.Millisecond}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes, KnownGood: h.known}
	p := quick()
	p.FailureThreshold = 2
	h.add(t, chk, &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes, KnownGood: h.known}, p)

	synctest.Test(t, func(t *testing.T) {
		st := h.tick(0)
		assert.Equal(t, redundancy.StatusUnhealthy, st.Report.Status)
		require.NotEmpty(t, st.Report.Findings)
		assert.Contains(t, st.Report.Findings[0].Detail, "timed out after 40ms")
		assert.Empty(t, st.History, "below the threshold: no recovery yet")

		st = h.tick(time.Minute)
		assert.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello"}, verbs(st.History))
		st = h.tick(time.Minute)
		assert.Equal(t, redundancy.StatusHealthy, st.Status)
	})
}

func TestOrchestratorAPIFailuresNeverRecover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail redundancytest.Fault
		is   error
	}{
		{"500s", times(netlifytest.ServerError(), 3), nil},
		{"malformed JSON", netlifytest.Malformed(), netlify.ErrMalformedResponse},
		{"rate limit past the bound", netlifytest.RateLimited(t0.Add(24 * time.Hour)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0, State: netlify.DeployError}, false)
			h.srv.FailNext("GET /api/v1/sites/"+h.site, tc.fail)
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
	h.srv.FailNext("GET /api/v1/sites/"+h.site+"/deploys", netlifytest.RateLimited(t0.Add(5*time.Second)))
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, nil, quick())

	st := h.tick(0)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
	assert.Equal(t, []time.Duration{5 * time.Second}, clk.Waits())

	// A reset past the check's deadline (Policy.Timeout, 10s) is not
	// waited for: the check ends unknown instead of overrunning.
	h.srv.FailNext("GET /api/v1/sites/"+h.site+"/deploys", netlifytest.RateLimited(t0.Add(30*time.Second)))
	st = h.tick(time.Minute)
	var rl *netlify.RateLimitError
	require.ErrorAs(t, st.Report.Err, &rl)
	assert.Len(t, clk.Waits(), 1)
}

func TestSiteCheckerMergesParts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.FailNext("GET /api/v1/sites/"+h.site, times(netlifytest.ServerError(), 3))
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

// A report of endpoints down that predates a newer deploy, published since
// and serving well (a rebuild that landed), plans no restore: restoring an
// older deploy over it would undo the repair.
func TestRestoreRereadsTheEndpointsBeforePlanning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, true)
	h.good(t, "d1")
	h.srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, true)
	h.srv.SetDeployFunction("d2", "hello", netlifytest.Function{Status: 500})
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL(), Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 5 * time.Second}
	rec := &netlify.Recoverer{Client: h.client(), SiteID: h.site, Probes: probes, KnownGood: h.known, Clock: h.clock}

	stale := probes.Check(context.Background())
	require.True(t, stale.Has(netlify.ProblemEndpointDown), "%+v", stale)
	actions, err := rec.Plan(context.Background(), stale)
	require.NoError(t, err)
	require.NotEmpty(t, actions, "down now: restore d1")
	assert.Equal(t, netlify.VerbRestoreDeploy, actions[0].Verb)

	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(-time.Hour)}, true) // the rebuild landed
	actions, err = rec.Plan(context.Background(), stale)
	require.NoError(t, err)
	assert.Empty(t, actions, "the endpoints answer on d3: nothing to restore")
	assert.Equal(t, "d3", h.srv.Published(h.site))
}

// A deploy published while the endpoints are being probed (a rebuild that
// lands then) is not judged by probes that reached the one before it: no
// restore of an older deploy over it.
func TestRestoreIgnoresProbesThatRacedAPublish(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, true)
	h.good(t, "d1")
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, true)
	var landed atomic.Bool
	// The probe reaches d2, which answers 500, while d3 is being published.
	racing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !landed.Swap(true) {
			h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(-time.Hour)}, true)
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(racing.Close)
	probes := &netlify.ProbeChecker{Endpoints: []netlify.Endpoint{{Name: "hello", URL: racing.URL + "/hello"}}, Timeout: 5 * time.Second}
	rec := &netlify.Recoverer{Client: h.client(), SiteID: h.site, Probes: probes, KnownGood: h.known, Clock: h.clock}
	rep := redundancy.Report{Status: redundancy.StatusUnhealthy, Findings: []redundancy.Finding{
		{Subject: "hello", Problem: netlify.ProblemEndpointDown, Status: redundancy.StatusUnhealthy}}}

	actions, err := rec.Plan(context.Background(), rep)
	require.NoError(t, err)
	assert.Empty(t, actions, "d3 was published while the probes ran: they do not judge it")
	assert.Equal(t, "d3", h.srv.Published(h.site))
}
