package pm2_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestLadderErroredAppRestartsThenRecreatesThenEscalates(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps, RestartTries: 2}, threeProcs()...)
	ctx := context.Background()

	// A dry run plans the first rung and moves nothing.
	g.fake.Crash("web")
	for range 3 {
		actions, err := g.r.Plan(ctx, g.c.Check(ctx))
		require.NoError(t, err)
		assert.Equal(t, []string{"pm2.restart web", "pm2.save dump.pm2"}, verbs(actions))
	}

	// The app keeps crashing after each repair.
	var rungs []string
	for range 3 {
		g.fake.Crash("web")
		_, ran, err := g.step(t)
		require.NoError(t, err)
		rungs = append(rungs, ran[0])
	}
	assert.Equal(t, []string{"pm2.restart web", "pm2.restart web", "pm2.recreate web"}, rungs)
	assert.Equal(t, 1, g.fake.CallCount("Delete"))
	assert.Equal(t, 1, g.fake.CallCount("RestoreApp"), "re-added from its dump.pm2 entry")

	g.fake.Crash("web")
	_, ran, err := g.step(t)
	require.ErrorIs(t, err, redundancy.ErrExhausted)
	assert.Empty(t, ran)
	assert.Contains(t, err.Error(), "every repair was tried")

	// Healthy again: the ladder starts over.
	require.NoError(t, g.fake.Restart(ctx, "web"))
	rep, _, err := g.step(t)
	require.NoError(t, err)
	require.Equal(t, redundancy.StatusHealthy, rep.Status)
	g.fake.Crash("web")
	_, ran, err = g.step(t)
	require.NoError(t, err)
	assert.Equal(t, "pm2.restart web", ran[0])
}

func TestLadderIsForgottenAfterLadderReset(t *testing.T) {
	t.Parallel()
	// Checker and recoverer with their own stores: only the age of a rung
	// resets the recoverer's ladder.
	g := newGrig(t, pm2.Config{Apps: threeApps, RestartTries: 1, LadderReset: 10 * time.Minute}, threeProcs()...)
	cfg := g.cfg
	cfg.Store = nil
	r := pm2.NewRecoverer(g.fake, cfg)
	ctx := context.Background()
	run := func() string {
		g.fake.Crash("web")
		actions, err := r.Plan(ctx, g.c.Check(ctx))
		require.NoError(t, err)
		require.NoError(t, actions[0].Do(ctx))
		return actions[0].Verb
	}
	assert.Equal(t, pm2.VerbRestart, run())
	g.clock.Advance(time.Minute)
	assert.Equal(t, pm2.VerbRecreate, run())
	g.clock.Advance(11 * time.Minute)
	assert.Equal(t, pm2.VerbRestart, run(), "a rung tried longer ago than LadderReset is forgotten")
}

func TestLadderMissingAppTriesEachSource(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	g.cfg.Ecosystem = writeEco(t, "web", "api", "worker")
	g.c, g.r = pm2.NewChecker(g.fake, g.cfg), pm2.NewRecoverer(g.fake, g.cfg)
	ctx := context.Background()
	require.NoError(t, g.fake.Delete(ctx, "worker"))

	// Each source fails in turn; each attempt climbs one rung.
	type want struct{ verb, reason, fail string }
	for _, w := range []want{
		{pm2.VerbRestoreApp, "from dump.pm2", "RestoreApp"},
		{pm2.VerbRestoreApp, "from dump.pm2.bak", "RestoreApp"},
		{pm2.VerbStartEcosystem, "from the ecosystem file", "StartEcosystem"},
		{pm2.VerbStartKnownGood, "from its known-good definition", ""},
	} {
		if w.fail != "" {
			g.fake.FailNext(w.fail, redundancytest.Fault{Err: errors.New("failed")})
		}
		actions, err := g.r.Plan(ctx, g.c.Check(ctx))
		require.NoError(t, err)
		require.NotEmpty(t, actions)
		assert.Equal(t, w.verb, actions[0].Verb)
		assert.Contains(t, actions[0].Reason, w.reason)
		err = actions[0].Do(ctx)
		assert.Equal(t, w.fail != "", err != nil, "%s: %v", w.verb, err)
		g.clock.Advance(time.Minute)
	}
	g.online(t, "worker")
	last := g.fake.Calls()
	var eco []string
	for _, c := range last {
		if c.Method == "StartEcosystem" {
			eco = append(eco, c.Args[len(c.Args)-1])
		}
	}
	assert.Equal(t, []string{"worker", "worker"}, eco, "the ecosystem rung, then the known-good one (a private ecosystem file), each --only worker")
}

