package pm2_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
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

// grig is a checker and a recoverer sharing a Store, on a fake PM2 that
// keeps its dump files in a temporary home.
type grig struct {
	fake  *pm2test.FakeClient
	home  string
	cfg   pm2.Config
	c     *pm2.Checker
	r     *pm2.Recoverer
	clock *redundancytest.FakeClock
}

// newGrig starts a fake running procs (every app with autorestart) under
// cfg (Home, Store and Clock are set here), saves twice and checks once,
// so that both dump files and the known-good list hold the apps.
func newGrig(t *testing.T, cfg pm2.Config, procs ...pm2.Process) *grig {
	t.Helper()
	home := t.TempDir()
	for i := range procs {
		procs[i].Autorestart = true
	}
	fake := pm2test.NewFakeClient(procs...)
	fake.SetHome(home)
	clock := redundancytest.NewFakeClock(t0)
	cfg.Home, cfg.Clock = home, clock
	if cfg.Store == nil {
		cfg.Store = redundancy.NewMemoryStore()
	}
	cfg.LogMaxBytes, cfg.MinFreeBytes, cfg.SaveSettle = -1, -1, -1
	g := &grig{fake: fake, home: home, cfg: cfg, c: pm2.NewChecker(fake, cfg), r: pm2.NewRecoverer(fake, cfg), clock: clock}
	ctx := context.Background()
	require.NoError(t, fake.Save(ctx))
	require.NoError(t, fake.Save(ctx))
	rep := g.c.Check(ctx)
	require.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	return g
}

// step checks, plans and runs the plan until an action fails, as one
// recovery attempt does. It returns the report, the actions run ("verb
// subject", failures marked) and Plan's error.
func (g *grig) step(t *testing.T) (redundancy.Report, []string, error) {
	t.Helper()
	g.clock.Advance(time.Minute)
	ctx := context.Background()
	rep := g.c.Check(ctx)
	actions, err := g.r.Plan(ctx, rep)
	var ran []string
	for _, a := range actions {
		s := a.Verb + " " + a.Subject
		if err := a.Do(ctx); err != nil {
			ran = append(ran, s+" FAILED")
			break
		}
		ran = append(ran, s)
	}
	return rep, ran, err
}

// files returns the names dump.pm2 and dump.pm2.bak list.
func (g *grig) files() (dump, bak []string) {
	return uniqNames(pm2.ReadDump(filepath.Join(g.home, pm2.DumpFile)).Names),
		uniqNames(pm2.ReadDump(filepath.Join(g.home, pm2.DumpBackup)).Names)
}

func uniqNames(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (g *grig) online(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		found := false
		for _, p := range g.fake.Processes() {
			if p.Name == n {
				found = true
				assert.Equal(t, pm2.StatusOnline, p.Status, n)
			}
		}
		assert.True(t, found, "%s runs", n)
	}
}

var threeApps = []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "worker"}}

func threeProcs() []pm2.Process {
	return []pm2.Process{{Name: "web"}, {Name: "api"}, {Name: "worker"}}
}

// Reproduction (a) on the fake: three apps in config, no ecosystem file,
// pm2 delete worker, then pm2 stop web.
func TestGuardDeletedAndStoppedAppsComeBackAndNoSaveDropsOne(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	ctx := context.Background()
	require.NoError(t, g.fake.Delete(ctx, "worker"))
	require.NoError(t, g.fake.Stop(ctx, "web"))

	rep, ran, err := g.step(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"web pm2.stopped", "worker pm2.missing"}, problems(rep))
	assert.Equal(t, []string{"pm2.restart web", "pm2.restore-app worker", "pm2.save dump.pm2"}, ran)
	g.online(t, "web", "api", "worker")
	dump, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, dump)
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak)
	for _, saved := range g.fake.SavedLists() {
		assert.Subset(t, saved, []string{"web", "api", "worker"}, "no save wrote a list without an app")
	}
	rep, ran, err = g.step(t)
	require.NoError(t, err)
	assert.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	assert.Empty(t, ran)
}

