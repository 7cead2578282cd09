package redundancy_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/fsutil"
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

// A state record no orchestrator writes is corrupt: the file is set aside.
func TestInvalidStateRecordsAreSetAside(t *testing.T) {
	t.Parallel()
	for name, rec := range map[string]string{
		"negative failures":      `{"status":"healthy","failures":-1}`,
		"negative recoveries":    `{"status":"healthy","recoveries":-5}`,
		"backoff above attempts": `{"status":"healthy","backoff_n":9,"recoveries":2}`,
		"absurd counter":         `{"status":"healthy","failures":9000000000000000000}`,
		"null record":            `null`,
		"unknown status":         `{"status":"splendid"}`,
		"numeric status":         `{"status":7}`,
		"far future backoff":     `{"status":"unhealthy","backoff_n":1,"recoveries":1,"next_attempt":"2999-01-01T00:00:00Z"}`,
		"negative tries":         `{"status":"healthy","recoveries":1,"history":[{"target":"web","verb":"x","tries":-2,"started":"2026-03-01T11:00:00Z"}]}`,
		"history over the limit": `{"status":"healthy","history":[` + strings.TrimSuffix(strings.Repeat(`{"target":"web","verb":"x"},`, 101), ",") + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.json")
			content := `{"version":1,"targets":{"web":` + rec + `}}`
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			var got []redundancy.Event
			var mu sync.Mutex
			o, _ := newOrch(t, redundancy.WithStateFile(path), redundancy.WithNotifier(redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
				mu.Lock()
				got = append(got, e)
				mu.Unlock()
				return nil
			})))
			mu.Lock()
			require.Len(t, got, 1)
			assert.Equal(t, redundancy.EventStateDiscarded, got[0].Kind)
			mu.Unlock()
			aside, _ := filepath.Glob(path + ".corrupt-*")
			require.Len(t, aside, 1)
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
			st, _ := o.Target("web")
			assert.Zero(t, st.Recoveries, "started fresh")
			assert.Zero(t, st.ConsecutiveFailures)
		})
	}
}

// A state file over MaxStateFileSize is set aside without being read.
func TestOversizedStateFileIsSetAside(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	require.NoError(t, os.Truncate(path, redundancy.MaxStateFileSize+1)) // sparse: no disk used
	var got []redundancy.Event
	o, _ := newOrch(t, redundancy.WithStateFile(path), redundancy.WithNotifier(redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
		got = append(got, e)
		return nil
	})))
	require.Len(t, got, 1)
	assert.ErrorIs(t, got[0].Err, fsutil.ErrTooLarge)
	aside, _ := filepath.Glob(path + ".corrupt-*")
	require.Len(t, aside, 1)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
	o.Tick(context.Background())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(4096), "a fresh, small file replaces it")
}

// A state path that is a device or a FIFO is never read (so /dev/zero
// cannot exhaust memory and a FIFO cannot hang New), never renamed and
// never written: the state is not persisted, and that is reported.
func TestStatePathThatIsNotARegularFile(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "state.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, path := range []string{"/dev/zero", fifo} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			var got []redundancy.Event
			o, _ := newOrch(t, redundancy.WithStateFile(path), redundancy.WithNotifier(redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
				got = append(got, e)
				return nil
			})))
			require.Len(t, got, 1)
			assert.Equal(t, redundancy.EventStateDiscarded, got[0].Kind)
			assert.ErrorIs(t, got[0].Err, fsutil.ErrNotRegular)
			assert.Contains(t, got[0].Err.Error(), "not persisted")
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
			o.Tick(context.Background())
			assert.Zero(t, redundancy.StateWrites(o), "never written")
			info, err := os.Lstat(path)
			require.NoError(t, err)
			assert.False(t, info.Mode().IsRegular(), "left as it was")
			aside, _ := filepath.Glob(path + ".corrupt-*")
			assert.Empty(t, aside)
		})
	}
}

