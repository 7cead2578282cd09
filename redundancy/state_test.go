package redundancy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestStateSurvivesANewOrchestrator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	p := fastPolicy()
	p.Backoff = redundancy.Backoff{Base: time.Second, Jitter: -1}
	p.Budget = redundancy.Budget{Max: 2, Window: time.Hour}
	unhealthy := redundancytest.NewChecker(redundancytest.Unhealthy("web"))

	o1, clock := newOrch(t, redundancy.WithStateFile(path))
	rec := redundancytest.NewRecoverer()
	require.NoError(t, o1.Add(redundancy.Target{Name: "web", Checker: unhealthy, Recoverer: rec, Policy: p}))
	for range 5 {
		o1.Tick(ctx)
		clock.Advance(time.Second)
	}
	before, _ := o1.Target("web")
	require.True(t, before.Escalated)
	require.Len(t, before.History, 2)

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.tmp-*"))
	assert.Empty(t, leftovers, "no temporary files left behind")

	// A restarted orchestrator resumes: still escalated, budget spent, history kept.
	o2 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	rec2 := redundancytest.NewRecoverer()
	require.NoError(t, o2.Add(redundancy.Target{Name: "web", Checker: unhealthy, Recoverer: rec2, Policy: p}))
	after, _ := o2.Target("web")
	assert.True(t, after.Escalated)
	assert.Zero(t, after.BudgetLeft)
	assert.Equal(t, before.Recoveries, after.Recoveries)
	assert.Equal(t, redundancy.StatusUnhealthy, after.Status)
	require.Len(t, after.History, 2)
	assert.Equal(t, "test.fix", after.History[0].Verb)
	o2.Tick(ctx)
	assert.Empty(t, rec2.Runs(), "the restored escalation holds")
}

func TestStateKeepsLast100Actions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	o, _ := newOrch(t, redundancy.WithStateFile(path))
	rec := redundancytest.NewRecoverer("a", "b", "c")
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	for range 40 {
		_, err := o.RecoverNow(ctx, []string{"web"}, redundancy.Force())
		require.NoError(t, err)
	}
	st, _ := o.Target("web")
	assert.Len(t, st.History, 100)
	var raw struct {
		Targets map[string]struct {
			History []json.RawMessage `json:"history"`
		} `json:"targets"`
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Len(t, raw.Targets["web"].History, 100)
}

func TestCorruptStateFileIsSetAside(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"garbage":     "{not json",
		"new version": `{"version": 99, "targets": {}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			var mu sync.Mutex
			var got []redundancy.Event
			n := redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
				mu.Lock()
				got = append(got, e)
				mu.Unlock()
				return nil
			})
			o, _ := newOrch(t, redundancy.WithStateFile(path), redundancy.WithNotifier(n))
			mu.Lock()
			require.Len(t, got, 1)
			assert.Equal(t, redundancy.EventStateDiscarded, got[0].Kind)
			assert.Contains(t, got[0].Err.Error(), "set aside as")
			mu.Unlock()

			aside, _ := filepath.Glob(path + ".corrupt-*")
			require.Len(t, aside, 1, "the bad file is renamed, never deleted")
			kept, err := os.ReadFile(aside[0])
			require.NoError(t, err)
			assert.Equal(t, content, string(kept))

			// The orchestrator starts fresh and writes a good file.
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
			o.Tick(context.Background())
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, json.Valid(data))
		})
	}
}

func TestUnwritableStateFileDoesNotStopTheOrchestrator(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing-dir", "state.json")
	o, _ := newOrch(t, redundancy.WithStateFile(path))
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
	s := o.Tick(context.Background())
	assert.Equal(t, redundancy.StatusHealthy, s.Status)
}

func TestRunSavesState(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Policy: redundancy.Policy{Interval: time.Hour, FailureThreshold: 1}}))
	cancel, done := startRun(t, o)
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(data), `"status": "unhealthy"`)
	}, 5*time.Second, time.Millisecond, "the check's result reaches the state file while Run runs")
	cancel()
	require.NoError(t, <-done)
}