func TestGuardedSaveRefusesWhileAnAppIsMissingOrDown(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: []pm2.App{{Name: "web"}, {Name: "api"}, {Name: "job", StopOK: true}}},
		pm2.Process{Name: "web"}, pm2.Process{Name: "api"}, pm2.Process{Name: "job"})
	ctx := context.Background()
	// A finding the guarded save answers: dump.pm2 lacks apps.
	require.NoError(t, os.WriteFile(filepath.Join(g.home, pm2.DumpFile), []byte(`[{"name":"web"}]`), 0o600))
	saves := len(g.fake.SavedLists())
	save := func() error {
		actions, err := g.r.Plan(ctx, g.c.Check(ctx))
		require.NoError(t, err)
		i := slices.IndexFunc(actions, func(a redundancy.Action) bool { return a.Verb == pm2.VerbSave })
		require.GreaterOrEqual(t, i, 0, "a save is planned")
		return actions[i].Do(ctx)
	}

	require.NoError(t, g.fake.Stop(ctx, "job"))
	g.fake.SetStatus("api", pm2.StatusLaunching)
	err := save()
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	assert.Contains(t, err.Error(), "api is launching")
	g.fake.SetStatus("api", pm2.StatusOnline)
	require.NoError(t, g.fake.Delete(ctx, "api"))
	err = save()
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	assert.Contains(t, err.Error(), "api is missing")
	assert.Len(t, g.fake.SavedLists(), saves, "nothing was saved")

	require.NoError(t, g.fake.StartEcosystem(ctx, writeEco(t, "api"), "api"))
	require.NoError(t, save(), "a stopped StopOK app does not hold the save")
	dump, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "job"}, dump)
	assert.ElementsMatch(t, []string{"web", "api", "job"}, bak, "the lacking dump moved to the backup was replaced")
}

// writeEco writes a JSON ecosystem file declaring apps.
func writeEco(t *testing.T, apps ...string) string {
	t.Helper()
	var parts []string
	for _, a := range apps {
		parts = append(parts, `{"name":"`+a+`","script":"/srv/`+a+`.js"}`)
	}
	p := filepath.Join(t.TempDir(), "eco.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"apps":[`+strings.Join(parts, ",")+`]}`), 0o600))
	return p
}

// racySave deletes an app just before saving, as a pm2 delete between the
// guard's look and PM2's own would.
type racySave struct {
	*pm2test.FakeClient
	victim string
}

func (c racySave) Save(ctx context.Context) error {
	_ = c.FakeClient.Delete(ctx, c.victim)
	return c.FakeClient.Save(ctx)
}

func TestGuardedSaveUndoesASaveThatLostAnApp(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	ctx := context.Background()
	racy := racySave{FakeClient: g.fake, victim: "worker"}
	r := pm2.NewRecoverer(racy, g.cfg)
	require.NoError(t, g.fake.Stop(ctx, "web"))
	actions, err := r.Plan(ctx, g.c.Check(ctx))
	require.NoError(t, err)
	require.Equal(t, []string{"pm2.restart web", "pm2.save dump.pm2"}, verbs(actions))
	require.NoError(t, actions[0].Do(ctx))
	err = actions[1].Do(ctx)
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	assert.Contains(t, err.Error(), "lacking worker")
	dump, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, dump, "the dump PM2 had was put back")
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak)
}

func TestGuardRepairsTheBackupAlone(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	require.NoError(t, os.WriteFile(filepath.Join(g.home, pm2.DumpBackup), []byte(`[{"name":"web"}]`), 0o600))
	rep, ran, err := g.step(t)
	require.NoError(t, err)
	assert.Equal(t, []string{bakLacking}, problems(rep))
	assert.Equal(t, []string{"pm2.repair-dump-backup dump.pm2.bak"}, ran)
	_, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak)
	assert.Len(t, g.fake.SavedLists(), 2, "no save needed for that")
}

func TestKnownGoodListGuardsWhenNoAppsAreConfigured(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{}, threeProcs()...)
	ctx := context.Background()
	kl := pm2.NewKnownGoodList(g.cfg.Store, g.home, 0)
	k, err := kl.Latest(ctx)
	require.NoError(t, err, "the healthy first check recorded the list")
	assert.Equal(t, []string{"web", "api", "worker"}, k.Names())
	assert.Equal(t, "/fake/web.js", k.Apps[0].Script, "definitions come from the dump PM2 wrote")

	// pm2 delete worker, then someone saves by hand: the dump shrinks. The
	// guard sees worker missing and both files short of the list.
	require.NoError(t, g.fake.Delete(ctx, "worker"))
	require.NoError(t, g.fake.Save(ctx))
	rep, ran, err := g.step(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"worker pm2.missing", "dump.pm2 pm2.dump-incomplete"}, problems(rep))
	assert.Equal(t, []string{"pm2.restore-app worker", "pm2.save dump.pm2"}, ran, "restored from dump.pm2.bak's entry")
	dump, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, dump)
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak)

	// A new app joins the list once saved from a healthy daemon.
	g.fake.AddProcess(pm2.Process{Name: "cron"})
	_, ran, err = g.step(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"pm2.save dump.pm2"}, ran)
	k, err = kl.Latest(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"web", "api", "worker", "cron"}, k.Names())

	// Forgetting an app lets it go.
	require.NoError(t, kl.Forget(ctx, g.clock.Now(), "cron"))
	require.NoError(t, g.fake.Delete(ctx, "cron"))
	rep, _, err = g.step(t)
	require.NoError(t, err)
	assert.NotContains(t, problems(rep), "cron pm2.missing")
}

