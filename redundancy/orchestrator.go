package redundancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
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
)

// Orchestrator checks targets on their schedules, decides from each policy
// whether to recover, and runs recovery plans with retry, backoff and a
// budget. It is safe for concurrent use.
//
// An Orchestrator is itself a Checker and a Recoverer, so one orchestrator
// can be a target of another (see Check and Plan).
type Orchestrator struct {
	clock       Clock
	log         *slog.Logger
	notifiers   []Notifier
	statePath   string
	concurrency int
	dryRun      bool

	sf     singleflight.Group
	saveMu sync.Mutex
	emitMu sync.Mutex  // serialises delivery: subscribers see one event at a time
	dirty  atomic.Bool // Run: checks finished since the state was last saved
	wake   chan struct{}

	mu      sync.Mutex
	targets map[string]*target
	order   []string
	subs    map[int]func(Event)
	nextSub int
	running bool
	loaded  map[string]*targetRecord // state read from the file, applied on Add
}

// New returns an orchestrator with no targets. Defaults: the real clock, a
// logger that discards, no notifiers, no state file, concurrency 16, dry
// run off. Each target's zero Policy fields take the defaults documented on
// Policy (interval 30s, timeout 10s, failure threshold 3, success threshold
// 1, backoff 10s doubling to 5m ±10% reset after 10m healthy, budget 5
// attempts per 10m, 2 retries per action).
func New(opts ...Option) *Orchestrator {
	o := &Orchestrator{
		clock:       RealClock{},
		log:         discardLogger(),
		concurrency: 16,
		wake:        make(chan struct{}, 1),
		targets:     make(map[string]*target),
		subs:        make(map[int]func(Event)),
	}
	for _, opt := range opts {
		opt(o)
	}
	if o.statePath != "" {
		o.loadState()
	}
	return o
}

// Add adds a target. It fails, naming the field, for an empty, padded or
// duplicate name, a nil checker, or a policy with negative durations,
// thresholds or budget.
func (o *Orchestrator) Add(t Target) error {
	if err := t.validate(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.targets[t.Name]; ok {
		return fmt.Errorf("%w: %w: %q", ErrInvalidTarget, ErrDuplicateTarget, t.Name)
	}
	tg := &target{spec: t, policy: t.Policy.withDefaults(), status: StatusUnknown}
	if rec, ok := o.loaded[t.Name]; ok {
		rec.applyTo(tg)
		delete(o.loaded, t.Name)
	}
	o.targets[t.Name] = tg
	o.order = append(o.order, t.Name)
	return nil
}

// Names returns the target names in the order they were added.
func (o *Orchestrator) Names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.order)
}

// Tick runs one cycle: it checks every target that is due (all of them on
// the first Tick), recovers those its policy says to, waits for all of it,
// and returns the resulting snapshot.
func (o *Orchestrator) Tick(ctx context.Context) Snapshot {
	due, _ := o.claimDue(o.clock.Now())
	o.each(due, func(t *target) {
		defer o.release(t)
		o.process(ctx, t, true)
	})
	o.saveState()
	return o.Snapshot()
}

// each calls fn for every target on at most o.concurrency workers and waits.
func (o *Orchestrator) each(ts []*target, fn func(*target)) {
	var next atomic.Int64
	g := new(errgroup.Group)
	for range min(o.concurrency, len(ts)) {
		g.Go(func() error {
			for i := next.Add(1) - 1; i < int64(len(ts)); i = next.Add(1) - 1 {
				fn(ts[i])
			}
			return nil
		})
	}
	_ = g.Wait()
}

// CheckNow checks the named targets (all when none are named) at once,
// whatever their schedule, and updates their status; it never recovers.
// Unknown names are skipped and logged.
func (o *Orchestrator) CheckNow(ctx context.Context, names ...string) Snapshot {
	ts, err := o.lookup(names)
	if err != nil {
		o.log.Warn("check now", "err", err)
	}
	o.each(ts, func(t *target) { o.process(checkOnly(ctx), t, false) })
	o.saveState()
	return o.Snapshot()
}

