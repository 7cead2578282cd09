package pm2test_test

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"testing"

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
