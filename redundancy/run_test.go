package redundancy_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestConcurrentTickAndRecoverNowRunOneRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New()
		release := make(chan struct{})
		rec := redundancytest.NewRecoverer("test.fix")
		rec.OnRun = func(ctx context.Context, _ string) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))

		var wg sync.WaitGroup
		var manual []redundancy.ActionResult
		wg.Go(func() { o.Tick(context.Background()) })
		synctest.Wait() // the tick's action is running and blocked
		require.Len(t, rec.Runs(), 1)
		wg.Go(func() {
			var err error
			manual, err = o.RecoverNow(context.Background(), []string{"web"})
			assert.NoError(t, err)
		})
		synctest.Wait() // RecoverNow is waiting on the in-flight recovery
		close(release)
		wg.Wait()
		assert.Len(t, rec.Runs(), 1, "one recovery ran")
		require.Len(t, manual, 1, "RecoverNow shares the in-flight recovery's result")
		assert.True(t, manual[0].OK())
	})
}

// startRun runs o until the test ends; done receives Run's result.
func startRun(t *testing.T, o *redundancy.Orchestrator) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		ch <- o.Run(ctx)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return cancel, ch
}

func TestRunChecksOnSchedule(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock))
	ch := redundancytest.NewChecker()
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: redundancy.Policy{Interval: 10 * time.Second}}))
	startRun(t, o)

	require.Eventually(t, func() bool { return ch.Calls() == 1 }, 5*time.Second, time.Millisecond, "Run checks at once")
	require.ErrorIs(t, o.Run(context.Background()), redundancy.ErrAlreadyRunning)

	require.True(t, clock.BlockUntil(1, 5*time.Second), "Run waits for the next check")
	clock.Advance(9 * time.Second)
	assert.Equal(t, 1, ch.Calls(), "not due yet")
	clock.Advance(time.Second)
	require.Eventually(t, func() bool { return ch.Calls() == 2 }, 5*time.Second, time.Millisecond)
}

func TestTriggerWakesRun(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock))
	ch := redundancytest.NewChecker()
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: redundancy.Policy{Interval: time.Hour}}))
	startRun(t, o)
	require.Eventually(t, func() bool { return ch.Calls() == 1 }, 5*time.Second, time.Millisecond)
	o.Trigger("web")
	o.Trigger("no-such-target") // ignored
	require.Eventually(t, func() bool { return ch.Calls() == 2 }, 5*time.Second, time.Millisecond, "checked without the clock moving")
}

func TestRunReturnsAfterInFlightActionFinishes(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock))
	inAction, release := make(chan struct{}), make(chan struct{})
	var actionCtxErr error
	rec := redundancytest.NewRecoverer("test.slow-fix")
	rec.OnRun = func(ctx context.Context, _ string) error {
		close(inAction)
		<-release
		actionCtxErr = ctx.Err()
		return nil
	}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	recorder := redundancytest.NewRecorder(o)
	cancel, done := startRun(t, o)

	<-inAction
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while an action was in flight")
	default:
	}
	close(release)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	assert.NoError(t, actionCtxErr, "the in-flight action was not cancelled")
	assert.Equal(t, 1, recorder.Count(redundancy.EventRecoverySucceeded))
}
