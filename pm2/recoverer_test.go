package pm2_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

func verbs(actions []redundancy.Action) []string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Verb+" "+a.Subject)
	}
	return out
}

func finding(subject string, p redundancy.Problem) redundancy.Finding {
	return redundancy.Finding{Subject: subject, Problem: p, Status: redundancy.StatusUnhealthy, Detail: "d"}
}

func TestRecovererPlans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      pm2.Config
		findings []redundancy.Finding
		want     []string // "exhausted": Plan's error wraps redundancy.ErrExhausted
	}{
		{"healthy", pm2.Config{}, nil, nil},
		{"errored", pm2.Config{}, []redundancy.Finding{finding("web", pm2.ProblemErrored)}, []string{"pm2.restart web", "pm2.save dump.pm2"}},
		{"errored and crash loop: one restart", pm2.Config{}, []redundancy.Finding{finding("web", pm2.ProblemErrored), finding("web", pm2.ProblemCrashLoop)},
			[]string{"pm2.restart web", "pm2.save dump.pm2"}},
		{"stopped and stuck", pm2.Config{}, []redundancy.Finding{finding("a", pm2.ProblemStopped), finding("b", pm2.ProblemStuck)},
			[]string{"pm2.restart a", "pm2.restart b", "pm2.save dump.pm2"}},
		{"memory", pm2.Config{}, []redundancy.Finding{finding("web", pm2.ProblemMemoryHigh)}, []string{"pm2.reload web", "pm2.save dump.pm2"}},
		{"missing with ecosystem", pm2.Config{Ecosystem: "/e.json"}, []redundancy.Finding{finding("web", pm2.ProblemMissing)},
			[]string{"pm2.start-ecosystem web", "pm2.save dump.pm2"}},
		{"missing, nothing to restore it from", pm2.Config{}, []redundancy.Finding{finding("web", pm2.ProblemMissing)}, []string{"exhausted"}},
		{"log", pm2.Config{}, []redundancy.Finding{finding("/l/web-out.log", pm2.ProblemLogLarge)}, []string{"pm2.rotate-log /l/web-out.log"}},
		{"dump only", pm2.Config{}, []redundancy.Finding{finding("dump.pm2", pm2.ProblemDumpMissing)}, []string{"pm2.save dump.pm2"}},
		{"alert only", pm2.Config{}, []redundancy.Finding{finding("web", pm2.ProblemCPUHigh), finding("/", pm2.ProblemDiskLow),
			finding("/e", pm2.ProblemEcosystemInvalid)}, nil},
		{"unresponsive without home: nothing to try", pm2.Config{}, []redundancy.Finding{finding("daemon", pm2.ProblemDaemonUnresponsive)}, []string{"exhausted"}},
		{"unresponsive with home", pm2.Config{Home: "/h"}, []redundancy.Finding{finding("daemon", pm2.ProblemDaemonUnresponsive)},
			[]string{"pm2.continue-daemon daemon"}},
		{"daemon down, no home", pm2.Config{}, []redundancy.Finding{finding("daemon", pm2.ProblemDaemonDown)},
			[]string{"pm2.resurrect daemon", "pm2.save dump.pm2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := pm2.NewRecoverer(pm2test.NewFakeClient(), tt.cfg)
			actions, err := r.Plan(context.Background(), redundancy.NewReport("x", tt.findings...))
			if len(tt.want) == 1 && tt.want[0] == "exhausted" {
				require.ErrorIs(t, err, redundancy.ErrExhausted)
				assert.Empty(t, actions)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, verbs(actions))
			for _, a := range actions {
				assert.NotEmpty(t, a.Reason)
				assert.NotNil(t, a.Do)
			}
		})
	}
}

