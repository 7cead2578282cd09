package netlify_test

import (
	"context"
	"fmt"
	"net/http"
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

// A build stuck far past its bound is cancelled (Netlify then lists it as
// an error, "Canceled build") and a new one started; a second stuck build
// counts against the rebuild limit.
func TestOrchestratorCancelsStuckBuild(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-2 * time.Hour)}, true)
	c := h.client()
	stall := netlifytest.BuildResult{Stall: true}
	h.srv.QueueBuildResults(stall, netlifytest.BuildResult{}, stall, stall)
	b, err := c.CreateBuild(context.Background(), h.site, netlify.CreateBuildOptions{}) // someone's push
	require.NoError(t, err)
	stuck := b.DeployID
	p := quick()
	p.Retry = 2
	h.add(t, &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock, StuckAfter: 20 * time.Minute},
		&netlify.Recoverer{Client: c, SiteID: h.site, MaxRebuilds: 1}, p)

	st := h.tick(10 * time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "building within the bound")
	assert.Empty(t, st.History)

	st = h.tick(15 * time.Minute)
	require.Equal(t, []string{"netlify.cancel-and-rebuild " + stuck}, verbs(st.History), "%+v", st.Report)
	d, _ := h.srv.Deploy(stuck)
	assert.Equal(t, netlify.DeployError, d.State)
	assert.Equal(t, "Canceled build", d.ErrorMessage)
	assert.Len(t, h.srv.Builds(), 2, "one new build")
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/deploys/*/cancel"))

	st = h.tick(time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
	assert.Equal(t, h.srv.Builds()[1].DeployID, h.srv.Published(h.site))

	// Another push stalls, and so does its replacement: the second stuck
	// build in a row is past the limit of one rebuild.
	_, err = c.CreateBuild(context.Background(), h.site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	st = h.tick(30 * time.Minute)
	require.Len(t, st.History, 2)
	assert.Equal(t, netlify.VerbCancelAndRebuild, st.History[1].Verb)
	st = h.tick(30 * time.Minute)
	assert.True(t, st.Escalated, "%+v", st.Report)
	esc := h.errs(redundancy.EventEscalated)
	require.Len(t, esc, 1)
	require.ErrorIs(t, esc[0], netlify.ErrRebuildLimit)
	assert.Len(t, h.srv.Builds(), 4)
}

// Cancelling is safe to repeat: a deploy no longer in progress is left
// alone, and one that finished ready wants no rebuild.
func TestCancelStuckIsSafeToRepeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-2 * time.Hour)}, true)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "s", CreatedAt: t0.Add(-time.Hour), State: netlify.DeployBuilding}, false)
	c := h.client()
	rec := &netlify.Recoverer{Client: c, SiteID: h.site}
	acts, err := rec.Plan(ctx, redundancy.NewReport("x", redundancy.Finding{Subject: "s", Problem: netlify.ProblemDeployStuck, Status: redundancy.StatusDegraded}))
	require.NoError(t, err)
	require.Len(t, acts, 1)
	h.srv.FailNext("POST /api/v1/deploys/s/cancel", netlifytest.BadGatewayAfter(1))
	require.NoError(t, acts[0].Do(ctx), "the 502 came after the cancel: it is checked, not sent again")
	require.NoError(t, acts[0].Do(ctx))
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/deploys/*/cancel"))
	assert.Len(t, h.srv.Builds(), 1)

	// A stuck deploy that finished ready meanwhile: nothing to do.
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "s2", State: netlify.DeployBuilding}, false)
	acts, err = rec.Plan(ctx, redundancy.NewReport("x", redundancy.Finding{Subject: "s2", Problem: netlify.ProblemDeployStuck, Status: redundancy.StatusDegraded}))
	require.NoError(t, err)
	require.Len(t, acts, 1)
	h.srv.SetDeployState(h.site, "s2", netlify.DeployReady, "")
	require.NoError(t, acts[0].Do(ctx))
	assert.Len(t, h.srv.Builds(), 1)
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/deploys/*/cancel"))
}

// A build cancelled because it was stuck counts against the rebuild limit
// whichever state the API lists it in (error "Canceled build", or
// cancelled): a site whose every build stalls is not cancelled and rebuilt
// for ever.
func TestCancelledBuildsCountAgainstTheRebuildLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, state := range []netlify.DeployState{netlify.DeployError, netlify.DeployCancelled} {
		h := newHarness(t)
		h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-3 * time.Hour)}, true)
		h.srv.AddDeploy(h.site, netlify.Deploy{ID: "c", CreatedAt: t0.Add(-2 * time.Hour), State: netlify.DeployBuilding}, false)
		h.srv.SetDeployState(h.site, "c", state, "Canceled build")
		h.srv.AddDeploy(h.site, netlify.Deploy{ID: "s", CreatedAt: t0.Add(-time.Hour), State: netlify.DeployBuilding}, false)
		rec := &netlify.Recoverer{Client: h.client(), SiteID: h.site, MaxRebuilds: 1}
		acts, err := rec.Plan(ctx, redundancy.NewReport("x", redundancy.Finding{Subject: "s", Problem: netlify.ProblemDeployStuck, Status: redundancy.StatusDegraded}))
		require.ErrorIs(t, err, netlify.ErrRebuildLimit, "cancelled deploy listed as %q", state)
		require.ErrorIs(t, err, redundancy.ErrExhausted)
		assert.Empty(t, acts)
	}
}

// The rebuild count follows the API's pages: with per_page capped at 100,
// a limit of 120 rebuilds still stops.
func TestRebuildLimitCountsAcrossPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		failed, limit int
		want          string // "" = a rebuild is planned
	}{
		{150, 120, "is the 121st failed deploy in a row"},
		{120, 120, ""},
		{122, 120, "is the 121st failed deploy in a row"},
		{105, 100, "is the 101st failed deploy in a row"},
	} {
		t.Run(fmt.Sprintf("%d failed, limit %d", tc.failed, tc.limit), func(t *testing.T) {
			t.Parallel()
			srv, site := newSite(t)
			srv.AddDeploy(site, netlify.Deploy{ID: "good", CreatedAt: t0}, true)
			last := ""
			for i := range tc.failed {
				last = fmt.Sprintf("f%03d", i)
				srv.AddDeploy(site, netlify.Deploy{ID: last, CreatedAt: t0.Add(time.Duration(i+1) * time.Minute), State: netlify.DeployError}, false)
			}
			c := srv.Client()
			n, err := netlify.FailedStreak(ctx, c, site, 200)
			require.NoError(t, err)
			assert.Equal(t, tc.failed, n, "counted across pages")

			rec := &netlify.Recoverer{Client: c, SiteID: site, MaxRebuilds: tc.limit}
			acts, err := rec.Plan(ctx, redundancy.NewReport("x", redundancy.Finding{Subject: last, Problem: netlify.ProblemDeployFailed, Status: redundancy.StatusUnhealthy}))
			if tc.want == "" {
				require.NoError(t, err)
				require.Len(t, acts, 1)
				assert.Contains(t, acts[0].Reason, fmt.Sprintf("rebuild %d of %d", tc.failed, tc.limit))
				return
			}
			require.ErrorIs(t, err, netlify.ErrRebuildLimit)
			require.ErrorIs(t, err, redundancy.ErrExhausted)
			assert.Contains(t, err.Error(), tc.want)
			assert.Greater(t, srv.CallCount("GET /api/v1/sites/*/deploys"), 2, "several pages were read")
		})
	}
}

