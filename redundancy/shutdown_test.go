package redundancy_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// When Run's context ends in the middle of a plan: the action in flight
// finishes (its context is not cancelled), no further action, check or
// attempt starts, the results are recorded (history, events, state file),
// then Run returns.
func TestShutdownStopsStartingWorkAndRecordsTheActionInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New(redundancy.WithStateFile(path))
		release := make(chan struct{})
		var actionCtxErr error
		rec := redundancytest.NewRecoverer("first", "second", "third")
		rec.OnRun = func(ctx context.Context, verb string) error {
			<-release
			actionCtxErr = ctx.Err()
			return nil
		}
		web := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
		other := redundancytest.NewChecker()
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: web, Recoverer: rec, Policy: fastPolicy()}))
		require.NoError(t, o.Add(redundancy.Target{Name: "other", Checker: other, Policy: fastPolicy()}))
		recorder := redundancytest.NewRecorder(o)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait() // "first" is running
		require.Equal(t, []string{"first"}, rec.Runs())
		cancel()
		time.Sleep(time.Minute) // in the bubble: a minute of fake time, in which nothing new may start
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Run returned while an action was in flight")
		default:
		}
		assert.Equal(t, 1, other.Calls(), "no new check after shutdown began")
		close(release)
		require.NoError(t, <-done)

		assert.NoError(t, actionCtxErr, "the action in flight was not cancelled")
		assert.Equal(t, []string{"first"}, rec.Runs(), "no further action of the plan")
		assert.Equal(t, 1, web.Calls(), "no new check")
		assert.Equal(t, 1, recorder.Count(redundancy.EventRecoveryStarted), "no new attempt")
		assert.Equal(t, 1, recorder.Count(redundancy.EventActionSucceeded))
		failed := recorder.WaitFor(t, redundancy.EventRecoveryFailed, time.Second)
		assert.ErrorIs(t, failed.Err, redundancy.ErrInterrupted)
		assert.Contains(t, failed.Err.Error(), "2 of 3 actions not started")
		st, _ := o.Target("web")
		require.Len(t, st.History, 1)
		assert.Equal(t, "first", st.History[0].Verb)
	})
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"verb": "first"`, "the state file was written with the result")
}

// A retry pause is cut short by shutdown: the last error is kept and the
// action is not tried again.
func TestShutdownCutsARetryPauseShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New()
		rec := redundancytest.NewRecoverer("flaky")
		rec.Fail("flaky", 10)
		p := fastPolicy()
		p.Retry, p.RetryDelay = 5, time.Hour
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
		recorder := redundancytest.NewRecorder(o)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait() // the first try failed; the retry waits an hour
		start := time.Now()
		cancel()
		require.NoError(t, <-done)
		assert.Zero(t, time.Since(start), "Run did not wait out the pause")
		assert.Len(t, rec.Runs(), 1)
		ev := recorder.WaitFor(t, redundancy.EventActionFailed, time.Second)
		assert.ErrorIs(t, ev.Err, redundancytest.ErrScripted)
		st, _ := o.Target("web")
		require.Len(t, st.History, 1)
		assert.Equal(t, 1, st.History[0].Tries)
	})
}

// A check that overruns its timeout is reported unknown; what its
// goroutine does later (here: panic) is never emitted.
func TestLateCheckNeverEmits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New()
		release := make(chan struct{})
		deaf := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			<-release // ignores its context
			panic("too late")
		})
		require.NoError(t, o.Add(redundancy.Target{Name: "deaf", Checker: deaf, Policy: redundancy.Policy{Timeout: time.Second}}))
		recorder := redundancytest.NewRecorder(o)
		s := o.Tick(context.Background())
		require.ErrorIs(t, s.Targets[0].Report.Err, redundancy.ErrCheckTimeout)
		n := len(recorder.Events())
		close(release)
		synctest.Wait()
		assert.Len(t, recorder.Events(), n, "nothing emitted after the timeout")
		assert.Zero(t, recorder.Count(redundancy.EventCheckPanicked))
	})
}

// A notifier that hangs holds the orchestrator for at most the notify
// timeout once; later events skip it until it returns; its context has a
// deadline.
func TestSlowNotifierIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var calls int
		var deadline time.Time
		var hasDeadline bool
		n := redundancy.NotifierFunc(func(ctx context.Context, e redundancy.Event) error {
			mu.Lock()
			calls++
			deadline, hasDeadline = ctx.Deadline()
			mu.Unlock()
			<-release // ignores its context
			return nil
		})
		o := redundancy.New(redundancy.WithNotifier(n), redundancy.WithNotifyTimeout(2*time.Second))
		ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: fastPolicy()}))

		start := time.Now()
		o.Tick(context.Background()) // unknown → unhealthy: one event
		assert.Equal(t, 2*time.Second, time.Since(start), "held for the notify timeout, no longer")
		mu.Lock()
		assert.True(t, hasDeadline)
		assert.Equal(t, start.Add(2*time.Second), deadline)
		mu.Unlock()

		ch.Set(redundancytest.Healthy())
		time.Sleep(time.Second)
		start = time.Now()
		o.Tick(context.Background()) // unhealthy → healthy: skipped, the notifier is still busy
		assert.Zero(t, time.Since(start), "a busy notifier is skipped at once")
		mu.Lock()
		assert.Equal(t, 1, calls)
		mu.Unlock()

		close(release)
		synctest.Wait()
		ch.Set(redundancytest.Unhealthy("web"))
		time.Sleep(time.Second)
		o.Tick(context.Background())
		mu.Lock()
		assert.Equal(t, 2, calls, "delivered again once it returned")
		mu.Unlock()
	})
}