func TestGuardSeesNoEnvironment(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{}, threeProcs()...)
	ctx := context.Background()
	require.NoError(t, g.fake.Delete(ctx, "web"))
	rep, _, err := g.step(t)
	require.NoError(t, err)
	hist, err := pm2.NewKnownGoodList(g.cfg.Store, g.home, 0).History(ctx)
	require.NoError(t, err)
	for _, k := range hist {
		for _, a := range k.Apps {
			assert.NotContains(t, strings.Join(append(a.Args, a.Script, a.Cwd), " "), pm2test.FakeSecret)
		}
	}
	for _, f := range rep.Findings {
		assert.NotContains(t, f.Detail, pm2test.FakeSecret)
	}
	data, err := g.cfg.Store.Load(ctx, pm2.NewKnownGoodList(g.cfg.Store, g.home, 0).Key())
	require.NoError(t, err)
	assert.NotContains(t, string(data), pm2test.FakeSecret)
	assert.NotContains(t, string(data), "FAKE_SECRET")
}

func TestCheckerDaemonTimeoutIsNotTheCheckTimeout(t *testing.T) {
	t.Parallel()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	fake.FailNext("Ping", redundancytest.Fault{Hang: true, Times: -1})
	c := pm2.NewChecker(fake, pm2.Config{DaemonTimeout: 50 * time.Millisecond, LogMaxBytes: -1, MinFreeBytes: -1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	rep := c.Check(ctx)
	require.NoError(t, rep.Err)
	assert.Equal(t, []string{"daemon pm2.daemon-unresponsive"}, problems(rep))
	assert.Contains(t, rep.Findings[0].Detail, "within 50ms")
	assert.Zero(t, fake.CallCount("List"), "a daemon that does not answer a ping is not asked for its list")
	assert.NoError(t, ctx.Err(), "the check did not use its own hour")
}

// A save that loses an app puts both dump files back as they were before
// it: when the dump it replaced already lacked an app (dump.pm2.bak was
// the only complete list), nothing PM2's save moved into the backup is
// lost.
func TestGuardedSaveThatLostAnAppKeepsTheOnlyCompleteBackup(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	ctx := context.Background()
	// dump.pm2 lacks api (a save by hand while it was away); the backup
	// is complete.
	dumpPath := filepath.Join(g.home, pm2.DumpFile)
	b, err := os.ReadFile(dumpPath)
	require.NoError(t, err)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal(b, &entries))
	entries = slices.DeleteFunc(entries, func(e map[string]any) bool { return e["name"] == "api" })
	b, err = json.Marshal(entries)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dumpPath, b, 0o600))

	racy := racySave{FakeClient: g.fake, victim: "api"}
	r := pm2.NewRecoverer(racy, g.cfg)
	require.NoError(t, g.fake.Stop(ctx, "web"))
	actions, err := r.Plan(ctx, g.c.Check(ctx))
	require.NoError(t, err)
	require.Equal(t, []string{"pm2.restart web", "pm2.save dump.pm2"}, verbs(actions))
	require.NoError(t, actions[0].Do(ctx))
	err = actions[1].Do(ctx)
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	dump, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak, "the only complete list stays in dump.pm2.bak")
	assert.ElementsMatch(t, []string{"web", "worker"}, dump, "dump.pm2 is as it was")
}

// Repairing dump.pm2.bak never erases an app only it lists: a backup
// that lacks a guarded app but lists one dump.pm2 lacks is kept aside
// before the complete dump replaces it.
func TestGuardRepairOfTheBackupKeepsWhatOnlyItLists(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	require.NoError(t, os.WriteFile(filepath.Join(g.home, pm2.DumpBackup), []byte(`[{"name":"web"},{"name":"legacy"}]`), 0o600))
	rep, ran, err := g.step(t)
	require.NoError(t, err)
	assert.Equal(t, []string{bakLacking}, problems(rep))
	assert.Equal(t, []string{"pm2.repair-dump-backup dump.pm2.bak"}, ran)
	_, bak := g.files()
	assert.ElementsMatch(t, []string{"web", "api", "worker"}, bak)
	kept := pm2.ReadDump(filepath.Join(g.home, pm2.DumpBackupReplaced))
	assert.Equal(t, []string{"web", "legacy"}, kept.Names, "legacy is kept")
}
