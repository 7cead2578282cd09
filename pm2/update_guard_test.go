package pm2_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

// updatingFake is a fake whose Update does what pm2 update does to the
// dump files: it saves what runs (then replaces the daemon).
type updatingFake struct {
	*pm2test.FakeClient
	updates int
}

func (u *updatingFake) Update(ctx context.Context) error {
	u.updates++
	return u.FakeClient.Save(ctx)
}

// pm2 update saves the process list as it runs: planned while every app
// was fine, it reads the list again first and does not run when an app
// stopped since the check (its save would keep the app stopped after
// the next reboot).
func TestUpdateSparesTheDumpWhenAnAppWentDownSinceTheCheck(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	ctx := context.Background()
	u := &updatingFake{FakeClient: g.fake}
	cfg := g.cfg
	cfg.MaintenanceWindow = func(time.Time) bool { return true }
	rep := redundancy.NewReport("", redundancy.Finding{Subject: pm2.SubjectDaemon, Problem: pm2.ProblemDaemonMemoryHigh, Status: redundancy.StatusDegraded})
	actions := pm2.PlanOps(ctx, pm2.NewRecoverer(u, cfg), rep)
	require.Equal(t, []string{"pm2.update daemon"}, verbs(actions))

	require.NoError(t, g.fake.Stop(ctx, "worker"))
	err := actions[0].Do(ctx)
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	assert.Contains(t, err.Error(), "worker is stopped")
	assert.Zero(t, u.updates, "no pm2 update")
	assert.Len(t, g.fake.SavedLists(), 2, "no save")

	require.NoError(t, g.fake.Restart(ctx, "worker"))
	require.NoError(t, actions[0].Do(ctx))
	assert.Equal(t, 1, u.updates, "all online again: the update runs")
}
