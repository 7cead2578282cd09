package pm2_test

// Time to repair, measured: uras running as a monitor does (the native
// client, daemon events waking the check, a 1 s interval) against a real
// PM2 daemon, one fault at a time. The table is logged (go test -v -run
// RepairTimes ./pm2/); each scenario also asserts the end state.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

type repairScenario struct {
	name string
	// cfg is the target's config (Home and Store are set for it).
	cfg func(d *pm2test.Daemon) pm2.Config
	// before runs before uras starts (the fault of "down at start").
	before func(t *testing.T, d *pm2test.Daemon)
	// fault strikes once uras watches a healthy daemon; it returns what
	// ends the fault's own effects (nil: nothing).
	fault func(t *testing.T, d *pm2test.Daemon) func()
}

func TestIntegrationGuardRepairTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement against a real PM2 daemon")
	}
	three := func(*pm2test.Daemon) pm2.Config {
		return pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "worker"}}}
	}
	scenarios := []repairScenario{
		{name: "(a) pm2 delete worker, pm2 stop web (no ecosystem)", cfg: three,
			fault: func(t *testing.T, d *pm2test.Daemon) func() {
				d.Run(t, "delete", "worker")
				d.Run(t, "stop", "web")
				return nil
			}},
		{name: "(b) pm2 kill (apps deleted, then the daemon exits)", cfg: three,
			fault: func(t *testing.T, d *pm2test.Daemon) func() { d.Run(t, "kill"); return nil }},
		{name: "(c) default config, daemon down at start", cfg: func(*pm2test.Daemon) pm2.Config { return pm2.Config{} },
			before: func(t *testing.T, d *pm2test.Daemon) { d.Run(t, "kill") }},
		{name: "kill -9 of the daemon", cfg: three,
			fault: func(t *testing.T, d *pm2test.Daemon) func() { d.KillDaemon(t); return nil }},
		{name: "daemon stopped (SIGSTOP)", cfg: three,
			fault: func(t *testing.T, d *pm2test.Daemon) func() { return d.FreezeDaemon(t) }},
		{name: "daemon hung (stopped again after SIGCONT)", cfg: three,
			fault: func(t *testing.T, d *pm2test.Daemon) func() { return holdStopped(t, d) }},
	}
	var rows []string
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rungs, took := measureRepair(t, sc)
			rows = append(rows, fmt.Sprintf("| %s | %s | %s |", sc.name, strings.Join(rungs, " → "), took.Round(10*time.Millisecond)))
		})
	}
	t.Logf("\n| scenario | rungs taken | time to repair |\n|---|---|---|\n%s", strings.Join(rows, "\n"))
}

// measureRepair runs sc and returns the actions uras took and the time
// from the fault to every app online with both dump files listing it.
func measureRepair(t *testing.T, sc repairScenario) ([]string, time.Duration) {
	d := startThree(t)
	cfg := sc.cfg(d)
	cfg.Home, cfg.Store, cfg.MinFreeBytes, cfg.DaemonTimeout = d.Home, redundancy.NewMemoryStore(), -1, time.Second
	native := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client, Timeout: 5 * time.Second})
	o := redundancy.New()
	ec := pm2.NewEventChecker(pm2.NewChecker(native, cfg), native, pm2.EventCheckerOptions{Target: "pm2", Trigger: o.Trigger})
	require.NoError(t, o.Add(redundancy.Target{Name: "pm2", Checker: ec, Recoverer: pm2.NewRecoverer(native, cfg),
		Policy: redundancy.Policy{Interval: time.Second, Timeout: 10 * time.Second, FailureThreshold: 1, Retry: -1,
			Backoff: redundancy.Backoff{Base: 500 * time.Millisecond, Max: 5 * time.Second}}}))
	var (
		mu    sync.Mutex
		rungs []string
	)
	o.Subscribe(func(e redundancy.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case redundancy.EventActionSucceeded:
			rungs = append(rungs, strings.TrimPrefix(e.Action, "pm2."))
		case redundancy.EventActionFailed:
			rungs = append(rungs, strings.TrimPrefix(e.Action, "pm2.")+" (failed)")
		case redundancy.EventEscalated:
			rungs = append(rungs, "ESCALATED")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := func() {
		wg.Go(func() { _ = ec.Watch(ctx) })
		wg.Go(func() { _ = o.Run(ctx) })
	}

	var t0 time.Time
	if sc.before != nil {
		sc.before(t, d)
		t0 = time.Now()
		start()
	} else {
		start()
		require.Eventually(t, func() bool {
			s := o.Snapshot()
			return ec.Connected() && len(s.Targets) == 1 && s.Targets[0].Status == redundancy.StatusHealthy
		}, waitLong, 20*time.Millisecond, "healthy before the fault")
		mu.Lock()
		rungs = nil
		mu.Unlock()
		t0 = time.Now()
		if end := sc.fault(t, d); end != nil {
			defer end()
		}
	}
	poll := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Timeout: 300 * time.Millisecond})
	var took time.Duration
	require.Eventually(t, func() bool {
		if !repaired(poll, d.Home) {
			return false
		}
		took = time.Since(t0)
		return true
	}, 2*time.Minute, 10*time.Millisecond, "repaired")
	// The last action may still be returning (pm2 resurrect exits after
	// the apps are up): the rungs are complete once the target is healthy.
	require.Eventually(t, func() bool {
		s := o.Snapshot()
		return s.Targets[0].Status == redundancy.StatusHealthy && s.Targets[0].Report.Status == redundancy.StatusHealthy
	}, waitLong, 20*time.Millisecond, "healthy after the repair")
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), rungs...), took
}

// repaired reports whether every app is online and both dump files list
// each.
func repaired(n *pm2.Native, home string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	procs, err := n.List(ctx)
	if err != nil {
		return false
	}
	for _, name := range guardApps {
		ok := false
		for _, p := range procs {
			if p.Name == name {
				ok = p.Status == pm2.StatusOnline
			}
		}
		if !ok {
			return false
		}
	}
	for _, f := range []string{pm2.DumpFile, pm2.DumpBackup} {
		if !pm2.ReadDump(filepath.Join(home, f)).Covers(guardApps) {
			return false
		}
	}
	return true
}
