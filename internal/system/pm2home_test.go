package system_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

// Reproduction (c) of issue 17: the embedded default config (pm2 optional)
// with the daemon down at start and a dump on disk used to print HEALTHY,
// "nothing is watched". Now the home is watched, found unhealthy and
// brought back.
func TestDefaultConfigWatchesADeadDaemonWithADump(t *testing.T) {
	t.Parallel()
	apps := []string{"web", "api", "worker"}
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp}, pm2test.App{Name: "api", Script: pm2test.AppUp},
		pm2test.App{Name: "worker", Script: pm2test.AppUp})
	for _, a := range apps {
		d.WaitStatus(t, a, pm2.StatusOnline, 30*time.Second)
	}
	d.Run(t, "save")
	d.Run(t, "kill")

	cfg, err := config.Default(func(string) string { return "" })
	require.NoError(t, err)
	require.True(t, cfg.PM2.Optional, "the embedded default")
	cfg.PM2.Home, cfg.PM2.Binary, cfg.State.Dir = d.Home, d.Bin, t.TempDir()
	cfg.GitHub, cfg.Netlify = nil, nil
	cfg.Policy.FailureThreshold = 1

	ctx := context.Background()
	sys, err := system.Build(ctx, cfg, system.Launcher, system.BuildOptions{})
	require.NoError(t, err)
	defer sys.Close(ctx)
	require.False(t, sys.Empty(), "the dead daemon's home is watched")
	st := sys.CheckNow(ctx)
	var buf bytes.Buffer
	system.Render(&buf, st)
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status, buf.String())
	assert.NotContains(t, buf.String(), "nothing is watched")
	assert.Contains(t, buf.String(), "pm2.daemon-down")

	rs, err := sys.Parts[0].Orch.RecoverNow(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	assert.Equal(t, pm2.VerbResurrect, rs[0].Verb)
	for _, a := range apps {
		d.WaitStatus(t, a, pm2.StatusOnline, 30*time.Second)
	}
	require.Eventually(t, func() bool { return sys.CheckNow(ctx).Status == redundancy.StatusHealthy }, 30*time.Second, 100*time.Millisecond)
	for _, f := range []string{pm2.DumpFile, pm2.DumpBackup} {
		assert.Empty(t, pm2.ReadDump(filepath.Join(d.Home, f)).Lacks(apps), f)
	}
	// The known-good list is kept under the state directory.
	store, err := redundancy.NewFileStore(filepath.Join(cfg.State.Dir, "store"))
	require.NoError(t, err)
	k, err := pm2.NewKnownGoodList(store, d.Home, 0).Latest(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, apps, k.Names())
}

func TestDefaultConfigSkipsAnEmptyHome(t *testing.T) {
	t.Parallel()
	cfg, err := config.Default(func(string) string { return "" })
	require.NoError(t, err)
	cfg.PM2.Home, cfg.State.Dir = t.TempDir(), t.TempDir()
	cfg.PM2.Binary = "/nonexistent/pm2"
	groups, notes, err := system.Targets(context.Background(), cfg, system.Deps{})
	require.NoError(t, err)
	for _, g := range groups {
		assert.NotEqual(t, "pm2", g.System)
	}
	assert.Contains(t, notes, system.Note{System: "pm2", Text: "not present (no PM2 daemon running in " + cfg.PM2.Home + ", nor a dump to bring one back from): skipped"})
}
