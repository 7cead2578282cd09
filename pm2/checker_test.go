package pm2_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func problems(r redundancy.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Subject+" "+string(f.Problem))
	}
	return out
}

func TestCheckerProcessStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		apps   []pm2.App
		procs  []pm2.Process
		want   []string
		status redundancy.Status
	}{
		{"all online", nil, []pm2.Process{{Name: "web"}, {Name: "api"}}, nil, redundancy.StatusHealthy},
		{"no processes, none expected", nil, nil, nil, redundancy.StatusHealthy},
		{"errored", nil, []pm2.Process{{Name: "web", Status: pm2.StatusErrored, ExitCode: ptr(3)}}, []string{"web pm2.errored"}, redundancy.StatusUnhealthy},
		{"stopped", nil, []pm2.Process{{Name: "web", Status: pm2.StatusStopped}}, []string{"web pm2.stopped"}, redundancy.StatusUnhealthy},
		{"stopped but stop-ok", []pm2.App{{Name: "web", StopOK: true}}, []pm2.Process{{Name: "web", Status: pm2.StatusStopped}}, nil, redundancy.StatusHealthy},
		{"missing", []pm2.App{{Name: "web"}, {Name: "api"}}, []pm2.Process{{Name: "web"}}, []string{"api pm2.missing"}, redundancy.StatusUnhealthy},
		{"unexpected process ignored", []pm2.App{{Name: "web"}}, []pm2.Process{{Name: "web"}, {Name: "other", Status: pm2.StatusErrored}}, nil, redundancy.StatusHealthy},
		{"memory over app limit", []pm2.App{{Name: "web", MaxMemoryBytes: 100}}, []pm2.Process{{Name: "web", MemoryBytes: 101}}, []string{"web pm2.memory-high"}, redundancy.StatusDegraded},
		{"memory at limit", []pm2.App{{Name: "web", MaxMemoryBytes: 100}}, []pm2.Process{{Name: "web", MemoryBytes: 100}}, nil, redundancy.StatusHealthy},
		{"unstable restarts at first sight", nil, []pm2.Process{{Name: "web", UnstableRestarts: 2}}, []string{"web pm2.crash-loop"}, redundancy.StatusUnhealthy},
		{"one-launch is fine", nil, []pm2.Process{{Name: "job", Status: pm2.StatusOneLaunch}}, nil, redundancy.StatusHealthy},
		{"cluster instances merge", nil, []pm2.Process{{Name: "api", Status: pm2.StatusErrored}, {Name: "api", Status: pm2.StatusErrored}}, []string{"api pm2.errored"}, redundancy.StatusUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := pm2test.NewFakeClient(tt.procs...)
			c := pm2.NewChecker(fake, pm2.Config{Apps: tt.apps, LogMaxBytes: -1, MinFreeBytes: -1})
			r := c.Check(context.Background())
			require.NoError(t, r.Err)
			assert.Equal(t, tt.want, problems(r))
			assert.Equal(t, tt.status, r.Status, r.Summary)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckerCrashLoopNeedsHistory(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", Restarts: 10})
	c := pm2.NewChecker(fake, pm2.Config{Clock: clock, CrashLoopRestarts: 3, CrashLoopWindow: time.Minute, LogMaxBytes: -1, MinFreeBytes: -1})

	assert.Empty(t, problems(c.Check(context.Background())), "the first check is the baseline")
	clock.Advance(20 * time.Second)
	fake.Update("web", func(p *pm2.Process) { p.Restarts = 12 })
	assert.Empty(t, problems(c.Check(context.Background())), "2 restarts is under the limit")
	clock.Advance(20 * time.Second)
	fake.Update("web", func(p *pm2.Process) { p.Restarts = 13 })
	r := c.Check(context.Background())
	assert.Equal(t, []string{"web pm2.crash-loop"}, problems(r))
	assert.Contains(t, r.Findings[0].Detail, "3 restarts within 1m0s")

	// Quiet for longer than the window: the samples age out.
	clock.Advance(2 * time.Minute)
	assert.Empty(t, problems(c.Check(context.Background())))
	// A counter reset (pm2 reset) is not a crash loop.
	fake.Update("web", func(p *pm2.Process) { p.Restarts = 0 })
	assert.Empty(t, problems(c.Check(context.Background())))
}

func TestCheckerUnstableRestartsGrowth(t *testing.T) {
	t.Parallel()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", UnstableRestarts: 1})
	c := pm2.NewChecker(fake, pm2.Config{Clock: redundancytest.NewFakeClock(t0), LogMaxBytes: -1, MinFreeBytes: -1})
	assert.Equal(t, []string{"web pm2.crash-loop"}, problems(c.Check(context.Background())))
	assert.Empty(t, problems(c.Check(context.Background())), "unchanged: reported once")
	fake.Update("web", func(p *pm2.Process) { p.UnstableRestarts = 2 })
	assert.Equal(t, []string{"web pm2.crash-loop"}, problems(c.Check(context.Background())))
}

func TestCheckerStuck(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", Status: pm2.StatusWaitingRestart})
	c := pm2.NewChecker(fake, pm2.Config{Clock: clock, StuckAfter: 30 * time.Second, LogMaxBytes: -1, MinFreeBytes: -1})
	assert.Empty(t, problems(c.Check(context.Background())))
	clock.Advance(31 * time.Second)
	assert.Equal(t, []string{"web pm2.stuck"}, problems(c.Check(context.Background())))
	fake.SetStatus("web", pm2.StatusLaunching)
	assert.Empty(t, problems(c.Check(context.Background())), "a new state restarts the clock")
}

func TestCheckerCPUConsecutive(t *testing.T) {
	t.Parallel()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", CPUPercent: 95})
	c := pm2.NewChecker(fake, pm2.Config{MaxCPUPercent: 80, CPUChecks: 3, LogMaxBytes: -1, MinFreeBytes: -1})
	assert.Empty(t, problems(c.Check(context.Background())))
	assert.Empty(t, problems(c.Check(context.Background())))
	assert.Equal(t, []string{"web pm2.cpu-high"}, problems(c.Check(context.Background())))
	fake.Update("web", func(p *pm2.Process) { p.CPUPercent = 10 })
	assert.Empty(t, problems(c.Check(context.Background())))
	fake.Update("web", func(p *pm2.Process) { p.CPUPercent = 95 })
	assert.Empty(t, problems(c.Check(context.Background())), "the streak starts over")
}

func TestCheckerDaemonAndErrors(t *testing.T) {
	t.Parallel()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	c := pm2.NewChecker(fake, pm2.Config{LogMaxBytes: -1, MinFreeBytes: -1})

	fake.KillDaemon()
	r := c.Check(context.Background())
	require.NoError(t, r.Err)
	assert.Equal(t, redundancy.StatusUnhealthy, r.Status)
	assert.Equal(t, []string{"daemon pm2.daemon-down"}, problems(r))

	fake = pm2test.NewFakeClient(pm2.Process{Name: "web"})
	c = pm2.NewChecker(fake, pm2.Config{LogMaxBytes: -1, MinFreeBytes: -1})
	fake.FailNext("List", redundancytest.Fault{Err: &pm2.CommandError{Command: "pm2 jlist", ExitCode: 1}})
	r = c.Check(context.Background())
	assert.Equal(t, []string{"daemon pm2.daemon-unresponsive"}, problems(r))

	for _, err := range []error{pm2.ErrNotInstalled, pm2.ErrBadOutput} {
		fake.FailNext("List", redundancytest.Fault{Err: err})
		r = c.Check(context.Background())
		require.ErrorIs(t, r.Err, err)
		assert.Equal(t, redundancy.StatusUnknown, r.Status)
	}

	// A daemon that does not answer within the check's deadline: a finding,
	// reported before the deadline, not a hang.
	fake.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r = c.Check(ctx)
	require.NoError(t, r.Err)
	assert.Equal(t, []string{"daemon pm2.daemon-unresponsive"}, problems(r))
	assert.NoError(t, ctx.Err(), "reported before the deadline")
	assert.Contains(t, r.Findings[0].Detail, "did not answer")

	// A cancelled check is an error report.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	r = c.Check(cctx)
	require.ErrorIs(t, r.Err, context.Canceled)
	assert.Equal(t, redundancy.StatusUnknown, r.Status)

	assert.Equal(t, redundancy.StatusUnknown, pm2.NewChecker(nil, pm2.Config{}).Check(context.Background()).Status)
}

const bakLacking = "dump.pm2.bak pm2.dump-backup-incomplete"

func TestCheckerDump(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, home, name, content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(home, name), []byte(content), 0o600))
	}
	tests := []struct {
		name       string
		dump, bak  string // "-": no file
		want       []string
		wantDetail string
	}{
		{"complete", `[{"name":"web","env":{"T":"s"}},{"name":"api"}]`, `[{"name":"web"},{"name":"api"}]`, nil, ""},
		{"complete, no backup", `[{"name":"web","env":{"T":"s"}},{"name":"api"}]`, "-", []string{bakLacking}, "dump.pm2.bak does not exist"},
		{"missing", "-", "-", []string{"dump.pm2 pm2.dump-missing", bakLacking}, "does not exist"},
		{"missing with backup", "-", `[{"name":"web"},{"name":"api"}]`, []string{"dump.pm2 pm2.dump-missing"}, "dump.pm2.bak lists web, api"},
		{"empty file", "", "[]", []string{"dump.pm2 pm2.dump-empty", bakLacking}, "restores nothing either"},
		{"empty list", "[]", "-", []string{"dump.pm2 pm2.dump-empty", bakLacking}, "lists no process"},
		{"garbage", `{"env":{"TOKEN":"hunter2"`, "-", []string{"dump.pm2 pm2.dump-empty", bakLacking}, "unreadable"},
		{"incomplete", `[{"name":"web"}]`, `[{"name":"web"},{"name":"api"}]`, []string{"dump.pm2 pm2.dump-incomplete"}, "lacks api"},
		{"backup incomplete", `[{"name":"web"},{"name":"api"}]`, `[{"name":"web"}]`, []string{bakLacking}, "dump.pm2.bak lacks api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			if tt.dump != "-" {
				write(t, home, pm2.DumpFile, tt.dump)
			}
			if tt.bak != "-" {
				write(t, home, pm2.DumpBackup, tt.bak)
			}
			fake := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "api"})
			c := pm2.NewChecker(fake, pm2.Config{Home: home, Apps: []pm2.App{{Name: "web"}, {Name: "api"}}, LogMaxBytes: -1, MinFreeBytes: -1})
			r := c.Check(context.Background())
			assert.Equal(t, tt.want, problems(r))
			if tt.wantDetail != "" {
				require.NotEmpty(t, r.Findings)
				assert.Contains(t, r.Findings[0].Detail, tt.wantDetail)
				assert.Equal(t, redundancy.StatusDegraded, r.Status)
			}
			for _, f := range r.Findings {
				assert.NotContains(t, f.Detail, "hunter2")
			}
		})
	}
}

