package pm2_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

// chanSource is an EventSource fed by the test.
type chanSource struct {
	ch      chan pm2.Event
	err     error
	started chan struct{} // closed by the first Events call, when set
}

func (s *chanSource) Events(ctx context.Context) (<-chan pm2.Event, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.started != nil {
		close(s.started)
	}
	out := make(chan pm2.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-s.ch:
				if !ok {
					return
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// triggers records trigger calls.
type triggers struct {
	mu    sync.Mutex
	names []string
}

func (tr *triggers) Trigger(name string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.names = append(tr.names, name)
}

func (tr *triggers) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.names)
}

func healthy(context.Context) redundancy.Report { return redundancy.NewReport("ok") }

func TestEventCheckerWakesItsTarget(t *testing.T) {
	t.Parallel()
	proc := func(k pm2.EventKind, name string) pm2.Event {
		return pm2.Event{Kind: k, ID: 1, Name: name}
	}
	tests := []struct {
		name   string
		apps   []string
		events []pm2.Event
		want   int
	}{
		{"exit of a watched app", []string{"web"}, []pm2.Event{proc(pm2.EventExit, "web")}, 1},
		{"exit of another app", []string{"web"}, []pm2.Event{proc(pm2.EventExit, "db")}, 0},
		{"any app when none named", nil, []pm2.Event{proc(pm2.EventExit, "db"), proc(pm2.EventRestartOverlimit, "x")}, 2},
		{"exception and online", []string{"web"}, []pm2.Event{proc(pm2.EventException, "web"), proc(pm2.EventOnline, "web")}, 2},
		{"first connection is no news", []string{"web"}, []pm2.Event{{Kind: pm2.EventConnected, ID: -1}}, 0},
		{"reconnection may have missed events", []string{"web"}, []pm2.Event{
			{Kind: pm2.EventConnected, ID: -1}, {Kind: pm2.EventDisconnected, ID: -1}, {Kind: pm2.EventConnected, ID: -1},
		}, 2},
		{"daemon killed", []string{"web"}, []pm2.Event{{Kind: pm2.EventDaemonKilled, ID: -1}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &chanSource{ch: make(chan pm2.Event, len(tt.events))}
			for _, e := range tt.events {
				src.ch <- e
			}
			close(src.ch)
			var tr triggers
			ec := pm2.NewEventChecker(redundancy.CheckerFunc(healthy), src, pm2.EventCheckerOptions{
				Target: "web-target", Apps: tt.apps, Trigger: tr.Trigger,
			})
			require.NoError(t, ec.Watch(context.Background())) // returns when the source ends
			assert.False(t, ec.Connected())
			assert.Equal(t, tt.want, tr.count())
			assert.Equal(t, tt.want, ec.Woken())
			for _, n := range tr.names {
				assert.Equal(t, "web-target", n)
			}
		})
	}
}

func TestEventCheckerWatchErrors(t *testing.T) {
	t.Parallel()
	src := &chanSource{ch: make(chan pm2.Event)}
	trig := func(string) {}
	for name, opts := range map[string]pm2.EventCheckerOptions{
		"no target":  {Trigger: trig},
		"no trigger": {Target: "x"},
	} {
		err := pm2.NewEventChecker(nil, src, opts).Watch(context.Background())
		assert.Error(t, err, name)
	}
	assert.Error(t, pm2.NewEventChecker(nil, nil, pm2.EventCheckerOptions{Target: "x", Trigger: trig}).Watch(context.Background()))

	boom := errors.New("boom")
	err := pm2.NewEventChecker(nil, &chanSource{err: boom}, pm2.EventCheckerOptions{Target: "x", Trigger: trig}).Watch(context.Background())
	require.ErrorIs(t, err, boom)

	src = &chanSource{ch: make(chan pm2.Event), started: make(chan struct{})}
	ec := pm2.NewEventChecker(nil, src, pm2.EventCheckerOptions{Target: "x", Trigger: trig})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Watch(ctx) }()
	<-src.started
	require.ErrorIs(t, ec.Watch(ctx), pm2.ErrAlreadyWatching)
	cancel()
	require.NoError(t, <-done)
}

