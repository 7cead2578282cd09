package pm2test_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestFakeClientFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "api"})
	procs := f.Processes()
	require.Len(t, procs, 2)
	assert.NotEqual(t, procs[0].ID, procs[1].ID, "ids are unique")
	assert.Positive(t, procs[0].PID)

	f.Crash("web")
	p := f.Processes()[0]
	assert.Equal(t, pm2.StatusErrored, p.Status)
	assert.Zero(t, p.PID)
	require.NotNil(t, p.ExitCode)
	assert.Equal(t, 1, p.Restarts)

	f.FailNext("Restart", redundancytest.Fault{Err: errors.New("boom"), Times: -1})
	assert.EqualError(t, f.Restart(ctx, "web"), "boom")
	assert.EqualError(t, f.Restart(ctx, "web"), "boom")
	f.ClearFaults()
	require.NoError(t, f.Restart(ctx, "web"))
	assert.Equal(t, pm2.StatusOnline, f.Processes()[0].Status)

	require.NoError(t, f.Save(ctx))
	assert.Equal(t, []string{"web", "api"}, f.Dump())
	f.KillDaemon()
	assert.Empty(t, f.Processes())
	require.ErrorIs(t, f.Save(ctx), pm2.ErrDaemonDown)
	require.NoError(t, f.Resurrect(ctx))
	assert.Len(t, f.Processes(), 2)

	require.ErrorIs(t, f.StartEcosystem(ctx, "none.json"), fs.ErrNotExist)
	f.DefineEcosystem("eco.json", pm2.Process{Name: "web"})
	require.NoError(t, f.StartEcosystem(ctx, "eco.json", "nope"), "PM2 ignores unknown --only names")
	assert.Equal(t, []pm2test.Call{{Method: "StartEcosystem", Args: []string{"eco.json", "nope"}}}, f.Calls()[len(f.Calls())-1:])
}

func TestFakeClientSaveKeepsDumpWhenEmpty(t *testing.T) {
	t.Parallel()
	f := pm2test.NewFakeClient()
	f.SetDump(pm2.Process{Name: "web"})
	require.NoError(t, f.Save(context.Background()))
	assert.Equal(t, []string{"web"}, f.Dump())
}

func TestFakeClientConcurrent(t *testing.T) {
	t.Parallel()
	f := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				_, _ = f.List(context.Background())
				_ = f.Restart(context.Background(), "web")
				f.SetStatus("web", pm2.StatusStopped)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 800, len(f.Calls()))
}

func TestFakeClientFaultShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := pm2test.NewFakeClient(pm2.Process{Name: "web"})

	// After: the call takes effect, then fails (a gateway's late error).
	f.FailNext("Stop", redundancytest.Fault{Err: errors.New("late"), After: true})
	require.EqualError(t, f.Stop(ctx, "web"), "late")
	assert.Equal(t, pm2.StatusStopped, f.Processes()[0].Status, "the stop took effect")

	// Hang: nothing happens until the caller gives up.
	f.FailNext("Restart", redundancytest.Fault{Hang: true})
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, f.Restart(short, "web"), context.DeadlineExceeded)
	assert.Equal(t, pm2.StatusStopped, f.Processes()[0].Status, "a hang before the effect changes nothing")

	// Hang with After: the effect, then the hang.
	f.FailNext("Restart", redundancytest.Fault{Hang: true, After: true})
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	require.ErrorIs(t, f.Restart(short2, "web"), context.DeadlineExceeded)
	assert.Equal(t, pm2.StatusOnline, f.Processes()[0].Status)

	// Times and patterns: two List calls fail, the third answers; a fault
	// with no Err says it was injected.
	f.FailNext("L*", redundancytest.Fault{Times: 2})
	for range 2 {
		_, err := f.List(ctx)
		require.ErrorContains(t, err, "injected")
	}
	_, err := f.List(ctx)
	require.NoError(t, err)
}

func TestFakeClientKeepsDumpFilesAsPM2Does(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := t.TempDir()
	dump, bak := filepath.Join(home, pm2.DumpFile), filepath.Join(home, pm2.DumpBackup)
	f := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "api", ExecMode: pm2.ExecCluster}, pm2.Process{Name: "api", ExecMode: pm2.ExecCluster})
	f.SetHome(home)

	require.NoError(t, f.Save(ctx))
	assert.Equal(t, []string{"web", "api", "api"}, pm2.ReadDump(dump).Names)
	assert.NoFileExists(t, bak, "the first save has nothing to back up")
	b, err := os.ReadFile(dump)
	require.NoError(t, err)
	assert.Contains(t, string(b), pm2test.FakeSecret, "entries carry an environment, as PM2's do")

	require.NoError(t, f.Delete(ctx, "web"))
	require.NoError(t, f.Save(ctx))
	assert.Equal(t, []string{"api", "api"}, pm2.ReadDump(dump).Names)
	assert.Equal(t, []string{"web", "api", "api"}, pm2.ReadDump(bak).Names, "the save moved the old list to the backup")
	assert.Equal(t, [][]string{{"web", "api", "api"}, {"api", "api"}}, f.SavedLists())

	// An empty list is not saved.
	f.DeleteAll()
	require.NoError(t, f.Save(ctx))
	assert.Len(t, f.SavedLists(), 2)

	// Resurrect falls back to the backup when dump.pm2 does not decode,
	// and deletes the broken dump.pm2 as PM2 does.
	require.NoError(t, os.WriteFile(dump, []byte(`[{"name":"api"`), 0o600))
	f.KillDaemon()
	require.NoError(t, f.Resurrect(ctx))
	assert.Len(t, f.Processes(), 3)
	assert.NoFileExists(t, dump)

	// RestoreApp adds one app's instances from a dump file, once.
	require.NoError(t, f.Delete(ctx, "api"))
	require.NoError(t, f.RestoreApp(ctx, bak, "api"))
	require.NoError(t, f.RestoreApp(ctx, bak, "api"))
	assert.Len(t, f.Processes(), 3)
	require.ErrorIs(t, f.RestoreApp(ctx, bak, "nope"), pm2.ErrProcessNotFound)
}

func TestFakeClientKillAppAndEcosystemOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := pm2test.NewFakeClient(pm2.Process{Name: "web", Autorestart: true}, pm2.Process{Name: "job"})
	before := f.Processes()[0]
	f.KillApp("web")
	f.KillApp("job")
	after := f.Processes()
	assert.Equal(t, pm2.StatusOnline, after[0].Status, "PM2 restarts an app with autorestart")
	assert.NotEqual(t, before.PID, after[0].PID)
	assert.Equal(t, before.Restarts+1, after[0].Restarts)
	assert.Equal(t, pm2.StatusStopped, after[1].Status)

	eco := filepath.Join(t.TempDir(), "eco.json")
	require.NoError(t, os.WriteFile(eco, []byte(`{"apps":[{"name":"api","instances":2,"exec_mode":"cluster_mode"},{"name":"other"}]}`), 0o600))
	require.NoError(t, f.StartEcosystem(ctx, eco, "api"))
	var api int
	for _, p := range f.Processes() {
		if p.Name == "api" {
			api++
			assert.Equal(t, pm2.ExecCluster, p.ExecMode)
		}
		assert.NotEqual(t, "other", p.Name, "--only api")
	}
	assert.Equal(t, 2, api)
	require.ErrorIs(t, f.StartEcosystem(ctx, filepath.Join(t.TempDir(), "none.json")), fs.ErrNotExist)
}
