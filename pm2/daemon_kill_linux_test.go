//go:build linux

package pm2_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// killRung plans for a hung daemon of home until the kill rung and runs
// that action.
func killRung(t *testing.T, home string) error {
	t.Helper()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	fake.FailNext("Ping", redundancytest.Fault{Hang: true, Times: -1})
	cfg := pm2.Config{Home: home, Store: redundancy.NewMemoryStore(), DaemonTimeout: 20 * time.Millisecond, LogMaxBytes: -1, MinFreeBytes: -1}
	c, r := pm2.NewChecker(fake, cfg), pm2.NewRecoverer(fake, cfg)
	ctx := context.Background()
	for range 2 {
		actions, err := r.Plan(ctx, c.Check(ctx))
		require.NoError(t, err)
		for _, a := range actions {
			if a.Verb == pm2.VerbKillDaemon {
				return a.Do(ctx)
			}
			_ = a.Do(ctx) // SIGCONT: fails without a daemon, and climbs
		}
	}
	t.Fatal("no kill rung planned")
	return nil
}

func TestKillDaemonNeedsProof(t *testing.T) {
	t.Parallel()
	// pm2.pid names a process that is no PM2 daemon.
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.PIDFile), []byte(strconv.Itoa(sleeper.Process.Pid)), 0o600))
	err := killRung(t, home)
	require.ErrorContains(t, err, "is not the PM2 daemon of "+home)
	assert.True(t, processAlive(sleeper.Process.Pid))

	// pm2.pid names the PM2 daemon of another home.
	d := pm2test.StartDaemon(t)
	b, err := os.ReadFile(filepath.Join(d.Home, pm2.PIDFile))
	require.NoError(t, err)
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, pm2.PIDFile), b, 0o600))
	err = killRung(t, other)
	require.ErrorContains(t, err, "is not the PM2 daemon of "+other)
	_, err = d.Client.Ping(context.Background())
	require.NoError(t, err, "the other home's daemon lives")
}