// A build request that hangs after starting the build ends at the
// client's timeout (uncertain); the action finds the build and is done.
// In a synctest bubble with every request in process, the timeout is fake
// time.
func TestRebuildAfterARequestThatHung(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute), State: netlify.DeployError}, false)
	h.srv.FailNext("POST /api/v1/sites/*/builds", redundancytest.Fault{After: true, Hang: true, Times: -1})
	c := h.srv.Client(netlify.WithHTTPClient(&http.Client{Transport: h.srv.Transport()}), netlify.WithTimeout(5*time.Second))
	rec := &netlify.Recoverer{Client: c, SiteID: h.site}
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		acts, err := rec.Plan(ctx, redundancy.NewReport("x", redundancy.Finding{Subject: "d2", Problem: netlify.ProblemDeployFailed, Status: redundancy.StatusUnhealthy}))
		require.NoError(t, err)
		require.Len(t, acts, 1)
		start := time.Now()
		require.NoError(t, acts[0].Do(ctx))
		assert.Equal(t, 5*time.Second, time.Since(start), "it waited for the client's timeout")
		require.NoError(t, acts[0].Do(ctx))
	})
	assert.Len(t, h.srv.Builds(), 1)
	assert.Equal(t, 1, h.srv.CallCount("POST /api/v1/sites/*/builds"))
}
