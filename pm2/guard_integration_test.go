package pm2_test

// The reproductions of issue 17 against a real PM2 daemon: after each,
// every expected app is online and dump.pm2 and dump.pm2.bak both list
// every app.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var guardApps = []string{"web", "api", "worker"}

// startThree starts web, api and worker (worker with a token in its
// environment, as `TOKEN=... pm2 start` gives it) and saves twice.
func startThree(t *testing.T) *pm2test.Daemon {
	t.Helper()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp}, pm2test.App{Name: "api", Script: pm2test.AppUp})
	cmd := exec.Command(d.Bin, "start", filepath.Join(d.Dir, pm2test.AppUp), "--name", "worker")
	cmd.Env = append(d.Env(), "URAS_TEST_WORKER_TOKEN=tok-from-the-environment")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, n := range guardApps {
		d.WaitStatus(t, n, pm2.StatusOnline, waitLong)
	}
	saveTwice(t, d)
	return d
}

// guardTarget is the daemon under an orchestrator on a fake clock (each
// tick runs one check and, when due, one recovery attempt), the pm2
// config on the real clock (ladders and known-good times are real).
type guardTarget struct {
	d     *pm2test.Daemon
	o     *redundancy.Orchestrator
	clock *redundancytest.FakeClock
	cfg   pm2.Config
}

func newGuardTarget(t *testing.T, d *pm2test.Daemon, client pm2.Client, cfg pm2.Config) *guardTarget {
	t.Helper()
	cfg.Home, cfg.MinFreeBytes = d.Home, -1
	if cfg.Store == nil {
		cfg.Store = redundancy.NewMemoryStore()
	}
	clock := redundancytest.NewFakeClock(time.Now())
	o := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, o.Add(redundancy.Target{Name: "pm2", Checker: pm2.NewChecker(client, cfg), Recoverer: pm2.NewRecoverer(client, cfg),
		Policy: redundancy.Policy{FailureThreshold: 1, Retry: -1, Timeout: time.Minute, Backoff: redundancy.Backoff{Base: time.Second}}}))
	return &guardTarget{d: d, o: o, clock: clock, cfg: cfg}
}

func (g *guardTarget) tick(t *testing.T) redundancy.TargetState {
	t.Helper()
	g.clock.Advance(time.Hour)
	return g.o.Tick(context.Background()).Targets[0]
}

// healthy ticks until the target is healthy (apps still launching count
// as not yet), at most a few times.
func (g *guardTarget) healthy(t *testing.T) redundancy.TargetState {
	t.Helper()
	var st redundancy.TargetState
	for range 5 {
		st = g.tick(t)
		if st.Report.Status == redundancy.StatusHealthy {
			return st
		}
		time.Sleep(200 * time.Millisecond) // a real daemon settling: no clock to inject
	}
	t.Fatalf("not healthy: %s; history %v", st.Report.Summary, verbsOf(st.History))
	return st
}

// assertEveryAppEverywhere checks the end state: every app online,
// both dump files listing each.
func assertEveryAppEverywhere(t *testing.T, d *pm2test.Daemon, apps ...string) {
	t.Helper()
	for _, n := range apps {
		d.WaitStatus(t, n, pm2.StatusOnline, waitLong)
	}
	for _, f := range []string{pm2.DumpFile, pm2.DumpBackup} {
		dump := pm2.ReadDump(filepath.Join(d.Home, f))
		require.NoError(t, dump.Err, f)
		assert.Empty(t, dump.Lacks(apps), "%s lists %v", f, dump.Names)
	}
}

// environOf returns a process's environment (Linux).
func environOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		t.Skipf("no /proc environ: %v", err)
	}
	return string(b)
}

// Reproduction (a): three apps in config, no ecosystem file, pm2 delete
// worker, then pm2 stop web. The old plan "restart web; save" dropped
// worker from dump.pm2, then from dump.pm2.bak.
func TestIntegrationGuardDeletedThenStopped(t *testing.T) {
	t.Parallel()
	d := startThree(t)
	g := newGuardTarget(t, d, d.Client, pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "worker"}}})
	g.healthy(t)

	d.Run(t, "delete", "worker")
	d.Run(t, "stop", "web")
	st := g.tick(t)
	assert.ElementsMatch(t, []string{"web pm2.stopped", "worker pm2.missing"}, problems(st.Report))
	assert.Equal(t, []string{"pm2.restart web", "pm2.restore-app worker", "pm2.save dump.pm2"}, verbsOf(st.History))
	g.healthy(t)
	assertEveryAppEverywhere(t, d, guardApps...)
	assert.Contains(t, environOf(t, d.Process(t, "worker").PID), "URAS_TEST_WORKER_TOKEN=tok-from-the-environment",
		"worker came back from its dump entry, with its environment")
}