// The records of targets no longer configured are kept until the first
// Tick or Run, then dropped (and logged), so the file does not grow forever.
func TestStaleStateRecordsAreDroppedOnceRunning(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	o1, clock := newOrch(t, redundancy.WithStateFile(path))
	for _, n := range []string{"web", "gone"} {
		require.NoError(t, o1.Add(redundancy.Target{Name: n, Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
	}
	o1.Tick(context.Background())

	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	o2 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path), redundancy.WithLogger(logger))
	require.NoError(t, o2.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
	o2.CheckNow(context.Background()) // not started yet: "gone" is kept
	assert.Contains(t, readTargets(t, path), "gone")
	o2.Tick(context.Background())
	assert.Equal(t, []string{"web"}, readTargets(t, path))
	assert.Contains(t, logs.String(), "dropped the records of targets no longer configured")
	assert.Contains(t, logs.String(), "gone")
}

func readTargets(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var sf struct {
		Targets map[string]json.RawMessage `json:"targets"`
	}
	require.NoError(t, json.Unmarshal(data, &sf))
	var names []string
	for n := range sf.Targets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Under Run the state file is written at most once a second however often
// targets are checked, and always when Run returns.
func TestRunThrottlesStateWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	ch := redundancytest.NewChecker()
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: redundancy.Policy{Interval: time.Hour}}))
	cancel, done := startRun(t, o)
	for i := range 200 { // a storm of triggered checks, the clock standing still
		require.Eventually(t, func() bool { return ch.Calls() == i+1 }, 5*time.Second, time.Millisecond)
		o.Trigger("web")
	}
	require.Eventually(t, func() bool { return ch.Calls() == 201 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, redundancy.StateWrites(o), "one write for 201 checks within the same second")

	clock.Advance(time.Second)
	require.Eventually(t, func() bool { return redundancy.StateWrites(o) == 2 }, 5*time.Second, time.Millisecond,
		"the pending changes are written once the second has passed")
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, 3, redundancy.StateWrites(o), "and once more at shutdown")
}

// FuzzStateFile feeds arbitrary bytes to the state loader: it never panics
// nor hangs, and whatever it accepts leaves a target in a sane state.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"targets":{"web":{"status":"unhealthy","failures":3,"backoff_n":1,"recoveries":2,"escalated":true,"attempts":["2026-03-01T11:59:00Z"],"history":[{"target":"web","verb":"x","tries":1,"started":"2026-03-01T11:59:00Z","error":"boom"}]}}}`))
	f.Add([]byte(`{"version":1,"targets":{"web":{"failures":-1}}}`))
	f.Add([]byte(`{"version":1,"targets":{"web":{"status":"unhealthy","failures":3,"alerts":{"alerts":[{"problem":"test.down","state":"open","severity":"critical","first_seen":"2026-03-01T11:59:00Z","sent":true,"sent_severity":"critical","notified":1,"free":2}],"flap":{"problem":"redundancy.flapping","state":"open","severity":"warning","first_seen":"2026-03-01T11:00:00Z"},"bad_since":"2026-03-01T11:59:00Z","in_episode":true,"episode_start":"2026-03-01T11:59:00Z","episodes":["2026-03-01T11:59:00Z"]},"attempt_log":[{"recovery":1,"started":"2026-03-01T11:59:00Z","outcome":"succeeded then failed again"}]}},"silences":[{"id":"a","target":"web","until":"2026-03-01T13:00:00Z"},{"id":"b","target":"*","every":"0 2 * * *","duration":"1h","time_zone":"Nowhere/X"},{"id":"c","target":"*","every":"@daily","duration":"30m"}]}`))
	f.Add([]byte(`{"version":1,"targets":{"web":{"alerts":{"alerts":[{"problem":"x","state":"resolved","severity":"nope"},null]}}}}`))
	f.Add([]byte(`{"version":1,"targets":{"web":null,"other":{}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		clock := redundancytest.NewFakeClock(t0)
		o := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
		rec := redundancytest.NewRecoverer()
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
		st, _ := o.Target("web")
		assert.GreaterOrEqual(t, st.ConsecutiveFailures, 0)
		assert.GreaterOrEqual(t, st.Recoveries, 0)
		assert.LessOrEqual(t, len(st.History), 100)
		assert.GreaterOrEqual(t, st.BudgetLeft, 0)
		s := o.Tick(context.Background())
		require.Len(t, s.Targets, 1)
		if !s.Targets[0].NextAttempt.IsZero() {
			assert.False(t, s.Targets[0].NextAttempt.After(clock.Now().Add(redundancy.DefaultBackoffMax*2)), "no absurd backoff")
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, json.Valid(data), "a valid file is written back")
	})
}