func TestCheckerLogs(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	out := filepath.Join(home, "web-out.log")
	errLog := filepath.Join(home, "web-error.log")
	require.NoError(t, os.WriteFile(out, []byte(strings.Repeat("x", 2048)), 0o644))
	require.NoError(t, os.WriteFile(errLog, []byte("small"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.DaemonLog), []byte(strings.Repeat("y", 4096)), 0o644))
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", OutLogPath: out, ErrLogPath: errLog},
		pm2.Process{Name: "web", OutLogPath: out, ErrLogPath: errLog}, // a second instance sharing the logs
		pm2.Process{Name: "quiet", OutLogPath: os.DevNull})
	c := pm2.NewChecker(fake, pm2.Config{Home: home, LogMaxBytes: 1024, DaemonLogMaxBytes: 1024, MinFreeBytes: -1})
	r := c.Check(context.Background())
	assert.ElementsMatch(t, []string{
		out + " pm2.log-large",
		filepath.Join(home, pm2.DaemonLog) + " pm2.daemon-log-large",
		"dump.pm2 pm2.dump-missing",
	}, problems(r))

	c = pm2.NewChecker(fake, pm2.Config{LogMaxBytes: -1, MinFreeBytes: 1 << 62})
	assert.Equal(t, []string{home + " pm2.disk-low"}, problems(c.Check(context.Background())))
}

func TestCheckerEcosystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "eco.json")
	require.NoError(t, os.WriteFile(good, []byte(`{"apps":[{"name":"web","script":"a.js","env":{"TOKEN":"hunter2"}}]}`), 0o644))
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"apps":[{"name":"web","env":{"TOKEN":"hunter2"`), 0o644))
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"fine", good, nil},
		{"missing file", filepath.Join(dir, "nope.json"), []string{filepath.Join(dir, "nope.json") + " pm2.ecosystem-missing"}},
		{"invalid", bad, []string{bad + " pm2.ecosystem-invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
			c := pm2.NewChecker(fake, pm2.Config{Ecosystem: tt.file, Apps: []pm2.App{{Name: "web"}}, LogMaxBytes: -1, MinFreeBytes: -1})
			r := c.Check(context.Background())
			assert.Equal(t, tt.want, problems(r))
			for _, f := range r.Findings {
				assert.NotContains(t, f.Detail, "hunter2")
			}
		})
	}
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "api"})
	c := pm2.NewChecker(fake, pm2.Config{Ecosystem: good, Apps: []pm2.App{{Name: "web"}, {Name: "api"}}, LogMaxBytes: -1, MinFreeBytes: -1})
	r := c.Check(context.Background())
	assert.Equal(t, []string{good + " pm2.ecosystem-app-missing"}, problems(r))
	assert.Contains(t, r.Findings[0].Detail, `"api"`)
}

var errBoom = errors.New("boom")
