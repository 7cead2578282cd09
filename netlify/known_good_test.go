package netlify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
)

func TestKnownGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("kept in a file store across restarts", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		store, err := redundancy.NewFileStore(dir)
		require.NoError(t, err)
		kg := &netlify.KnownGood{Store: store}
		require.NoError(t, kg.Record(ctx, "site-1", netlify.Deploy{ID: "a", CreatedAt: t0}, t0.Add(time.Minute)))
		require.NoError(t, kg.Record(ctx, "site-1", netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, t0.Add(2*time.Hour)))
		require.NoError(t, kg.Record(ctx, "site-1", netlify.Deploy{ID: "a", CreatedAt: t0}, t0.Add(3*time.Hour)), "known: nothing written")
		require.NoError(t, kg.SetLocked(ctx, "site-1", "b", t0))

		again := &netlify.KnownGood{Store: store} // a new process
		good, err := again.Deploys(ctx, "site-1")
		require.NoError(t, err)
		require.Len(t, good, 2)
		assert.Equal(t, "b", good[0].ID, "newest first")
		assert.Equal(t, t0.Add(time.Minute), good[1].VerifiedAt, "first seen passing")
		locked, err := again.Locked(ctx, "site-1")
		require.NoError(t, err)
		assert.Equal(t, "b", locked)
		none, err := again.Deploys(ctx, "site-2")
		require.NoError(t, err)
		assert.Empty(t, none)
		fi, err := os.Stat(filepath.Join(dir, "netlify", "site-1", "known-good.json"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})
	t.Run("bounded", func(t *testing.T) {
		t.Parallel()
		kg := &netlify.KnownGood{Keep: 3}
		for i := range 10 {
			require.NoError(t, kg.Record(ctx, "s", netlify.Deploy{ID: fmt.Sprintf("d%d", i), CreatedAt: t0.Add(time.Duration(i) * time.Hour)}, t0))
		}
		good, err := kg.Deploys(ctx, "s")
		require.NoError(t, err)
		require.Len(t, good, 3)
		assert.Equal(t, "d9", good[0].ID)
	})
	t.Run("a damaged record is an error, never overwritten", func(t *testing.T) {
		t.Parallel()
		store := redundancy.NewMemoryStore()
		require.NoError(t, store.Save(ctx, "netlify/s/known-good", []byte(`{"deploys":[`)))
		kg := &netlify.KnownGood{Store: store}
		_, err := kg.Deploys(ctx, "s")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "netlify: known-good deploys of s")
		require.Error(t, kg.Record(ctx, "s", netlify.Deploy{ID: "a"}, t0))
		data, err := store.Load(ctx, "netlify/s/known-good")
		require.NoError(t, err)
		assert.Equal(t, `{"deploys":[`, string(data))

		require.NoError(t, store.Save(ctx, "netlify/s/known-good", []byte(`{"deploys":[{"id":"../x"}]}`)))
		_, err = kg.Deploys(ctx, "s")
		require.Error(t, err, "a bad id is refused")
	})
	t.Run("site ids that are not store keys", func(t *testing.T) {
		t.Parallel()
		kg := &netlify.KnownGood{}
		for _, site := range []string{"shop.netlify.app", "..", "a b/c"} {
			require.NoError(t, kg.Record(ctx, site, netlify.Deploy{ID: "d"}, t0), site)
			good, err := kg.Deploys(ctx, site)
			require.NoError(t, err)
			require.Len(t, good, 1, site)
		}
	})
}

// failingStore refuses every save.
type failingStore struct{ redundancy.MemoryStore }

func (*failingStore) Save(context.Context, string, []byte) error {
	return errors.New("disk full")
}

// The SiteChecker records the published deploy when every probe passed,
// and says so when it cannot.
func TestSiteCheckerRecordsKnownGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.srv.AddDeploy(h.site, netlify.Deploy{ID: "d1"}, true)
	h.srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	c := h.client()
	probes := &netlify.ProbeChecker{SiteURL: h.srv.URL(), Endpoints: []netlify.Endpoint{{Name: "hello"}, {Name: "down"}}}
	chk := &netlify.SiteChecker{Deploys: &netlify.DeployChecker{Client: c, SiteID: h.site, Clock: h.clock}, Probes: probes, KnownGood: h.known}

	rep := chk.Check(ctx)
	assert.True(t, rep.Has(netlify.ProblemEndpointDown))
	good, err := h.known.Deploys(ctx, h.site)
	require.NoError(t, err)
	assert.Empty(t, good, "an endpoint was down: not known good")

	probes.Endpoints = probes.Endpoints[:1]
	rep = chk.Check(ctx)
	assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%+v", rep)
	good, err = h.known.Deploys(ctx, h.site)
	require.NoError(t, err)
	require.Len(t, good, 1)
	assert.Equal(t, "d1", good[0].ID)
	assert.Equal(t, t0, good[0].VerifiedAt)

	chk.KnownGood = &netlify.KnownGood{Store: &failingStore{}}
	rep = chk.Check(ctx)
	assert.Equal(t, map[string]redundancy.Problem{"known-good": netlify.ProblemCheckFailed}, problems(rep))
	assert.Contains(t, rep.Findings[0].Detail, "disk full")
	assert.Equal(t, redundancy.StatusDegraded, rep.Status)

	// A follower of a group of monitors (redundancy.WithElection) may not
	// write the shared records: the leader records the deploy, and the
	// follower's check stays healthy.
	chk.KnownGood = &netlify.KnownGood{Store: &followerStore{}}
	rep = chk.Check(ctx)
	assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%+v", rep)
	assert.Empty(t, rep.Findings)
}

// followerStore refuses saves as a fenced store does a follower's.
type followerStore struct{ redundancy.MemoryStore }

func (*followerStore) Save(context.Context, string, []byte) error {
	return fmt.Errorf("etcd: store: save: %w: this replica holds no term", redundancy.ErrNotLeader)
}
