package redundancy_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// countingClock is the real clock (fake time inside a synctest bubble)
// that counts the timers Run's loop sets: one per wake on its own.
type countingClock struct {
	redundancy.RealClock
	afters atomic.Int64
}

func (c *countingClock) After(d time.Duration) <-chan time.Time {
	c.afters.Add(1)
	return c.RealClock.After(d)
}

// orderChecker records the order in which targets are checked; the check
// of block (if any) waits for gate.
type orderChecker struct {
	mu    sync.Mutex
	order []string
	block string
	gate  chan struct{}
}

func (c *orderChecker) target(name string) redundancy.Checker {
	return redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
		c.mu.Lock()
		c.order = append(c.order, name)
		c.mu.Unlock()
		if name == c.block {
			<-c.gate
		}
		return redundancy.Report{Status: redundancy.StatusHealthy}
	})
}

func (c *orderChecker) checked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// Run's loop sleeps until the next due time: with a thousand targets on
// the same schedule it sets a timer or two per round, not one per check.
func TestRunWakesOncePerDueTimeNotPerCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := &countingClock{}
		o := redundancy.New(redundancy.WithClock(clock))
		ch := redundancytest.NewChecker()
		for i := range 1000 {
			require.NoError(t, o.Add(redundancy.Target{Name: fmt.Sprintf("t%04d", i), Checker: ch, Policy: redundancy.Policy{Interval: 10 * time.Second}}))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		const rounds = 5
		for r := 1; r <= rounds; r++ {
			synctest.Wait()
			require.Equal(t, 1000*r, ch.Calls(), "round %d checks every target once", r)
			time.Sleep(10 * time.Second)
		}
		synctest.Wait()
		assert.LessOrEqual(t, clock.afters.Load(), int64(2*rounds+2), "timers set for %d checks", ch.Calls())
		cancel()
		require.NoError(t, <-done)
	})
}

// Each target keeps its own interval, however many others share the queue.
func TestRunChecksEachTargetOnItsOwnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New(redundancy.WithConcurrency(3))
		checkers := map[int]*redundancytest.Checker{}
		for i := 1; i <= 7; i++ {
			checkers[i] = redundancytest.NewChecker()
			require.NoError(t, o.Add(redundancy.Target{Name: fmt.Sprintf("every-%ds", i), Checker: checkers[i], Policy: redundancy.Policy{Interval: time.Duration(i) * time.Second}}))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		time.Sleep(60*time.Second + 500*time.Millisecond)
		synctest.Wait()
		for i, c := range checkers {
			assert.Equal(t, 60/i+1, c.Calls(), "every %ds for 60s, from the start", i)
		}
		cancel()
		require.NoError(t, <-done)
	})
}

// Triggered targets go ahead of the due targets still waiting for a
// worker, in the order they were triggered; a trigger for a target already
// waiting moves it up and costs no extra check.
func TestTriggeredTargetGoesAheadOfDueOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &orderChecker{block: "t00", gate: make(chan struct{})}
		o := redundancy.New(redundancy.WithConcurrency(1))
		for i := range 5 {
			name := fmt.Sprintf("t%02d", i)
			require.NoError(t, o.Add(redundancy.Target{Name: name, Checker: c.target(name), Policy: redundancy.Policy{Interval: time.Hour}}))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait() // t00 is being checked; t01..t04 wait for the one worker
		o.Trigger("t04")
		o.Trigger("t02")
		o.Trigger("t04") // triggered twice while waiting: checked once
		close(c.gate)
		synctest.Wait()
		assert.Equal(t, []string{"t00", "t04", "t02", "t01", "t03"}, c.checked())
		cancel()
		require.NoError(t, <-done)
	})
}

// A target added while Run runs is checked at once, not at the loop's
// next wake.
func TestTargetAddedDuringRunIsCheckedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New()
		require.NoError(t, o.Add(redundancy.Target{Name: "old", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: time.Hour}}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait()
		late := redundancytest.NewChecker()
		require.NoError(t, o.Add(redundancy.Target{Name: "late", Checker: late, Policy: redundancy.Policy{Interval: time.Hour}}))
		synctest.Wait()
		assert.Equal(t, 1, late.Calls(), "checked without time passing")
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 2, late.Calls(), "then on its interval")
		cancel()
		require.NoError(t, <-done)
	})
}

// Run never runs more checks at once than WithConcurrency, whatever is
// due, and a Tick beside Run checks each target once: the two share the
// queue.
func TestRunBoundsConcurrentChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, peak atomic.Int64
		gate := make(chan struct{})
		var calls atomic.Int64
		chk := redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
			calls.Add(1)
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-gate
			inFlight.Add(-1)
			return redundancy.Report{Status: redundancy.StatusHealthy}
		})
		o := redundancy.New(redundancy.WithConcurrency(4))
		for i := range 100 {
			require.NoError(t, o.Add(redundancy.Target{Name: fmt.Sprintf("t%03d", i), Checker: chk, Policy: redundancy.Policy{Interval: time.Hour}}))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait()
		assert.Equal(t, int64(4), peak.Load())
		ticked := make(chan redundancy.Snapshot, 1)
		go func() { ticked <- o.Tick(context.Background()) }()
		synctest.Wait()
		close(gate)
		<-ticked
		synctest.Wait()
		assert.Equal(t, int64(100), calls.Load(), "each target checked once")
		cancel()
		require.NoError(t, <-done)
	})
}