// Reproduction (b): pm2 kill deletes the apps before the daemon exits; a
// check in between sees them missing. Nothing partial may be saved, and
// the daemon comes back with every app.
func TestIntegrationGuardPM2KillMidRepair(t *testing.T) {
	t.Parallel()
	d := startThree(t)
	eco := filepath.Join(d.Dir, "all.json")
	require.NoError(t, d.WriteEcosystem(eco, pm2test.App{Name: "web", Script: pm2test.AppUp}, pm2test.App{Name: "api", Script: pm2test.AppUp},
		pm2test.App{Name: "worker", Script: pm2test.AppUp}))
	g := newGuardTarget(t, d, d.Client, pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "worker"}}, Ecosystem: eco})
	g.healthy(t)

	// The first phase of pm2 kill: every app deleted, the daemon still up.
	d.Run(t, "delete", "all")
	// The daemon goes while the repair runs: after its first action.
	var (
		once    sync.Once
		killErr error
	)
	cancel := g.o.Subscribe(func(e redundancy.Event) {
		if e.Kind == redundancy.EventActionSucceeded {
			once.Do(func() { killErr = pm2Command(d, "kill") })
		}
	})
	st := g.tick(t)
	cancel()
	require.NoError(t, killErr)
	assert.ElementsMatch(t, []string{"web pm2.missing", "api pm2.missing", "worker pm2.missing"}, problems(st.Report))
	hist := verbsOf(st.History)
	t.Logf("the attempt during pm2 kill: %v", hist)
	require.NotEmpty(t, hist)
	for _, h := range hist {
		assert.NotContains(t, h, "pm2.save dump.pm2 ", "no save with apps missing")
	}
	assertDumpLists(t, d, guardApps...)

	st = g.tick(t)
	require.True(t, st.Report.Has(pm2.ProblemDaemonDown), st.Report.Summary)
	assert.Contains(t, verbsOf(st.History), "pm2.resurrect daemon")
	g.healthy(t)
	assertEveryAppEverywhere(t, d, guardApps...)
}

// pm2Command runs pm2 against d from any goroutine.
func pm2Command(d *pm2test.Daemon, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.Env = d.Env()
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

func assertDumpLists(t *testing.T, d *pm2test.Daemon, apps ...string) {
	t.Helper()
	for _, f := range []string{pm2.DumpFile, pm2.DumpBackup} {
		assert.Empty(t, pm2.ReadDump(filepath.Join(d.Home, f)).Lacks(apps), f)
	}
}

// Reproduction (c) at the pm2 level: no apps configured (the default
// config), no known-good list yet, the daemon down before uras starts.
// (internal/system checks that the default config watches such a home.)
func TestIntegrationGuardDaemonDownAtStart(t *testing.T) {
	t.Parallel()
	d := startThree(t)
	d.Run(t, "kill")
	g := newGuardTarget(t, d, d.Client, pm2.Config{})
	st := g.tick(t)
	require.Equal(t, redundancy.StatusUnhealthy, st.Report.Status, st.Report.Summary)
	assert.Equal(t, []string{"pm2.resurrect daemon", "pm2.save dump.pm2"}, verbsOf(st.History))
	g.healthy(t)
	assertEveryAppEverywhere(t, d, guardApps...)
	k, err := pm2.NewKnownGoodList(g.cfg.Store, d.Home, 0).Latest(context.Background())
	require.NoError(t, err)
	assert.ElementsMatch(t, guardApps, k.Names(), "the list is known now")
}

// A daemon that stays hung after SIGCONT (stopped again at once, as a
// daemon stuck in a loop would stay) is killed by its pm2.pid, and the
// apps it had started with it, and brought back from the dump.
func TestIntegrationGuardHungDaemonIsKilledAndBroughtBack(t *testing.T) {
	t.Parallel()
	d := startThree(t)
	g := newGuardTarget(t, d, d.Client, pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "worker"}}, DaemonTimeout: time.Second})
	g.healthy(t)
	before := d.Process(t, "web")
	stop := holdStopped(t, d)
	defer stop()

	st := g.tick(t)
	require.True(t, st.Report.Has(pm2.ProblemDaemonUnresponsive), st.Report.Summary)
	assert.Equal(t, []string{"pm2.continue-daemon daemon"}, verbsOf(st.History))
	st = g.tick(t)
	require.True(t, st.Report.Has(pm2.ProblemDaemonUnresponsive), st.Report.Summary)
	assert.Equal(t, []string{"pm2.continue-daemon daemon", "pm2.kill-daemon daemon", "pm2.resurrect daemon", "pm2.save dump.pm2"}, verbsOf(st.History))
	stop()
	g.healthy(t)
	assertEveryAppEverywhere(t, d, guardApps...)
	assert.False(t, processAlive(before.PID), "the app the hung daemon had started was stopped with it")
}

// holdStopped keeps the daemon of d stopped: SIGSTOP now and again after
// every SIGCONT, until it dies or stop is called.
func holdStopped(t *testing.T, d *pm2test.Daemon) (stop func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Home, pm2.PIDFile))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	require.NoError(t, err)
	require.True(t, pm2.TitleNamesHome(string(cmdline), d.Home), "pid %d is this test's daemon: %q", pid, cmdline)
	start := startTime(pid)
	require.NotEmpty(t, start)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if startTime(pid) != start || syscall.Kill(pid, syscall.SIGSTOP) != nil {
				return // gone (a recycled pid is never signalled)
			}
			select {
			case <-done:
				if startTime(pid) == start {
					_ = syscall.Kill(pid, syscall.SIGCONT)
				}
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// startTime returns field 22 of /proc/<pid>/stat, "" when pid is gone.
func startTime(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return !(i >= 0 && i+2 < len(s) && s[i+2] == 'Z')
}
