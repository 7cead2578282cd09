package pm2_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

type fileConfig struct {
	launch.Config `yaml:",inline"`
	PM2           *pm2.TargetConfig `yaml:"pm2"`
}

// The pm2 section of a launcher's file decodes into TargetConfig,
// strictly, with the keys the example commands use: sizes with units (and
// the older *_mb keys), probes, timeouts, the guard.
func TestTargetConfigDecodesItsSection(t *testing.T) {
	t.Parallel()
	const section = `
optional: true
home: /srv/app/.pm2
binary: /opt/pm2/bin/pm2
client: native
ecosystem: ecosystem.config.js
node: /opt/node/bin/node
cli_timeout: 45s
rpc_timeout: 3s
log_dirs: [/var/log/app]
limits:
  log_max: 10MB
  daemon_log_max: 50MiB
  min_free: "off"
  max_memory: 1G
  daemon_max_memory: 512MiB
  log_keep: 7
  log_keep_for: 168h
  cpu_checks: 5
  crash_loop_restarts: 4
  crash_loop_window: 2m
apps:
  - name: web
    max_memory: 300MB
    probe: {port: 3000, url: "http://127.0.0.1:3000/health", expect_status: 204, timeout: 1s, grace: 20s, own_holders: ["node /srv/web/server.js"]}
  - {name: worker, max_memory_mb: 64, stop_ok: true}
guard: {known_good_history: 3, restart_tries: 2, save_settle: -1s}
policy: {interval: 10s}
critical: false
alerts: {page_repairs: false, flap: {count: 5, window: 2h}}
`
	var c pm2.TargetConfig
	dec := yaml.NewDecoder(strings.NewReader(section))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	require.NoError(t, c.Validate())
	no := false
	assert.Equal(t, pm2.TargetConfig{
		Optional: true, Home: "/srv/app/.pm2", Binary: "/opt/pm2/bin/pm2", Client: pm2.ClientNative,
		Ecosystem: "ecosystem.config.js", Node: "/opt/node/bin/node", CLITimeout: 45 * time.Second, RPCTimeout: 3 * time.Second,
		LogDirs: []string{"/var/log/app"},
		Limits: pm2.LimitsConfig{LogMax: 10_000_000, DaemonLogMax: 50 << 20, MinFree: pm2.SizeOff, MaxMemory: 1 << 30,
			DaemonMaxMemory: 512 << 20, LogKeep: 7, LogKeepFor: 168 * time.Hour, CPUChecks: 5, CrashLoopRestarts: 4, CrashLoopWindow: 2 * time.Minute},
		Apps: []pm2.AppConfig{
			{Name: "web", MaxMemory: 300_000_000, Probe: &pm2.Probe{Port: 3000, URL: "http://127.0.0.1:3000/health", ExpectStatus: 204,
				Timeout: time.Second, Grace: 20 * time.Second, OwnHolders: []string{"node /srv/web/server.js"}}},
			{Name: "worker", MaxMemoryMB: 64, StopOK: true},
		},
		Guard:    pm2.GuardConfig{KnownGoodHistory: 3, RestartTries: 2, SaveSettle: -time.Second},
		Policy:   redundancy.PolicyConfig{Interval: 10 * time.Second},
		Critical: &no,
		Alerts:   redundancy.AlertPolicyConfig{PageRepairs: &no, Flap: redundancy.FlapConfig{Count: 5, Window: 2 * time.Hour}},
	}, c)

	// What the checker and the recoverer are given.
	pc := pm2.ConfigOf(&c, "/srv/app/.pm2")
	assert.EqualValues(t, 10_000_000, pc.LogMaxBytes)
	assert.EqualValues(t, -1, pc.MinFreeBytes, "off: not checked")
	assert.EqualValues(t, 1<<30, pc.MaxMemoryBytes)
	assert.EqualValues(t, 512<<20, pc.DaemonMaxMemoryBytes)
	assert.EqualValues(t, 300_000_000, pc.Apps[0].MaxMemoryBytes)
	assert.EqualValues(t, 64<<20, pc.Apps[1].MaxMemoryBytes, "the older _mb key still works")
	assert.Equal(t, 3000, pc.Apps[0].Probe.Port)
	assert.Equal(t, 4, pc.CrashLoopRestarts)
	assert.Equal(t, 3, pc.KnownGoodHistory)
	assert.Equal(t, -time.Second, pc.SaveSettle)

	pc = pm2.ConfigOf(&pm2.TargetConfig{Limits: pm2.LimitsConfig{LogMaxMB: -1}}, "")
	assert.Negative(t, pc.LogMaxBytes, "a negative *_mb still turns the check off, as before")
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]pm2.Size{
		"4096": 4096, "10MB": 10_000_000, "10mb": 10_000_000, "10MiB": 10 << 20, "10M": 10 << 20,
		"512KiB": 512 << 10, "512k": 512 << 10, "1.5G": 3 << 29, "2GB": 2e9, "1 TiB": 1 << 40, "7B": 7, "off": pm2.SizeOff,
	} {
		got, err := pm2.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MB", "10 parsecs", "-1MB", "1e3", "10MBs", "99999999999TB", "1..2M"} {
		_, err := pm2.ParseSize(in)
		assert.Error(t, err, in)
	}
}

func TestTargetConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad size", "pm2:\n  limits:\n    log_max: 10 parsecs\n", `:3: pm2.limits.log_max: bad size "10 parsecs"`},
		{"negative size", "pm2:\n  limits:\n    daemon_log_max: -5MB\n", `:3: pm2.limits.daemon_log_max: bad size "-5MB"`},
		{"both units", "pm2:\n  limits:\n    log_max_mb: 5\n    log_max: 10MB\n", ":4: pm2.limits.log_max: give log_max or log_max_mb, not both"},
		{"off memory", "pm2:\n  limits:\n    daemon_max_memory: \"off\"\n", `:3: pm2.limits.daemon_max_memory: "off" is not allowed here`},
		{"negative keep", "pm2:\n  limits:\n    log_keep: -2\n", ":3: pm2.limits.log_keep: may not be negative"},
		{"negative cpu checks", "pm2:\n  limits:\n    cpu_checks: -1\n", ":3: pm2.limits.cpu_checks: may not be negative"},
		{"bad timeout", "pm2:\n  cli_timeout: 30\n", `:2: pm2.cli_timeout: bad duration "30"`},
		{"negative timeout", "pm2:\n  rpc_timeout: -3s\n", ":2: pm2.rpc_timeout: negative duration -3s"},
		{"empty log dir", "pm2:\n  log_dirs: [\"\"]\n", ":2: pm2.log_dirs[0]: empty directory"},
		{"bad client", "pm2:\n  client: rpc\n", `:2: pm2.client: unknown client "rpc" (want auto, native or cli)`},
		{"missing app name", "pm2:\n  apps:\n    - stop_ok: true\n", ":3: pm2.apps[0].name: required"},
		{"duplicate app", "pm2:\n  apps:\n    - name: a\n    - name: a\n", `:4: pm2.apps[1].name: duplicate app "a"`},
		{"app both units", "pm2:\n  apps:\n    - name: web\n      max_memory_mb: 1\n      max_memory: 2MB\n", ":5: pm2.apps[0].max_memory: give max_memory or max_memory_mb, not both"},
		{"probe empty", "pm2:\n  apps:\n    - name: web\n      probe: {grace: 5s}\n", ":4: pm2.apps[0].probe: needs a port or a URL"},
		{"probe port", "pm2:\n  apps:\n    - name: web\n      probe:\n        port: 99999\n", ":4: pm2.apps[0].probe: port 99999 out of range"},
		{"probe url", "pm2:\n  apps:\n    - name: web\n      probe: {url: \"localhost:3000\"}\n", ":4: pm2.apps[0].probe: URL must be an absolute http or https URL"},
		{"probe unknown key", "pm2:\n  apps:\n    - name: web\n      probe: {port: 80, prot: 81}\n", ":4: pm2.apps[0].probe.prot: unknown key in pm2.apps[0].probe"},
		{"bad policy", "pm2:\n  policy:\n    interval: 500ms\n", ":3: pm2.policy.interval: 500ms is below the minimum 1s"},
		{"guard", "pm2:\n  guard: {restart_tries: -1}\n", ":2: pm2.guard.restart_tries: may not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := launch.ParseYAML[fileConfig]("f.yaml", []byte(tc.yaml), func(string) string { return "" })
			require.Error(t, err)
			assert.Contains(t, err.Error(), "config f.yaml"+tc.want)
		})
	}
	// Validate alone: the prefix and the key.
	err := (&pm2.TargetConfig{Apps: []pm2.AppConfig{{}}}).Validate()
	assert.EqualError(t, err, "pm2: apps[0].name: required")
	var ce *redundancy.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "apps[0].name", ce.Key)
}

