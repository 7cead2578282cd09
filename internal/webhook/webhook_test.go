package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeenForgetsTheOldestFirst(t *testing.T) {
	s := NewSeen(3)
	for i := range 3 {
		require.True(t, s.Add(fmt.Sprint(i)))
	}
	assert.False(t, s.Add("0"), "remembered")
	assert.True(t, s.Add("3"), "new; pushes 0 out")
	assert.True(t, s.Add("0"), "forgotten, so new again")
	assert.False(t, s.Add("3"))
	assert.Len(t, s.set, 3, "bounded")
}

func TestRouterWakesTheWatchersOfAKeyWhileTheyWatch(t *testing.T) {
	var r Router[string]
	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan string, 4)
	done := make(chan error, 1)
	go func() {
		done <- r.Source("Octo/App", "a").Watch(ctx, func() { woken <- "a" })
	}()
	require.Eventually(t, func() bool {
		return r.Each(func(string, func()) {}, "octo/app") == 1
	}, 5*time.Second, time.Millisecond)

	var got []string
	n := r.Each(func(v string, wake func()) { got = append(got, v); wake() }, "OCTO/APP", "octo/app", "other")
	assert.Equal(t, 1, n, "once however many keys match")
	assert.Equal(t, []string{"a"}, got)
	assert.Equal(t, "a", <-woken)

	cancel()
	require.NoError(t, <-done)
	assert.Zero(t, r.Each(func(string, func()) { t.Fatal("woken after its watch ended") }, "octo/app"))
}

func TestThrottle(t *testing.T) {
	th := Throttle{Period: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.True(t, th.Allow(t0))
	assert.False(t, th.Allow(t0.Add(59*time.Second)))
	assert.True(t, th.Allow(t0.Add(time.Minute)))
}
