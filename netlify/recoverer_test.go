package netlify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestRestoreCandidate(t *testing.T) {
	t.Parallel()
	type dep struct {
		id      string
		state   netlify.DeployState
		context string
		publish bool
	}
	tests := []struct {
		name    string
		deploys []dep    // oldest first
		good    []string // passed the probes while published
		want    string
		wantErr string
	}{
		{"previous known good", []dep{{"a", "", "", false}, {"b", "", "", true}}, []string{"a", "b"}, "a", ""},
		{"skips failed and in-progress", []dep{
			{"a", "", "", false}, {"x", netlify.DeployError, "", false}, {"y", netlify.DeployBuilding, "", false},
			{"z", "quantum", "", false}, {"b", "", "", true},
		}, []string{"a", "x", "y", "z"}, "a", ""},
		{"skips previews", []dep{{"a", "", "", false}, {"p", "", "deploy-preview", false}, {"b", "", "", true}}, []string{"a", "p"}, "a", ""},
		{"newest of the earlier known good", []dep{{"a", "", "", false}, {"b", "", "", false}, {"c", "", "", true}}, []string{"a", "b"}, "b", ""},
		{"ready is not enough: never passed the probes", []dep{{"a", "", "", false}, {"b", "", "", false}, {"c", "", "", true}}, []string{"a"}, "a", ""},
		{"a failed deploy newer than the published one does not matter",
			[]dep{{"a", "", "", false}, {"b", "", "", true}, {"x", netlify.DeployError, "", false}}, []string{"a"}, "a", ""},
		{"none known good", []dep{{"a", "", "", false}, {"b", "", "", true}}, nil, "", "passed the probes"},
		{"only one ready", []dep{{"x", netlify.DeployError, "", false}, {"b", "", "", true}}, []string{"x", "b"}, "", "1 ready production deploy"},
		{"already restored", []dep{{"a", "", "", false}, {"b", "", "", true}, {"c", "", "", false}}, []string{"a"}, "", "already restored"},
		{"nothing published", []dep{{"a", "", "", false}, {"b", "", "", false}}, []string{"a"}, "", "nothing is published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, site := newSite(t)
			kg := &netlify.KnownGood{}
			for i, d := range tt.deploys {
				at := t0.Add(time.Duration(i) * time.Hour)
				srv.AddDeploy(site, netlify.Deploy{ID: d.id, State: d.state, Context: d.context, CreatedAt: at}, d.publish)
				if slices.Contains(tt.good, d.id) {
					require.NoError(t, kg.Record(context.Background(), site, netlify.Deploy{ID: d.id, CreatedAt: at}, at))
				}
			}
			got, err := netlify.RestoreCandidate(context.Background(), srv.Client(), site, kg)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, netlify.ErrNoRestoreCandidate)
				require.ErrorIs(t, err, redundancy.ErrExhausted, "no restore left: escalate at once")
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.ID)
			assert.Equal(t, netlify.DeployReady, got.State)
		})
	}

	t.Run("without a KnownGood nothing is restored", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "a", CreatedAt: t0}, false)
		srv.AddDeploy(site, netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, true)
		_, err := netlify.RestoreCandidate(context.Background(), srv.Client(), site, nil)
		require.ErrorIs(t, err, netlify.ErrNoRestoreCandidate)
	})
	t.Run("an API that does not answer is not a reason to escalate", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.FailNext("GET /api/v1/sites/"+site, times(netlifytest.ServerError(), -1))
		_, err := netlify.RestoreCandidate(context.Background(), srv.Client(netlify.WithRetry(0, time.Millisecond)), site, &netlify.KnownGood{})
		require.Error(t, err)
		assert.NotErrorIs(t, err, redundancy.ErrExhausted)
	})
	t.Run("a filter the API ignores cannot smuggle in a non-ready deploy", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, true)
		kg := &netlify.KnownGood{}
		require.NoError(t, kg.Record(context.Background(), site, netlify.Deploy{ID: "x", CreatedAt: t0.Add(30 * time.Minute)}, t0))
		// The API answers the state=ready list with a failed deploy in it.
		srv.FailNext("GET /api/v1/sites/"+site+"/deploys", redundancytest.Fault{Status: 200, Body: `[` +
			`{"id":"b","state":"ready","context":"production","created_at":"2026-03-01T13:00:00Z"},` +
			`{"id":"x","state":"error","context":"production","created_at":"2026-03-01T12:30:00Z"}]`})
		_, err := netlify.RestoreCandidate(context.Background(), srv.Client(), site, kg)
		require.ErrorIs(t, err, netlify.ErrNoRestoreCandidate)
	})
}

func TestRecovererPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	failed := redundancy.NewReport("x", redundancy.Finding{Subject: "d2", Problem: netlify.ProblemDeployFailed, Status: redundancy.StatusUnhealthy})

	t.Run("an error report plans nothing", func(t *testing.T) {
		t.Parallel()
		rep := failed
		rep.Err = context.DeadlineExceeded
		acts, err := (&netlify.Recoverer{FunctionsDir: "x"}).Plan(ctx, rep)
		require.NoError(t, err)
		assert.Empty(t, acts)
	})
	t.Run("healthy plans nothing", func(t *testing.T) {
		t.Parallel()
		acts, err := (&netlify.Recoverer{FunctionsDir: "x"}).Plan(ctx, redundancy.NewReport("ok"))
		require.NoError(t, err)
		assert.Empty(t, acts)
	})
	t.Run("rebuilds off", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		_, err := (&netlify.Recoverer{Client: srv.Client(), SiteID: site, MaxRebuilds: -1}).Plan(ctx, failed)
		require.ErrorIs(t, err, netlify.ErrRebuildLimit)
	})
	t.Run("rebuild without a client", func(t *testing.T) {
		t.Parallel()
		_, err := (&netlify.Recoverer{}).Plan(ctx, failed)
		require.ErrorIs(t, err, netlify.ErrInvalidArgument)
	})
	t.Run("a plan error is dropped when other actions remain", func(t *testing.T) {
		t.Parallel()
		rep := redundancy.NewReport("x", append(failed.Findings,
			redundancy.Finding{Subject: "m", Problem: netlify.ProblemManifestMissing, Status: redundancy.StatusUnhealthy})...)
		acts, err := (&netlify.Recoverer{FunctionsDir: "fns", MaxRebuilds: -1}).Plan(ctx, rep)
		require.NoError(t, err)
		require.Len(t, acts, 1)
		assert.Equal(t, netlify.VerbRegenerateManifest, acts[0].Verb)
	})
	t.Run("an exhausted problem beside one that may clear up does not escalate", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0}, true)
		srv.AddDeploy(site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(time.Minute), State: netlify.DeployError}, false)
		srv.AddDeploy(site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(2 * time.Minute), State: netlify.DeployError}, false)
		srv.FailNext("GET /api/v1/sites/"+site, times(netlifytest.ServerError(), -1))
		rep := redundancy.NewReport("x",
			redundancy.Finding{Subject: "d3", Problem: netlify.ProblemDeployFailed, Status: redundancy.StatusUnhealthy},
			redundancy.Finding{Subject: "hello", Problem: netlify.ProblemEndpointDown, Status: redundancy.StatusUnhealthy})
		rec := &netlify.Recoverer{Client: srv.Client(netlify.WithRetry(0, time.Millisecond)), SiteID: site, MaxRebuilds: 1, KnownGood: &netlify.KnownGood{}}
		_, err := rec.Plan(ctx, rep)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "rebuild limit reached", "both problems are told")
		assert.Contains(t, err.Error(), "500")
		assert.NotErrorIs(t, err, redundancy.ErrExhausted, "the restore may still be possible once the API answers")
	})
	t.Run("the hook URL never shows", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d2", State: netlify.DeployError}, false)
		hook := srv.BuildHookURL(site)
		acts, err := (&netlify.Recoverer{Client: srv.Client(), SiteID: site, BuildHookURL: hook}).Plan(ctx, failed)
		require.NoError(t, err)
		require.Len(t, acts, 1)
		assert.NotContains(t, acts[0].Reason, hook)
		assert.NotContains(t, acts[0].Subject, hook)
		assert.Contains(t, acts[0].Reason, "rebuild 1 of 3 via build hook")
	})
}

// Endpoints down with nothing to restore escalate, unless a newer build is
// on its way: then the recoverer waits for it.
func TestRecovererWaitsForABuildInProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, site := newSite(t)
	srv.AddDeploy(site, netlify.Deploy{ID: "only", CreatedAt: t0}, true)
	rep := redundancy.NewReport("x", redundancy.Finding{Subject: "hello", Problem: netlify.ProblemEndpointDown, Status: redundancy.StatusUnhealthy})
	rec := &netlify.Recoverer{Client: srv.Client(), SiteID: site, KnownGood: &netlify.KnownGood{}}
	_, err := rec.Plan(ctx, rep)
	require.ErrorIs(t, err, redundancy.ErrExhausted)

	srv.AddDeploy(site, netlify.Deploy{ID: "next", CreatedAt: t0.Add(time.Minute), State: netlify.DeployBuilding}, false)
	acts, err := rec.Plan(ctx, rep)
	require.NoError(t, err)
	assert.Empty(t, acts)
}
