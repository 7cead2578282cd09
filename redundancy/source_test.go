package redundancy_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestEventSourceWakesItsTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan struct{})
		stopped := make(chan struct{})
		src := redundancy.EventSourceFunc(func(ctx context.Context, wake func()) error {
			defer close(stopped)
			for {
				select {
				case <-ctx.Done():
					return ctx.Err() // a cancelled source is not an error
				case <-events:
					wake()
				}
			}
		})
		chk := redundancytest.NewChecker()
		o := redundancy.New()
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: chk, Source: src, Policy: redundancy.Policy{Interval: time.Hour}}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		synctest.Wait()
		require.Equal(t, 1, chk.Calls(), "the first check is scheduled at once")

		events <- struct{}{}
		synctest.Wait()
		assert.Equal(t, 2, chk.Calls(), "an event checks the target long before its hour is up")

		cancel()
		require.NoError(t, <-done)
		select {
		case <-stopped:
		default:
			t.Fatal("Run returned before its event source stopped")
		}
	})
}

func TestEventSourceThatFailsOrPanicsLeavesTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		chk := redundancytest.NewChecker()
		o := redundancy.New()
		require.NoError(t, o.Add(redundancy.Target{Name: "a", Checker: chk, Policy: redundancy.Policy{Interval: time.Minute},
			Source: redundancy.EventSourceFunc(func(context.Context, func()) error { return errors.New("socket gone") })}))
		require.NoError(t, o.Add(redundancy.Target{Name: "b", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: time.Minute},
			Source: redundancy.EventSourceFunc(func(context.Context, func()) error { panic("bad source") })}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		time.Sleep(3*time.Minute + time.Second) // fake time inside the bubble
		synctest.Wait()
		assert.Equal(t, 4, chk.Calls(), "checks go on every minute after the source gave up")
		cancel()
		require.NoError(t, <-done)
	})
}
