package redundancytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestFakeClockFiresTimersInOrder(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := redundancytest.NewFakeClock(start)
	a, b := c.After(time.Second), c.After(3*time.Second)
	assert.Equal(t, 2, c.Waiters())
	c.Advance(2 * time.Second)
	select {
	case got := <-a:
		assert.Equal(t, start.Add(2*time.Second), got)
	default:
		t.Fatal("1s timer did not fire after 2s")
	}
	select {
	case <-b:
		t.Fatal("3s timer fired early")
	default:
	}
	c.Set(start.Add(time.Hour))
	<-b
	assert.Zero(t, c.Waiters())
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) must fire at once")
	}
}

func TestFakeClockBlockUntil(t *testing.T) {
	t.Parallel()
	c := redundancytest.NewFakeClock(time.Time{})
	assert.False(t, c.BlockUntil(1, 10*time.Millisecond))
	go c.After(time.Minute)
	assert.True(t, c.BlockUntil(1, 5*time.Second))
}

func TestCheckerScriptAndRecorder(t *testing.T) {
	t.Parallel()
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("a"), redundancytest.Healthy())
	ctx := context.Background()
	assert.Equal(t, redundancy.StatusUnhealthy, ch.Check(ctx).Status)
	assert.Equal(t, redundancy.StatusHealthy, ch.Check(ctx).Status)
	assert.Equal(t, redundancy.StatusHealthy, ch.Check(ctx).Status, "the last report repeats")
	assert.Equal(t, 3, ch.Calls())

	o := redundancy.New()
	rec := redundancytest.NewRecorder(o)
	require.NoError(t, o.Add(redundancy.Target{Name: "x", Checker: redundancytest.NewChecker()}))
	o.Tick(ctx)
	e := rec.WaitFor(t, redundancy.EventStatusChanged, time.Second, "x")
	assert.Equal(t, redundancy.StatusHealthy, e.To)
	rec.Stop()
	rec.Reset()
	o.CheckNow(ctx)
	assert.Empty(t, rec.Events())
}