func TestLadderDaemonDown(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	g.cfg.Ecosystem = writeEco(t, "web", "api", "worker")
	g.c, g.r = pm2.NewChecker(g.fake, g.cfg), pm2.NewRecoverer(g.fake, g.cfg)
	g.fake.KillDaemon()
	g.fake.FailNext("Resurrect", redundancytest.Fault{Err: errors.New("resurrect failed"), Times: 2})
	g.fake.FailNext("StartEcosystem", redundancytest.Fault{Err: errors.New("start failed")})

	var ran [][]string
	for range 5 {
		_, r, err := g.step(t)
		if errors.Is(err, redundancy.ErrExhausted) {
			ran = append(ran, []string{"escalated"})
			break
		}
		require.NoError(t, err)
		ran = append(ran, r)
		if g.fake.DaemonUp() {
			break
		}
	}
	assert.Equal(t, [][]string{
		{"pm2.resurrect daemon FAILED"},
		{"pm2.restore-dump-backup dump.pm2", "pm2.resurrect daemon FAILED"},
		{"pm2.start-ecosystem " + g.cfg.Ecosystem + " FAILED"},
		{"pm2.start-known-good web", "pm2.start-known-good api", "pm2.start-known-good worker", "pm2.save dump.pm2"},
	}, ran)
	g.online(t, "web", "api", "worker")
}

func TestLadderDaemonDownEscalatesWhenNothingRestores(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps}, threeProcs()...)
	ctx := context.Background()
	g.fake.KillDaemon()
	// Nothing saved is left, and no list was kept (another store).
	require.NoError(t, os.Remove(filepath.Join(g.home, pm2.DumpFile)))
	require.NoError(t, os.Remove(filepath.Join(g.home, pm2.DumpBackup)))
	cfg := g.cfg
	cfg.Store = redundancy.NewMemoryStore()
	c, r := pm2.NewChecker(g.fake, cfg), pm2.NewRecoverer(g.fake, cfg)
	actions, err := r.Plan(ctx, c.Check(ctx))
	require.NoError(t, err)
	assert.Equal(t, []string{"pm2.resurrect daemon", "pm2.save dump.pm2"}, verbs(actions), "the daemon comes back empty")
	require.NoError(t, actions[0].Do(ctx))
	_, err = r.Plan(ctx, c.Check(ctx))
	require.ErrorIs(t, err, redundancy.ErrExhausted, "the apps are missing and nothing can restore them")
}

func TestLadderHungDaemon(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps, DaemonTimeout: 20 * time.Millisecond}, threeProcs()...)
	g.fake.FailNext("Ping", redundancytest.Fault{Hang: true, Times: -1})
	var got [][]string
	for range 3 {
		rep, ran, err := g.step(t)
		require.True(t, rep.Has(pm2.ProblemDaemonUnresponsive), rep.Summary)
		if errors.Is(err, redundancy.ErrExhausted) {
			got = append(got, []string{"escalated"})
			break
		}
		require.NoError(t, err)
		got = append(got, ran)
	}
	// The fake has no daemon process: SIGCONT and the kill fail (no pid
	// file), and each failure climbs a rung.
	assert.Equal(t, [][]string{
		{"pm2.continue-daemon daemon FAILED"},
		{"pm2.kill-daemon daemon FAILED"},
		{"escalated"},
	}, got)
}

// The delete-and-re-add rung spares an app that came back online between
// the check and the action: deleting it then would only take it down.
func TestRecreateSparesAnAppBackOnline(t *testing.T) {
	t.Parallel()
	g := newGrig(t, pm2.Config{Apps: threeApps, RestartTries: 1}, threeProcs()...)
	ctx := context.Background()
	g.fake.Crash("web")
	actions, err := g.r.Plan(ctx, g.c.Check(ctx))
	require.NoError(t, err)
	require.NoError(t, actions[0].Do(ctx)) // the restart rung
	g.clock.Advance(time.Minute)

	g.fake.Crash("web")
	actions, err = g.r.Plan(ctx, g.c.Check(ctx))
	require.NoError(t, err)
	require.Equal(t, pm2.VerbRecreate, actions[0].Verb)
	g.fake.SetStatus("web", pm2.StatusOnline) // PM2 (or a person) brought it back
	require.NoError(t, actions[0].Do(ctx))
	assert.Zero(t, g.fake.CallCount("Delete"), "not deleted")
	assert.Equal(t, pm2.StatusOnline, procStatus(t, g.fake, "web"))
}

func procStatus(t *testing.T, c pm2.Client, name string) pm2.ProcessStatus {
	t.Helper()
	procs, err := c.List(context.Background())
	require.NoError(t, err)
	for _, p := range procs {
		if p.Name == name {
			return p.Status
		}
	}
	return ""
}
