package redundancy

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Errors returned by the orchestrator, to be tested with errors.Is.
var (
	ErrUnknownTarget   = errors.New("unknown target")
	ErrDuplicateTarget = errors.New("duplicate target")
	ErrAlreadyRunning  = errors.New("orchestrator already running")
	ErrEscalated       = errors.New("recovery budget spent: target escalated")
	ErrNoRecoverer     = errors.New("target has no recoverer")
	// ErrExhausted is for recoverers: Plan returns an error wrapping it when
	// the recoverer's own options are spent (a run re-run N times, a build
	// that keeps failing). The orchestrator then escalates the target at
	// once, as if its budget were spent, instead of retrying a plan that
	// can only fail again.
	ErrExhausted = errors.New("recovery options exhausted")
	// ErrInterrupted is wrapped by the error of a recovery that shutdown
	// stopped before all of its actions ran (Run's context ended, or the
	// context of a RecoverNow call).
	ErrInterrupted = errors.New("redundancy: recovery interrupted by shutdown")
)

// Orchestrator checks targets on their schedules, decides from each policy
// whether to recover, and runs recovery plans with retry, backoff and a
// budget. It is safe for concurrent use.
//
// Orchestrators nest: Nest makes one orchestrator a target of another.
type Orchestrator struct {
	clock         Clock
	log           *slog.Logger
	notifiers     []*notifierSlot
	notifyTimeout time.Duration
	red           *Redactor
	sil           silences
	statePath     string
	concurrency   int
	dryRun        bool

	sf     singleflight.Group
	saveMu sync.Mutex
	emitMu sync.Mutex                 // serialises delivery: subscribers see one event at a time
	wake   chan struct{}              // pokes Run's loop (schedule.go)
	parent atomic.Pointer[parentLink] // set when o is nested in another orchestrator
	ops    ops                        // check subscribers and work in flight (observe.go, liveness.go)

	mu       sync.Mutex
	targets  map[string]*target
	order    []string
	subs     map[int]func(Event)
	nextSub  int
	running  bool
	started  bool                     // a Tick or Run has begun: stale state records are dropped
	loaded   map[string]*targetRecord // state read from the file, applied on Add
	stateOff bool                     // the state path is not a regular file: never written
	dirty    bool                     // state changed since it was last saved
	lastSave time.Time
	saves    int // state writes, for tests

	// The scheduler (schedule.go), guarded by mu.
	due        dueHeap    // idle targets by next check
	urgent     fifo       // triggered targets waiting for a check
	ready      fifo       // due targets waiting for a check
	nextSeq    int        // seq of the next target added
	work       *sync.Cond // on mu: signals Run's workers; nil when Run is not running
	scheduling bool       // Run's loop is running
	wakeAt     time.Time  // when Run's loop will wake on its own; zero: only when poked
}

// parentLink is where a nested orchestrator sits: its parent and its
// target's name there.
type parentLink struct {
	parent *Orchestrator
	name   string
}

// New returns an orchestrator with no targets. Defaults: the real clock, a
// logger that discards, no notifiers (each Notify call bounded by 5s), no
// redactor, no state file, concurrency 16, dry run off. Each target's zero
// Policy fields take the defaults documented on Policy (interval 30s,
// timeout 10s, failure threshold 3, success threshold 1, backoff 10s
// doubling to 5m ±10% reset after 10m healthy, budget 5 attempts per 10m,
// 2 retries per action 1s apart and doubling, 2m per action).
func New(opts ...Option) *Orchestrator {
	o := &Orchestrator{
		clock:         RealClock{},
		log:           discardLogger(),
		notifyTimeout: DefaultNotifyTimeout,
		concurrency:   16,
		wake:          make(chan struct{}, 1),
		targets:       make(map[string]*target),
		subs:          make(map[int]func(Event)),
	}
	for _, opt := range opts {
		opt(o)
	}
	o.ops.created = o.clock.Now()
	if o.statePath != "" {
		o.loadState()
	}
	return o
}

// Add adds a target. It fails, naming the field, for an empty, padded or
// duplicate name, a nil checker, a policy Policy.Validate refuses, an alert
// policy or problem dependencies that do not validate, or a DependsOn
// naming a target not added yet (or itself); for a
// target made by Nest, also when the child is o itself, one of o's
// ancestors, or already nested elsewhere.
func (o *Orchestrator) Add(t Target) error {
	if err := t.validate(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.targets[t.Name]; ok {
		return fmt.Errorf("%w: %w: %q", ErrInvalidTarget, ErrDuplicateTarget, t.Name)
	}
	if err := o.checkDepends(t); err != nil {
		return err
	}
	if t.nested != nil {
		if err := o.adopt(t.nested, t.Name); err != nil {
			return err
		}
	}
	t.DependsOn = slices.Clone(t.DependsOn)
	tg := &target{spec: t, policy: t.Policy.withDefaults(), alertPolicy: t.Alerts.withDefaults(), status: StatusUnknown}
	if rec, ok := o.loaded[t.Name]; ok {
		rec.applyTo(tg, o.red)
		delete(o.loaded, t.Name)
	}
	o.targets[t.Name] = tg
	o.order = append(o.order, t.Name)
	o.queueLocked(tg)
	return nil
}

// Names returns the target names in the order they were added.
func (o *Orchestrator) Names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.order)
}

// Trigger asks Run (or the next Tick) to check the named target as soon as
// it can, ahead of its schedule: an event source (a process exit, a
// webhook) calls it so a failure is seen in milliseconds; periodic checks
// go on as a safety net. Triggered targets go to Run's workers ahead of
// due ones. When o is nested (Nest), the parent's target for o is woken
// too, once the triggered check is done. An unknown name is ignored.
// Trigger never blocks and costs O(1) however many targets o has.
func (o *Orchestrator) Trigger(name string) {
	o.mu.Lock()
	if t, ok := o.targets[name]; ok {
		t.triggered = true
		o.listLocked(t)
	}
	o.mu.Unlock()
}

// poke wakes Run's loop without blocking.
func (o *Orchestrator) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *Orchestrator) lookup(names []string) ([]*target, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(names) == 0 {
		ts := make([]*target, 0, len(o.order))
		for _, n := range o.order {
			ts = append(ts, o.targets[n])
		}
		return ts, nil
	}
	var ts []*target
	var errs []error
	for _, n := range names {
		t, ok := o.targets[n]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownTarget, n))
			continue
		}
		ts = append(ts, t)
	}
	return ts, errors.Join(errs...)
}

// Subscribe calls fn for every event, synchronously and one event at a
// time, outside the orchestrator's state lock; fn must not block for long
// and must not call methods that emit events (Tick, CheckNow, RecoverNow,
// Plan, Run): hand such work to another goroutine. Snapshot, Target and
// Trigger are safe. With WithRedactor, events are redacted first. The
// returned function cancels the subscription.
func (o *Orchestrator) Subscribe(fn func(Event)) (cancel func()) {
	o.mu.Lock()
	id := o.nextSub
	o.nextSub++
	o.subs[id] = fn
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		delete(o.subs, id)
		o.mu.Unlock()
	}
}