// With a client given, NewTargets builds the target around it: the
// checker and the recoverer share one store, so the known-good list the
// checker records is the one a repair reads.
func TestNewTargetsWithClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", Autorestart: true})
	store := redundancy.NewMemoryStore()
	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{Apps: []pm2.AppConfig{{Name: "web"}}, Policy: redundancy.PolicyConfig{Interval: 5 * time.Second}},
		pm2.WithClient(fake), pm2.WithStore(store))
	require.NoError(t, err)
	assert.Equal(t, "pm2", g.Name)
	assert.Empty(t, g.Notes)
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	assert.Equal(t, "pm2", tg.Name)
	assert.Nil(t, tg.Source, "a client that is not the native one has no event source")
	assert.Equal(t, 5*time.Second, tg.Policy.Interval)

	o := redundancy.New()
	require.NoError(t, o.Add(tg))
	assert.Equal(t, redundancy.StatusHealthy, o.CheckNow(ctx).Status)
	fake.Crash("web")
	require.Equal(t, redundancy.StatusUnhealthy, o.CheckNow(ctx).Targets[0].Report.Status)
	plan, err := o.Plan(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, plan)
	assert.Equal(t, pm2.VerbRestart, plan[0].Verb)

	g, err = pm2.NewTargets(ctx, &pm2.TargetConfig{}, pm2.WithClient(fake), pm2.WithName("edge"))
	require.NoError(t, err)
	assert.Equal(t, []string{"edge: no apps listed: every app the daemon knows is expected online"}, g.Notes)
	assert.Equal(t, "edge", g.Targets[0].Name)
}

func TestNewTargetsNotesAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := pm2.NewTargets(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"pm2: not configured"}, g.Notes)

	// An optional section in a home with nothing to watch.
	home := t.TempDir()
	g, err = pm2.NewTargets(ctx, &pm2.TargetConfig{Optional: true, Home: home, Binary: "/nonexistent/pm2"})
	require.NoError(t, err)
	assert.Empty(t, g.Targets)
	assert.Equal(t, []string{"pm2: not present (no PM2 daemon running in " + home + ", nor a dump to bring one back from): skipped"}, g.Notes)

	_, err = pm2.NewTargets(ctx, &pm2.TargetConfig{Client: "rpc"})
	assert.EqualError(t, err, `pm2: client: unknown client "rpc" (want auto, native or cli)`)
	_, err = pm2.NewTargets(ctx, &pm2.TargetConfig{}, pm2.WithHome("/x"))
	assert.EqualError(t, err, "pm2: NewTargets does not take option WithHome")

	// NewCLI refuses an option meant for NewTargets: every call says so.
	_, err = pm2.NewCLI(pm2.WithStore(redundancy.NewMemoryStore())).List(ctx)
	assert.EqualError(t, err, "pm2: NewCLI does not take option WithStore")
}

