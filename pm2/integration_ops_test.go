package pm2_test

// Integration tests of the checks of PM2's word against reality, on a real
// daemon: probes, port holders, the daemon's own memory.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

// freePort returns a TCP port nothing listens on (as far as can be known).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// checkUntil checks until the report satisfies ok, failing after waitLong.
func checkUntil(t *testing.T, c *pm2.Checker, what string, ok func(redundancy.Report) bool) redundancy.Report {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		r := c.Check(context.Background())
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; last report: %v %v", what, waitLong, problems(r), details(r))
		}
		time.Sleep(100 * time.Millisecond) // polling a real daemon and a real app: no clock to inject
	}
}

func has(p redundancy.Problem) func(redundancy.Report) bool {
	return func(r redundancy.Report) bool { return r.Has(p) }
}

func run(t *testing.T, actions []redundancy.Action) {
	t.Helper()
	for _, a := range actions {
		require.NoError(t, a.Do(context.Background()), "%s %s", a.Verb, a.Subject)
	}
}

// actionNames names actions "verb subject".
func actionNames(actions []redundancy.Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Verb+" "+a.Subject)
	}
	return out
}

// TestIntegrationOnlineButPortClosed: PM2 says online, the app's listener
// is closed; the probe sees it, the plan restarts the app, the probe passes.
func TestIntegrationOnlineButPortClosed(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	marker := filepath.Join(t.TempDir(), "close-once")
	require.NoError(t, os.WriteFile(marker, nil, 0o600))
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppListen, Args: []string{strconv.Itoa(port), marker}})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	cfg := pm2.Config{Home: d.Home, Apps: []pm2.App{{Name: "web", Probe: &pm2.Probe{Port: port, Grace: 100 * time.Millisecond}}},
		MinFreeBytes: -1}
	c := pm2.NewChecker(d.Client, cfg)

	r := checkUntil(t, c, "probe failure", has(pm2.ProblemProbeFailed))
	assert.Equal(t, pm2.StatusOnline, d.Process(t, "web").Status, "PM2 still says online")
	assert.Contains(t, details(r), "refuses connections")

	actions, err := pm2.NewRecoverer(d.Client, cfg).Plan(context.Background(), r)
	require.NoError(t, err)
	require.NotEmpty(t, actions)
	assert.Equal(t, "pm2.restart web", actionNames(actions)[0], "a failed probe takes the errored ladder: restart first")
	run(t, actions[:1]) // the closing save is the guard's business
	checkUntil(t, c, "healthy report", func(r redundancy.Report) bool {
		for _, f := range r.Findings {
			if f.Problem != pm2.ProblemDumpMissing && f.Problem != pm2.ProblemDumpBackupIncomplete {
				return false // only the dump, not saved here, may still be reported
			}
		}
		return true
	})
}

// TestIntegrationPortHeldByStranger: a process outside PM2 holds the app's
// port (as an orphan of a killed daemon would); the app crashes with
// EADDRINUSE. The finding names the holder; declared ours, it is stopped
// and the app restarted, and the app serves.
func TestIntegrationPortHeldByStranger(t *testing.T) {
	t.Parallel()
	holder, port := startHolder(t)
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppListen, Args: []string{strconv.Itoa(port)},
		MaxRestarts: 2, MinUptime: 5000})
	d.WaitStatus(t, "web", pm2.StatusErrored, waitLong)
	probe := &pm2.Probe{Port: port, Grace: 100 * time.Millisecond}
	cfg := pm2.Config{Home: d.Home, Apps: []pm2.App{{Name: "web", Probe: probe}}, MinFreeBytes: -1}

	r := checkUntil(t, pm2.NewChecker(d.Client, cfg), "port-held finding", has(pm2.ProblemPortHeld))
	assert.Contains(t, details(r), "held by pid "+strconv.Itoa(holder.Process.Pid))
	assert.Contains(t, details(r), holderMarker)
	assert.Contains(t, details(r), "left alone")
	assert.Empty(t, pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, cfg), r), "not declared ours: never signalled")

	probe.OwnHolders = []string{holderMarker}
	c := pm2.NewChecker(d.Client, cfg)
	r = checkUntil(t, c, "port-held finding", has(pm2.ProblemPortHeld))
	actions := pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, cfg), r)
	assert.Equal(t, []string{"pm2.stop-port-holder web", "pm2.restart web"}, actionNames(actions))
	run(t, actions)
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	checkUntil(t, c, "the app serving its port", func(r redundancy.Report) bool {
		return !r.Has(pm2.ProblemPortHeld) && !r.Has(pm2.ProblemProbeFailed) && !r.Has(pm2.ProblemErrored)
	})
}

// TestIntegrationDaemonMemory: the daemon above its bound is a finding;
// pm2 update is planned only inside a maintenance window and only while
// the apps are fine, and it brings a new daemon with the apps online.
func TestIntegrationDaemonMemory(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	d.Run(t, "save")
	d.Run(t, "save") // the second save leaves a complete dump.pm2.bak
	info, err := d.Client.Ping(context.Background())
	require.NoError(t, err)
	cfg := pm2.Config{Home: d.Home, Apps: []pm2.App{{Name: "web"}}, DaemonMaxMemoryBytes: 1 << 20, MinFreeBytes: -1}

	r := pm2.NewChecker(d.Client, cfg).Check(context.Background())
	require.Equal(t, []string{"daemon pm2.daemon-memory-high"}, problems(r))
	assert.Contains(t, r.Findings[0].Detail, "PM2 daemon (pid "+strconv.Itoa(info.PID)+") uses ")
	assert.Contains(t, r.Findings[0].Detail, "above the bound 1.0 MiB")
	assert.Contains(t, r.Findings[0].Detail, "alert only")
	assert.Empty(t, pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, cfg), r), "no window: alert only")

	closed := cfg
	closed.MaintenanceWindow = func(time.Time) bool { return false }
	assert.Empty(t, pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, closed), r), "outside the window")

	open := cfg
	open.MaintenanceWindow = func(time.Time) bool { return true }
	busy := redundancy.NewReport("", append(slices.Clone(r.Findings),
		redundancy.Finding{Subject: "web", Problem: pm2.ProblemStopped, Status: redundancy.StatusUnhealthy})...)
	assert.NotContains(t, actionNames(pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, open), busy)), "pm2.update daemon",
		"never while an app needs repair: pm2 update saves what runs")

	actions := pm2.PlanOps(context.Background(), pm2.NewRecoverer(d.Client, open), r)
	require.Equal(t, []string{"pm2.update daemon"}, actionNames(actions))
	run(t, actions)
	after, err := d.Client.Ping(context.Background())
	require.NoError(t, err)
	assert.NotEqual(t, info.PID, after.PID, "a new daemon")
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	assert.Equal(t, []string{"web"}, pm2.ReadDump(filepath.Join(d.Home, pm2.DumpFile)).Names)
}
