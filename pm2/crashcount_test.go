package pm2_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// exit is a process:event exit as PM2 7.0.4 sends it.
func exit(at time.Time, name string, id int, st pm2.ProcessStatus) pm2.Event {
	return pm2.Event{Kind: pm2.EventExit, Time: at, ID: id, Name: name, Status: st}
}

func TestEventCheckerCountsCrashesNotStops(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	// PM2's counters say nothing is wrong; the events tell.
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "api"}, pm2.Process{Name: "worker"})
	inner := pm2.NewChecker(fake, pm2.Config{LogMaxBytes: -1, MinFreeBytes: -1, Clock: clock, CrashLoopRestarts: 3, CrashLoopWindow: time.Minute})
	src := &chanSource{ch: make(chan pm2.Event)}
	woken := make(chan string, 64)
	ec := pm2.NewEventChecker(inner, src, pm2.EventCheckerOptions{Target: "pm2", Trigger: func(s string) { woken <- s }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ec.Watch(ctx) }()

	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	send := func(es ...pm2.Event) {
		for _, e := range es {
			src.ch <- e
		}
	}
	send(pm2.Event{Kind: pm2.EventConnected, ID: -1, Time: at(0)})
	// The event sequences PM2 7.0.4 sends (seen on its pub socket):
	send(
		// pm2 stop web: exit "stopping", exit "stopped", then the manual stop.
		exit(at(1), "web", 0, pm2.StatusStopping), exit(at(1), "web", 0, pm2.StatusStopped),
		pm2.Event{Kind: pm2.EventStop, Time: at(1), ID: 0, Name: "web", Status: pm2.StatusStopped, Manual: true},
		// pm2 restart web (online): the same stop, then online.
		exit(at(2), "web", 0, pm2.StatusStopping), exit(at(2), "web", 0, pm2.StatusStopped),
		pm2.Event{Kind: pm2.EventOnline, Time: at(2), ID: 0, Name: "web", Status: pm2.StatusLaunching},
		// pm2 delete worker.
		exit(at(3), "worker", 2, pm2.StatusStopping), exit(at(3), "worker", 2, pm2.StatusStopped),
		// pm2 kill: every app stopped, then the daemon goes.
		exit(at(4), "api", 1, pm2.StatusStopping), exit(at(4), "web", 0, pm2.StatusStopping),
		exit(at(4), "web", 0, pm2.StatusStopped), exit(at(4), "api", 1, pm2.StatusStopped),
		pm2.Event{Kind: pm2.EventDaemonKilled, ID: -1, Time: at(4)},
	)
	// 13 events woke the target: every process event and pm2:kill.
	require.Eventually(t, func() bool { return ec.Woken() >= 13 }, 5*time.Second, time.Millisecond)
	clock.Set(at(5))
	assert.False(t, ec.Check(ctx).Has(pm2.ProblemCrashLoop), "stops, restarts, deletes and pm2 kill are no crashes")

	// kill -9 api, three times: exit "stopped" with no stop before it.
	send(exit(at(10), "api", 1, pm2.StatusStopped), exit(at(20), "api", 1, pm2.StatusStopped))
	require.Eventually(t, func() bool { return ec.Woken() >= 15 }, 5*time.Second, time.Millisecond)
	clock.Set(at(21))
	assert.False(t, ec.Check(ctx).Has(pm2.ProblemCrashLoop), "two crashes, limit three")
	send(exit(at(30), "api", 1, pm2.StatusErrored))
	require.Eventually(t, func() bool { return ec.Woken() >= 16 }, 5*time.Second, time.Millisecond)
	clock.Set(at(31))
	rep := ec.Check(ctx)
	require.Equal(t, []string{"api pm2.crash-loop"}, problems(rep))
	assert.Contains(t, rep.Findings[0].Detail, "3 crash exits within 1m0s")
	assert.Contains(t, rep.Summary, "1 finding: pm2.crash-loop api")
	assert.Equal(t, redundancy.StatusUnhealthy, rep.Status)

	// Out of the window, forgotten.
	clock.Set(at(75))
	assert.False(t, ec.Check(ctx).Has(pm2.ProblemCrashLoop))

	// PM2's counters (restart_time grew by ten) are not trusted while the
	// events are followed...
	fake.Update("web", func(p *pm2.Process) { p.Restarts += 10 })
	clock.Set(at(80))
	require.False(t, ec.Check(ctx).Has(pm2.ProblemCrashLoop))
	// ... and are the fallback when the events are lost.
	send(pm2.Event{Kind: pm2.EventDisconnected, ID: -1, Time: at(81)})
	require.Eventually(t, func() bool { return !ec.Connected() }, 5*time.Second, time.Millisecond)
	fake.Update("web", func(p *pm2.Process) { p.Restarts += 10 })
	clock.Set(at(82))
	assert.True(t, ec.Check(ctx).Has(pm2.ProblemCrashLoop))
	cancel()
	require.NoError(t, <-done)
}