// With the native client the target comes with its event source: while
// the orchestrator runs, a process exiting has its target checked at once,
// although its interval is an hour.
func TestNewTargetsNativeClientComesWithItsEventSource(t *testing.T) {
	t.Parallel()
	no := false
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp, Autorestart: &no})
	d.WaitStatus(t, "web", pm2.StatusOnline, 30*time.Second)
	ctx := context.Background()

	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{Home: d.Home, Binary: d.Bin, Client: pm2.ClientCLI, Apps: []pm2.AppConfig{{Name: "web"}}})
	require.NoError(t, err)
	assert.Nil(t, g.Targets[0].Source, "the CLI has no events")

	g, err = pm2.NewTargets(ctx, &pm2.TargetConfig{Home: d.Home, Binary: d.Bin, Client: pm2.ClientNative, Apps: []pm2.AppConfig{{Name: "web"}},
		Policy: redundancy.PolicyConfig{Interval: time.Hour, FailureThreshold: 1}})
	require.NoError(t, err)
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	require.NotNil(t, tg.Source, "the native client's events come with the target")
	ec, ok := tg.Checker.(*pm2.EventChecker)
	require.True(t, ok, "%T", tg.Checker)
	assert.Contains(t, g.Notes, "pm2: native client: daemon events wake the check at once")

	o := redundancy.New()
	require.NoError(t, o.Add(tg))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	lastCheck := func() time.Time { return o.Snapshot().Targets[0].LastCheck }
	require.Eventually(t, func() bool { return !lastCheck().IsZero() && ec.Connected() }, 30*time.Second, 10*time.Millisecond,
		"the first check runs and the events are followed")
	first := lastCheck()

	d.KillApp(t, "web")
	require.Eventually(t, func() bool { return lastCheck().After(first) }, 30*time.Second, 10*time.Millisecond,
		"the exit woke the check an hour ahead of its interval")
	assert.Positive(t, ec.Woken())
}

// Reproduction (c) of issue 17, as the embedded default configures PM2
// (optional): a daemon that is down with a dump on disk is watched, found
// down and brought back with its apps; the known-good list is kept in the
// store given.
func TestNewTargetsWatchesADeadDaemonWithADump(t *testing.T) {
	t.Parallel()
	apps := []string{"web", "api", "worker"}
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp}, pm2test.App{Name: "api", Script: pm2test.AppUp},
		pm2test.App{Name: "worker", Script: pm2test.AppUp})
	for _, a := range apps {
		d.WaitStatus(t, a, pm2.StatusOnline, 30*time.Second)
	}
	d.Run(t, "save")
	d.Run(t, "kill")

	ctx := context.Background()
	store, err := redundancy.NewFileStore(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{Optional: true, Home: d.Home, Binary: d.Bin, Policy: redundancy.PolicyConfig{FailureThreshold: 1}},
		pm2.WithStore(store))
	require.NoError(t, err)
	require.Len(t, g.Targets, 1, "the dead daemon's home is watched: %v", g.Notes)
	o := redundancy.New()
	require.NoError(t, o.Add(g.Targets[0]))
	rep := o.CheckNow(ctx).Targets[0].Report
	assert.Equal(t, redundancy.StatusUnhealthy, rep.Status)
	assert.True(t, rep.Has(pm2.ProblemDaemonDown), "%v", rep.Findings)

	rs, err := o.RecoverNow(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	assert.Equal(t, pm2.VerbResurrect, rs[0].Verb)
	for _, a := range apps {
		d.WaitStatus(t, a, pm2.StatusOnline, 30*time.Second)
	}
	require.Eventually(t, func() bool { return o.CheckNow(ctx).Status == redundancy.StatusHealthy }, 30*time.Second, 100*time.Millisecond)
	k, err := pm2.NewKnownGoodList(store, d.Home, 0).Latest(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, apps, k.Names())
	assert.False(t, errors.Is(err, redundancy.ErrNoRecord))
}
