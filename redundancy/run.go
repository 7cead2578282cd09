package redundancy

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Tick runs one cycle: it ticks the orchestrators nested in o (Nest) that
// no Run drives, then checks every target of o that is due (all of them on
// the first Tick) or triggered, recovers those its policy says to, waits for
// all of it, saves the state and returns the resulting snapshot.
func (o *Orchestrator) Tick(ctx context.Context) Snapshot {
	o.start()
	forEach(o.concurrency, o.idleChildren(), func(c *Orchestrator) { c.Tick(ctx) })
	due := o.claimDue(o.clock.Now())
	forEach(o.concurrency, due, func(t *target) {
		defer o.release(t)
		o.process(ctx, t, true)
	})
	o.saveState(true)
	return o.Snapshot()
}

// forEach calls fn for every item on a pool of at most limit goroutines
// (the caller's alone for a single item) and waits.
func forEach[T any](limit int, items []T, fn func(T)) {
	n := min(limit, len(items))
	if n <= 1 {
		for _, it := range items {
			fn(it)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(items)); i = next.Add(1) - 1 {
				fn(items[i])
			}
		})
	}
	wg.Wait()
}

// CheckNow checks the named targets (all when none are named) at once,
// whatever their schedule, and updates their status; it never recovers.
// A target made by Nest first has its child checked (CheckNow on the
// child). Unknown names are skipped and logged.
func (o *Orchestrator) CheckNow(ctx context.Context, names ...string) Snapshot {
	ts, err := o.lookup(names)
	if err != nil {
		o.log.Warn("check now", "err", o.redactString(err.Error()))
	}
	o.refreshChildren(ctx, ts)
	forEach(o.concurrency, ts, func(t *target) { o.process(ctx, t, false) })
	o.saveState(true)
	return o.Snapshot()
}

// refreshChildren checks, without recovering, the children of the nested
// targets among ts, so that their reports are current.
func (o *Orchestrator) refreshChildren(ctx context.Context, ts []*target) {
	var kids []*Orchestrator
	for _, t := range ts {
		if t.spec.nested != nil {
			kids = append(kids, t.spec.nested)
		}
	}
	forEach(o.concurrency, kids, func(c *Orchestrator) { c.CheckNow(ctx) })
}

// Run checks and recovers targets on their schedules until ctx ends, and
// runs the orchestrators nested in o (Nest) beside them. Each target is
// handled on its own (a slow recovery of one does not hold up the checks of
// the others) by a pool of WithConcurrency workers. Targets wait in a queue
// ordered by their next check; Run sleeps until the earliest is due, so its
// cost per check stays flat however many targets there are. Triggered
// targets (Trigger, or the event source of a target, Target.Source, which
// Run watches meanwhile) go to the workers ahead of due ones.
//
// When ctx ends Run stops starting work: no new check, no new recovery
// attempt, and no further action of a plan already running (its recovery
// ends as failed with an error wrapping ErrInterrupted). The action in
// flight finishes or reaches its ActionTimeout; its result is recorded
// (history and events); nested orchestrators shut down the same way; the
// state is saved; then Run returns nil. It returns ErrAlreadyRunning if Run
// is already running on o.
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
	o.start()

	var kids errgroup.Group
	for _, c := range o.children() {
		kids.Go(func() error {
			if err := c.Run(ctx); err != nil && !errors.Is(err, ErrAlreadyRunning) {
				o.log.Error("nested orchestrator stopped", "err", o.redactString(err.Error()))
			}
			return nil
		})
	}
	waitSources := o.watchSources(ctx)
	waitWorkers := o.startWorkers(ctx, o.concurrency)
	o.schedule(ctx)
	waitWorkers()
	_ = kids.Wait()
	waitSources()
	o.saveState(true)
	return nil
}

// start marks the orchestrator as started, the first time only: the state
// records of targets that were not added are dropped (and the file is
// rewritten without them).
func (o *Orchestrator) start() {
	o.mu.Lock()
	if o.started {
		o.mu.Unlock()
		return
	}
	o.started = true
	var stale []string
	for name := range o.loaded {
		stale = append(stale, name)
	}
	o.loaded = nil
	if len(stale) > 0 {
		o.dirty = true
	}
	o.mu.Unlock()
	if len(stale) > 0 {
		slices.Sort(stale)
		o.log.Info("state: dropped the records of targets no longer configured", "path", o.statePath, "targets", stale)
	}
}

// process checks t once, folds the report into its state and, when
// scheduled and the policy says so, recovers it.
func (o *Orchestrator) process(ctx context.Context, t *target, scheduled bool) {
	start := o.clock.Now()
	r := o.check(ctx, t)
	if ctx.Err() != nil {
		// Shutting down: a cancelled check says nothing about the target.
		return
	}
	want := o.observe(t, r, scheduled, start)
	o.debugDecision(ctx, t, r, want, scheduled)
	if scheduled && want && t.spec.Recoverer != nil {
		_, _ = o.recoverTarget(ctx, t, r, modeScheduled)
	}
	o.saveState(false)
}

// observe folds r into t's state (stored redacted), emits what it causes
// and reports whether the policy calls for a recovery.
func (o *Orchestrator) observe(t *target, r Report, scheduled bool, start time.Time) bool {
	stored := o.redactReport(r)
	now := o.clock.Now()
	o.mu.Lock()
	if scheduled {
		t.nextCheck = start.Add(t.policy.Interval)
	}
	evs, want := o.observeLocked(t, stored, now)
	o.dirty = true
	o.mu.Unlock()
	o.emit(evs...)
	return want
}
