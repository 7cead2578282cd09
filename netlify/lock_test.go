package netlify_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
)

// With LockRestored, the restored deploy is locked once it passes the
// probes again, so the next auto publish cannot undo the rollback; a site
// left locked while newer deploys wait is a finding; the lock is lifted,
// and the newer deploy published, once that deploy passes the probes at
// its own URL.
func TestOrchestratorLocksTheRollbackUntilANewerDeployPasses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	restoreSite(t, h)
	c := h.client()
	h.siteTarget(t, c, quick(), func(r *netlify.Recoverer) { r.LockRestored = true })

	st := h.tick(0)
	require.Equal(t, []string{"netlify.restore-deploy d2", "netlify.verify-endpoints hello", "netlify.lock-deploy d2"}, verbs(st.History))
	d2, _ := h.srv.Deploy("d2")
	assert.True(t, d2.Locked)
	locked, err := h.known.Locked(context.Background(), h.site)
	require.NoError(t, err)
	assert.Equal(t, "d2", locked, "the recoverer remembers its own lock")

	// A new push, still broken, builds but is not published.
	h.srv.SetDeployFunction("", "hello", netlifytest.Function{Status: 500})
	h.srv.SetDeployFunction("d2", "hello", netlifytest.Function{Body: "hi"})
	b1, err := c.CreateBuild(context.Background(), h.site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	st = h.tick(time.Minute)
	assert.Equal(t, "d2", h.srv.Published(h.site), "auto publishing is stopped")
	assert.Equal(t, map[string]redundancy.Problem{"d2": netlify.ProblemDeployLocked}, problems(st.Report))
	assert.Equal(t, redundancy.StatusDegraded, st.Report.Status, "a site left locked and stale is a finding")
	assert.Len(t, st.History, 3, "the newer deploy fails its probes at its own URL: stay locked")

	// A fixed push passes at its own URL: unlock, and publish it.
	h.srv.SetDeployFunction("", "hello", netlifytest.Function{Body: "hi"})
	h.srv.SetDeployFunction(b1.DeployID, "hello", netlifytest.Function{Status: 500})
	b2, err := c.CreateBuild(context.Background(), h.site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	st = h.tick(time.Minute)
	require.Len(t, st.History, 4, "%+v", st.Report)
	assert.Equal(t, "netlify.unlock-deploy d2", verbs(st.History)[3])
	assert.Equal(t, b2.DeployID, h.srv.Published(h.site))
	d2, _ = h.srv.Deploy("d2")
	assert.False(t, d2.Locked)
	locked, err = h.known.Locked(context.Background(), h.site)
	require.NoError(t, err)
	assert.Empty(t, locked)

	st = h.tick(time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Status, "%+v", st.Report)
	good, err := h.known.Deploys(context.Background(), h.site)
	require.NoError(t, err)
	assert.Equal(t, b2.DeployID, good[0].ID, "the new deploy passed while published")
}

// A lock someone else set is theirs: it is reported, never lifted.
func TestOrchestratorLeavesOthersLocksAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-time.Hour)}, true)
	h.srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	c := h.client()
	_, err := c.LockDeploy(context.Background(), "d1")
	require.NoError(t, err)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-time.Minute)}, false)
	h.siteTarget(t, c, quick(), func(r *netlify.Recoverer) { r.LockRestored = true })

	st := h.tick(0)
	assert.Equal(t, map[string]redundancy.Problem{"d1": netlify.ProblemDeployLocked}, problems(st.Report))
	assert.Contains(t, st.Report.Findings[0].Detail, "d2")
	assert.Empty(t, st.History)
	assert.Zero(t, h.srv.CallCount("POST /api/v1/deploys/*/unlock"))
	assert.Equal(t, "d1", h.srv.Published(h.site))
}

// A published deploy someone else locked is pinned: its endpoints going
// down raise the alarm (the plan says why it cannot act), but no older
// deploy is restored over it.
func TestRestoreNeverMovesOthersLock(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(-5 * time.Hour)}, true)
	h.good(t, "d1")
	h.srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(-4 * time.Hour)}, true)
	h.srv.SetDeployFunction("d2", "hello", netlifytest.Function{Status: 500})
	c := h.client()
	_, err := c.LockDeploy(context.Background(), "d2")
	require.NoError(t, err)
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL(), Endpoints: []netlify.Endpoint{{Name: "hello"}}, Timeout: 5 * time.Second}
	rec := &netlify.Recoverer{Client: c, SiteID: h.site, Probes: probes, KnownGood: h.known, Clock: h.clock}

	rep := probes.Check(context.Background())
	require.True(t, rep.Has(netlify.ProblemEndpointDown))
	actions, err := rec.Plan(context.Background(), rep)
	require.ErrorIs(t, err, netlify.ErrNoRestoreCandidate)
	assert.Contains(t, err.Error(), "locked by someone else")
	assert.Empty(t, actions)
	assert.Equal(t, "d2", h.srv.Published(h.site))
}
