package pm2_test

// Integration tests: a real PM2 daemon (pm2test.StartDaemon), the CLI
// client, and the orchestrator driving checks and repairs on a fake clock.

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

const waitLong = 30 * time.Second

type rig struct {
	d     *pm2test.Daemon
	o     *redundancy.Orchestrator
	clock *redundancytest.FakeClock
}

// newRig puts the daemon's PM2 under an orchestrator as target "pm2":
// recover at the first unhealthy check, no retries.
func newRig(t *testing.T, d *pm2test.Daemon, cfg pm2.Config) *rig {
	t.Helper()
	clock := redundancytest.NewFakeClock(time.Now())
	cfg.Home, cfg.Ecosystem, cfg.Clock = d.Home, d.Ecosystem, clock
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = -1 // the CI disk is not under test
	}
	o := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, o.Add(redundancy.Target{
		Name:      "pm2",
		Checker:   pm2.NewChecker(d.Client, cfg),
		Recoverer: pm2.NewRecoverer(d.Client, cfg),
		Policy:    redundancy.Policy{FailureThreshold: 1, Retry: -1, Timeout: time.Minute, Backoff: redundancy.Backoff{Base: time.Second}},
	}))
	return &rig{d: d, o: o, clock: clock}
}

// tick advances the clock past the interval and any backoff, runs one
// cycle and returns the target's state.
func (r *rig) tick(t *testing.T) redundancy.TargetState {
	t.Helper()
	r.clock.Advance(time.Hour)
	snap := r.o.Tick(context.Background())
	require.Len(t, snap.Targets, 1)
	return snap.Targets[0]
}

// saveTwice saves the daemon's list twice, as a user would have over
// time: dump.pm2 and dump.pm2.bak both list every app.
func saveTwice(t *testing.T, d *pm2test.Daemon) {
	t.Helper()
	for range 2 {
		require.NoError(t, d.Client.Save(context.Background()))
	}
}

func verbsOf(rs []redundancy.ActionResult) []string {
	var out []string
	for _, r := range rs {
		s := r.Verb + " " + r.Subject
		if r.Error != "" {
			s += " FAILED: " + r.Error
		}
		out = append(out, s)
	}
	return out
}

func TestIntegrationStoppedAppIsRestarted(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	r := newRig(t, d, pm2.Config{Apps: []pm2.App{{Name: "web"}}})
	saveTwice(t, d)
	require.Equal(t, redundancy.StatusHealthy, r.tick(t).Status)

	require.NoError(t, d.Client.Stop(context.Background(), "web"))
	st := r.tick(t)
	assert.True(t, st.Report.Has(pm2.ProblemStopped), st.Report.Summary)
	assert.Equal(t, []string{"pm2.restart web", "pm2.save dump.pm2"}, verbsOf(st.History))

	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	assert.Equal(t, redundancy.StatusHealthy, r.tick(t).Report.Status)
}

func TestIntegrationErroredAppIsRestarted(t *testing.T) {
	t.Parallel()
	// Every death within min_uptime is unstable; two make it errored.
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp, MaxRestarts: 2, MinUptime: 60_000})
	first := d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	r := newRig(t, d, pm2.Config{Apps: []pm2.App{{Name: "web"}}})
	saveTwice(t, d)

	d.KillApp(t, "web")
	require.Eventually(t, func() bool {
		p := d.Process(t, "web")
		return p.Status == pm2.StatusOnline && p.PID != first.PID
	}, waitLong, 50*time.Millisecond, "PM2 restarts web after the first SIGKILL")
	d.KillApp(t, "web")
	errored := d.WaitStatus(t, "web", pm2.StatusErrored, waitLong)
	require.NotNil(t, errored.ExitCode)

	st := r.tick(t)
	assert.True(t, st.Report.Has(pm2.ProblemErrored), st.Report.Summary)
	assert.Contains(t, verbsOf(st.History), "pm2.restart web")
	for _, h := range st.History {
		assert.Empty(t, h.Error)
	}
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	assert.False(t, r.tick(t).Report.Has(pm2.ProblemErrored))
}