func TestEventCheckerCheckDelegates(t *testing.T) {
	t.Parallel()
	ec := pm2.NewEventChecker(redundancy.CheckerFunc(healthy), &chanSource{}, pm2.EventCheckerOptions{})
	assert.Equal(t, redundancy.StatusHealthy, ec.Check(context.Background()).Status)

	r := pm2.NewEventChecker(nil, &chanSource{}, pm2.EventCheckerOptions{}).Check(context.Background())
	assert.Equal(t, redundancy.StatusUnknown, r.Status)
	assert.Error(t, r.Err)
}

// TestEventCheckerThroughOrchestrator shows a kill -9 seen through events
// long before the next periodic check (an hour away).
func TestEventCheckerThroughOrchestrator(t *testing.T) {
	t.Parallel()
	noRestart := false
	d := pm2test.StartDaemon(t, pm2test.App{Name: "victim", Script: pm2test.AppUp, Autorestart: &noRestart})
	d.WaitStatus(t, "victim", pm2.StatusOnline, 20*time.Second)

	n := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client})
	o := redundancy.New()
	check := pm2.NewChecker(n, pm2.Config{Apps: []pm2.App{{Name: "victim"}}, MinFreeBytes: -1})
	ec := pm2.NewEventChecker(check, n, pm2.EventCheckerOptions{
		Target: "victim", Apps: []string{"victim"}, Trigger: o.Trigger,
	})
	require.NoError(t, o.Add(redundancy.Target{
		Name:    "victim",
		Checker: ec,
		Policy:  redundancy.Policy{Interval: time.Hour, FailureThreshold: 1, Retry: -1},
	}))
	changes := make(chan redundancy.Event, 16)
	cancelSub := o.Subscribe(func(e redundancy.Event) {
		if e.Kind == redundancy.EventStatusChanged {
			changes <- e
		}
	})
	defer cancelSub()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); _ = ec.Watch(ctx) }()
	go func() { defer wg.Done(); _ = o.Run(ctx) }()

	waitStatus := func(want redundancy.Status) time.Time {
		t.Helper()
		for {
			select {
			case e := <-changes:
				if e.To == want {
					return time.Now()
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("target did not become %s", want)
			}
		}
	}
	waitStatus(redundancy.StatusHealthy) // the first Tick
	require.Eventually(t, ec.Connected, 20*time.Second, time.Millisecond, "subscribed before the kill")

	procs, err := n.List(ctx)
	require.NoError(t, err)
	require.Len(t, procs, 1)
	killed := time.Now()
	require.NoError(t, syscall.Kill(procs[0].PID, syscall.SIGKILL))
	seen := waitStatus(redundancy.StatusUnhealthy)
	t.Logf("kill -9 to StatusChanged: %s", seen.Sub(killed))
	assert.Less(t, seen.Sub(killed), 10*time.Second, "seen through events, not the hourly check")
	assert.Positive(t, ec.Woken())
}

// A target checked every 30s and, through the daemon's events, the moment
// one of its apps exits.
func ExampleEventChecker() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	home := "/srv/pm2"
	native := pm2.NewNative(pm2.NativeOptions{Home: home, Fallback: pm2.NewCLI(pm2.WithHome(home))})

	o := redundancy.New()
	check := pm2.NewChecker(native, pm2.Config{Home: home, Apps: []pm2.App{{Name: "web"}}})
	ec := pm2.NewEventChecker(check, native, pm2.EventCheckerOptions{
		Target: "web", Apps: []string{"web"}, Trigger: o.Trigger,
	})
	if err := o.Add(redundancy.Target{Name: "web", Checker: ec}); err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = ec.Watch(ctx) }()
	_ = o.Run(ctx)
}