func TestRecovererDaemonDownChoosesSource(t *testing.T) {
	t.Parallel()
	apps := []pm2.App{{Name: "web"}, {Name: "api"}}
	tests := []struct {
		name      string
		dump, bak string
		eco       string
		want      []string
	}{
		{"dump usable", `[{"name":"web"},{"name":"api"}]`, "-", "", []string{"pm2.resurrect daemon", "pm2.save dump.pm2"}},
		{"dump empty, bak good", "[]", `[{"name":"web"},{"name":"api"}]`, "/e.json",
			[]string{"pm2.restore-dump-backup dump.pm2", "pm2.resurrect daemon", "pm2.save dump.pm2"}},
		{"dump missing, bak lacks an app, ecosystem", "-", `[{"name":"web"}]`, "/e.json",
			[]string{"pm2.start-ecosystem /e.json", "pm2.save dump.pm2"}},
		{"nothing to restore from", "-", "-", "", []string{"pm2.resurrect daemon", "pm2.save dump.pm2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			for name, content := range map[string]string{pm2.DumpFile: tt.dump, pm2.DumpBackup: tt.bak} {
				if content != "-" {
					require.NoError(t, os.WriteFile(filepath.Join(home, name), []byte(content), 0o600))
				}
			}
			r := pm2.NewRecoverer(pm2test.NewFakeClient(), pm2.Config{Home: home, Apps: apps, Ecosystem: tt.eco})
			actions, err := r.Plan(context.Background(), redundancy.NewReport("down", finding("daemon", pm2.ProblemDaemonDown)))
			require.NoError(t, err)
			assert.Equal(t, tt.want, verbs(actions))
		})
	}
}

func TestRecovererActionsRepairTheFake(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.DumpBackup), []byte(`[{"name":"web","env":{"TOKEN":"s"}}]`), 0o600))
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	fake.SetHome(home)
	cfg := pm2.Config{Home: home, Apps: []pm2.App{{Name: "web"}}, LogMaxBytes: -1, MinFreeBytes: -1, Store: redundancy.NewMemoryStore()}
	checker, rec := pm2.NewChecker(fake, cfg), pm2.NewRecoverer(fake, cfg)
	run := func(t *testing.T) {
		t.Helper()
		actions, err := rec.Plan(context.Background(), checker.Check(context.Background()))
		require.NoError(t, err)
		for _, a := range actions {
			require.NoError(t, a.Do(context.Background()), a.Verb)
		}
	}

	fake.Crash("web")
	run(t)
	assert.Equal(t, pm2.StatusOnline, fake.Processes()[0].Status)
	assert.Equal(t, []string{"web"}, fake.Dump(), "saved after the repair")

	// The daemon dies and the real dump.pm2 is empty: restore the backup,
	// resurrect from it, save; both files list web again.
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.DumpFile), []byte("[]"), 0o600))
	fake.KillDaemon()
	run(t)
	assert.True(t, fake.DaemonUp())
	assert.Equal(t, 1, fake.CallCount("Resurrect"))
	assert.Equal(t, pm2.StatusOnline, fake.Processes()[0].Status)
	for _, f := range []string{pm2.DumpFile, pm2.DumpBackup} {
		assert.Equal(t, []string{"web"}, pm2.ReadDump(filepath.Join(home, f)).Names, f)
	}
	assert.Equal(t, [][]string{{"web"}, {"web"}}, fake.SavedLists())
}

func TestRecovererNilClient(t *testing.T) {
	t.Parallel()
	_, err := pm2.NewRecoverer(nil, pm2.Config{}).Plan(context.Background(), redundancy.Report{})
	require.Error(t, err)
}

// An app found errored that is online again by the time its restart runs
// (PM2's autorestart, or a person, brought it back) is not restarted a
// second time: the action reads the process list again.
func TestRestartSparesAnAppBackOnline(t *testing.T) {
	t.Parallel()
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", ID: 0, Status: pm2.StatusOnline, PID: 4242})
	fake.Crash("web")
	r := pm2.NewRecoverer(fake, pm2.Config{})
	rep := redundancy.Report{Status: redundancy.StatusUnhealthy, Findings: []redundancy.Finding{finding("web", pm2.ProblemErrored)}}
	actions, err := r.Plan(context.Background(), rep)
	require.NoError(t, err)
	require.Equal(t, []string{"pm2.restart web", "pm2.save dump.pm2"}, verbs(actions))

	fake.SetStatus("web", pm2.StatusOnline)
	require.NoError(t, actions[0].Do(context.Background()))
	assert.Zero(t, fake.CallCount("Restart"), "online again: not restarted")

	fake.Crash("web") // still errored when the action runs: restarted
	actions, err = r.Plan(context.Background(), rep)
	require.NoError(t, err)
	require.NoError(t, actions[0].Do(context.Background()))
	assert.Equal(t, 1, fake.CallCount("Restart"))
}