func TestIntegrationKilledDaemonIsBroughtBack(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp}, pm2test.App{Name: "api", Script: pm2test.AppUp})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	r := newRig(t, d, pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}}})
	saveTwice(t, d)
	require.True(t, pm2.ReadDump(filepath.Join(d.Home, pm2.DumpBackup)).Usable())

	cases := []struct {
		name  string
		spoil func(t *testing.T) // what happens to the dump before the crash
		want  []string
	}{
		{"resurrect from the dump", func(*testing.T) {}, []string{"pm2.resurrect daemon", "pm2.save dump.pm2"}},
		{"dump emptied: restore dump.pm2.bak", func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(d.Home, pm2.DumpFile), []byte("[]"), 0o600))
		}, []string{"pm2.restore-dump-backup dump.pm2", "pm2.resurrect daemon", "pm2.save dump.pm2"}},
		{"no dump at all: start the ecosystem file", func(t *testing.T) {
			require.NoError(t, os.Remove(filepath.Join(d.Home, pm2.DumpFile)))
			require.NoError(t, os.Remove(filepath.Join(d.Home, pm2.DumpBackup)))
		}, []string{"pm2.start-ecosystem " + d.Ecosystem, "pm2.save dump.pm2"}},
	}
	seen := 0
	for _, c := range cases {
		c.spoil(t)
		d.KillDaemon(t)
		st := r.tick(t)
		require.True(t, st.Report.Has(pm2.ProblemDaemonDown), "%s: %s", c.name, st.Report.Summary)
		require.Equal(t, c.want, verbsOf(st.History[seen:]), c.name)
		seen = len(st.History)
		d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
		d.WaitStatus(t, "api", pm2.StatusOnline, waitLong)
		after := r.tick(t)
		assert.Equal(t, redundancy.StatusHealthy, after.Report.Status, "%s: %s", c.name, after.Report.Summary)
		seen = len(after.History)
		if c.name == "no dump at all: start the ecosystem file" {
			assert.True(t, pm2.ReadDump(filepath.Join(d.Home, pm2.DumpFile)).Usable(), "saved after the repair")
		}
	}
}

func TestIntegrationLogRotationKeepsEveryLine(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "chatty", Script: pm2test.AppChatty})
	p := d.WaitStatus(t, "chatty", pm2.StatusOnline, waitLong)
	const limit = 4 << 10
	r := newRig(t, d, pm2.Config{Apps: []pm2.App{{Name: "chatty"}}, LogMaxBytes: limit})
	saveTwice(t, d)

	for round := range 3 {
		require.Eventually(t, func() bool {
			fi, err := os.Stat(p.OutLogPath)
			return err == nil && fi.Size() > limit
		}, waitLong, 20*time.Millisecond)
		st := r.tick(t)
		require.True(t, st.Report.Has(pm2.ProblemLogLarge), "round %d: %s", round, st.Report.Summary)
		last := st.History[len(st.History)-1]
		require.Equal(t, pm2.VerbRotateLog, last.Verb)
		require.Empty(t, last.Error)
	}
	require.NoError(t, d.Client.Stop(context.Background(), "chatty"))
	d.WaitStatus(t, "chatty", pm2.StatusStopped, waitLong)

	archives, err := pm2.Archives(p.OutLogPath)
	require.NoError(t, err)
	require.Len(t, archives, 3)
	var lines []string
	for _, a := range archives {
		lines = append(lines, gunzipLines(t, a)...)
	}
	live, err := os.ReadFile(p.OutLogPath)
	require.NoError(t, err)
	lines = append(lines, strings.Split(strings.TrimSuffix(string(live), "\n"), "\n")...)
	require.Greater(t, len(lines), 3*limit/12)
	for i, l := range lines {
		require.Equal(t, "line "+strconv.Itoa(i+1), l, "line %d of %d (%d archives): a line was lost or duplicated", i, len(lines), len(archives))
	}
}

func gunzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	var out []string
	sc := bufio.NewScanner(io.Reader(zr))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	require.NoError(t, sc.Err())
	return out
}

func TestIntegrationStoppedDaemonIsWoken(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	saveTwice(t, d)
	cfg := pm2.Config{Apps: []pm2.App{{Name: "web"}}, Home: d.Home, MinFreeBytes: -1}
	o := redundancy.New(redundancy.WithClock(redundancytest.NewFakeClock(time.Now())))
	require.NoError(t, o.Add(redundancy.Target{Name: "pm2", Checker: pm2.NewChecker(d.Client, cfg),
		Recoverer: pm2.NewRecoverer(d.Client, cfg),
		Policy:    redundancy.Policy{Timeout: 2 * time.Second, FailureThreshold: 1, Retry: -1}}))

	// A daemon left stopped (SIGSTOP) keeps its socket but answers nothing.
	d.FreezeDaemon(t)
	st := o.Tick(context.Background()).Targets[0]
	assert.True(t, st.Report.Has(pm2.ProblemDaemonUnresponsive), st.Report.Summary)
	assert.Equal(t, []string{"pm2.continue-daemon daemon"}, verbsOf(st.History))
	st = o.CheckNow(context.Background()).Targets[0]
	assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
}
