package pm2

// Event-driven checking.
//
// A periodic check sees a crash at the next interval, seconds or minutes
// later. EventChecker follows the daemon's events (Native.Events) and, when
// one concerns its apps, calls a trigger (normally the orchestrator's
// Trigger) so that the target is checked at once: a kill -9 is seen in
// milliseconds. The check itself is still the wrapped checker's, and the
// orchestrator's periodic checks go on as a safety net for missed events.
//
//	n := pm2.NewNative(pm2.NativeOptions{Home: home, Fallback: cli})
//	ec := pm2.NewEventChecker(processChecker, n, pm2.EventCheckerOptions{
//		Target: "web", Apps: []string{"web"}, Trigger: o.Trigger,
//	})
//	o.Add(redundancy.Target{Name: "web", Checker: ec, Recoverer: rec})
//	go ec.Watch(ctx)
//	o.Run(ctx)

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// EventSource is what an EventChecker follows; *Native is one.
type EventSource interface {
	Events(ctx context.Context) (<-chan Event, error)
}

var _ EventSource = (*Native)(nil)

// EventCheckerOptions configures an EventChecker.
type EventCheckerOptions struct {
	// Target is the name passed to Trigger. Required.
	Target string
	// Trigger wakes the check of a target, e.g. (*redundancy.Orchestrator).Trigger.
	// It must not block. Required.
	Trigger func(target string)
	// Apps are the app names whose events wake the target; empty means every
	// app of the daemon.
	Apps []string

	// CrashLoopRestarts crash exits within CrashLoopWindow make a crash
	// loop, counted from the events while Watch is connected (see
	// crashcount.go) instead of from PM2's counters. Zero fields take the
	// wrapped Checker's Config, else DefaultCrashLoopRestarts and
	// DefaultCrashLoopWindow.
	CrashLoopRestarts int
	CrashLoopWindow   time.Duration
	// Clock tells the time the window ends at. Default: the wrapped
	// Checker's, else the real clock.
	Clock redundancy.Clock
}

// EventChecker is a redundancy.Checker that runs another checker and, while
// Watch runs, wakes its target as soon as the PM2 daemon announces something
// about its apps: any process event (exit, restart overlimit, stop, delete,
// online, exception, ...), the daemon shutting down, the event connection
// being lost, and the connection coming back (events may have been missed).
type EventChecker struct {
	inner   redundancy.Checker
	source  EventSource
	target  string
	trigger func(string)
	apps    []string
	crashes *crashCounter
	limit   int
	clock   redundancy.Clock

	mu        sync.Mutex
	watching  bool
	connected bool
	seen      int // events that woke the target
}

var _ redundancy.Checker = (*EventChecker)(nil)

// ErrAlreadyWatching is returned by Watch when it is already running.
var ErrAlreadyWatching = errors.New("pm2: event checker already watching")

// NewEventChecker returns a checker that runs inner and is woken by the
// events of source (see EventChecker). Call Watch to follow the events.
func NewEventChecker(inner redundancy.Checker, source EventSource, opts EventCheckerOptions) *EventChecker {
	def := Config{}.withDefaults()
	if c, ok := inner.(*Checker); ok {
		def = c.cfg
	}
	if opts.CrashLoopRestarts <= 0 {
		opts.CrashLoopRestarts = def.CrashLoopRestarts
	}
	if opts.CrashLoopWindow <= 0 {
		opts.CrashLoopWindow = def.CrashLoopWindow
	}
	if opts.Clock == nil {
		opts.Clock = def.Clock
	}
	return &EventChecker{
		inner:   inner,
		source:  source,
		target:  opts.Target,
		trigger: opts.Trigger,
		apps:    slices.Clone(opts.Apps),
		crashes: newCrashCounter(opts.CrashLoopWindow),
		limit:   opts.CrashLoopRestarts,
		clock:   opts.Clock,
	}
}

// Check runs the wrapped checker. While Watch is connected to the daemon's
// events, its crash-loop findings are replaced by those the events show:
// crash exits counted over the window, an exit during a stop, a delete or
// pm2 kill not being one.
func (c *EventChecker) Check(ctx context.Context) redundancy.Report {
	if c.inner == nil {
		return redundancy.ErrorReport(errors.New("pm2 event checker: no checker to run"))
	}
	rep := c.inner.Check(ctx)
	if c.Connected() {
		rep = c.crashes.crashLoops(rep, c.clock.Now(), c.limit, c.apps)
	}
	return rep
}

// Watch follows the source's events until ctx ends, waking the target for
// those that concern it, and returns nil then. It returns an error at once
// when the options are incomplete, when it is already running, or when the
// source cannot start (a Native source retries a daemon that is down on its
// own, so that is not such an error).
func (c *EventChecker) Watch(ctx context.Context) error {
	switch {
	case c.source == nil:
		return errors.New("pm2 event checker: no event source")
	case c.target == "":
		return errors.New("pm2 event checker: no target name")
	case c.trigger == nil:
		return errors.New("pm2 event checker: no trigger function")
	}
	c.mu.Lock()
	if c.watching {
		c.mu.Unlock()
		return ErrAlreadyWatching
	}
	c.watching = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.watching = false
		c.mu.Unlock()
	}()

	events, err := c.source.Events(ctx)
	if err != nil {
		return fmt.Errorf("pm2 event checker %q: %w", c.target, err)
	}
	connectedBefore := false
	for e := range events {
		c.crashes.observe(e)
		wake := false
		c.mu.Lock()
		switch e.Kind {
		case EventConnected:
			wake = connectedBefore // a reconnection: events may have been missed
			connectedBefore = true
			c.connected = true
		case EventDisconnected:
			wake = true
			c.connected = false
		case EventDaemonKilled:
			wake = true
		default:
			wake = c.concerns(e)
		}
		if wake {
			c.seen++
		}
		c.mu.Unlock()
		if wake {
			c.trigger(c.target)
		}
	}
	c.mu.Lock()
	c.connected = false
	c.mu.Unlock()
	return nil
}

// Connected reports whether Watch is following the daemon's events right
// now (a Native source is connected to pub.sock).
func (c *EventChecker) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Woken returns how many events have woken the target so far.
func (c *EventChecker) Woken() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// concerns reports whether a process event is about one of c's apps.
func (c *EventChecker) concerns(e Event) bool {
	if !e.IsProcess() && e.Name == "" {
		return false
	}
	return len(c.apps) == 0 || slices.Contains(c.apps, e.Name)
}