// Trigger asks Run to check the named target as soon as it can, ahead of
// its schedule: an event source (a process exit, a webhook) calls it so a
// failure is seen in milliseconds; periodic checks go on as a safety net.
// An unknown name is ignored. Trigger never blocks.
func (o *Orchestrator) Trigger(name string) {
	o.mu.Lock()
	if t, ok := o.targets[name]; ok {
		t.triggered = true
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run checks and recovers targets on their schedules until ctx ends. Each
// target is handled on its own (a slow recovery of one does not hold up the
// checks of the others), at most WithConcurrency at once. When ctx ends Run
// stops starting work, waits for in-flight actions to finish or reach their
// ActionTimeout, saves the state and returns nil. It returns
// ErrAlreadyRunning if Run is already running on o.
func (o *Orchestrator) Run(ctx context.Context) error {
	o.mu.Lock()
	if o.running {
		o.mu.Unlock()
		return ErrAlreadyRunning
	}
	o.running = true
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.running = false
		o.mu.Unlock()
	}()

	var wg sync.WaitGroup
	sem := make(chan struct{}, o.concurrency)
	defer func() {
		wg.Wait()
		o.saveState()
	}()
	for {
		if o.dirty.Swap(false) {
			o.saveState()
		}
		now := o.clock.Now()
		due, next := o.claimDue(now)
		for _, t := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer o.poke()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					o.release(t)
					return
				}
				defer func() { <-sem }()
				defer o.release(t)
				o.process(ctx, t, true)
				o.dirty.Store(true) // saved by the loop: one write for a burst of checks
			}()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 0)
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.clock.After(wait):
		case <-o.wake:
		}
	}
}

func (o *Orchestrator) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// claimDue marks due targets busy and returns them, with the earliest time
// another idle target falls due.
func (o *Orchestrator) claimDue(now time.Time) (due []*target, next time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, name := range o.order {
		t := o.targets[name]
		if t.busy {
			continue
		}
		if t.triggered || !now.Before(t.nextCheck) {
			t.busy, t.triggered = true, false
			if due == nil {
				due = make([]*target, 0, len(o.order))
			}
			due = append(due, t)
			continue
		}
		if next.IsZero() || t.nextCheck.Before(next) {
			next = t.nextCheck
		}
	}
	return due, next
}

func (o *Orchestrator) release(t *target) {
	o.mu.Lock()
	t.busy = false
	if t.triggered {
		o.mu.Unlock()
		o.poke()
		return
	}
	o.mu.Unlock()
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

// process checks t once, evaluates the report and, when allowed and the
// policy says so, recovers it.
func (o *Orchestrator) process(ctx context.Context, t *target, mayRecover bool) {
	start := o.clock.Now()
	r := o.check(ctx, t)
	if ctx.Err() != nil {
		// Shutting down: a cancelled check says nothing about the target.
		return
	}
	now := o.clock.Now()
	o.mu.Lock()
	if mayRecover {
		t.nextCheck = start.Add(t.policy.Interval)
	}
	evs, wantRecovery := t.observe(r, now)
	o.mu.Unlock()
	o.emit(evs...)
	if mayRecover && wantRecovery && t.spec.Recoverer != nil {
		_, _ = o.recoverTarget(ctx, t, r, recoverAuto)
	}
}

// Subscribe calls fn for every event, synchronously and one event at a
// time, outside the orchestrator's state lock; fn must not block for long
// and must not call methods that emit events (Tick, CheckNow, RecoverNow,
// Run): hand such work to another goroutine. Snapshot, Target and Trigger
// are safe. The returned function
// cancels the subscription.
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

func (o *Orchestrator) emit(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	o.mu.Lock()
	subs := make([]func(Event), 0, len(o.subs))
	for _, id := range sortedKeys(o.subs) {
		subs = append(subs, o.subs[id])
	}
	o.mu.Unlock()
	o.emitMu.Lock()
	defer o.emitMu.Unlock()
	for _, e := range evs {
		o.logEvent(e)
		for _, fn := range subs {
			o.safeCall(e.Target, "subscriber", func() { fn(e) })
		}
		for _, n := range o.notifiers {
			o.safeCall(e.Target, "notifier", func() {
				if err := n.Notify(context.Background(), e); err != nil {
					o.log.Warn("notifier failed", "target", e.Target, "event", e.Kind.String(), "err", err)
				}
			})
		}
	}
}

func (o *Orchestrator) safeCall(target, what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			o.log.Error(what+" panicked", "target", target, "panic", fmt.Sprint(p))
		}
	}()
	fn()
}

func (o *Orchestrator) logEvent(e Event) {
	o.log.Log(context.Background(), eventLevel(e), e.String(), eventAttrs(e)...)
}

func sortedKeys(m map[int]func(Event)) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
