package redundancy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// CheckObservation is one check as the orchestrator ran it, for metrics
// and other observers (SubscribeChecks). It carries no text from the
// report, so it needs no redaction.
type CheckObservation struct {
	Target   string
	Status   Status        // the report's status (before thresholds)
	Findings int           // how many findings the report had
	Failed   bool          // the check could not run (the report has an error)
	Started  time.Time     // on the orchestrator's clock
	Duration time.Duration // on the orchestrator's clock
}

// ops is the orchestrator's bookkeeping for observers: the check
// subscribers and the work in flight (liveness.go). Its zero value is
// ready but for created, which New sets.
type ops struct {
	created time.Time // when New ran: a target never checked is due from then

	subMu   sync.Mutex
	nextSub int
	subs    map[int]func(CheckObservation)
	// fns is the current subscriber list, replaced on every change, so
	// that a check reads it without a lock.
	fns atomic.Pointer[[]func(CheckObservation)]

	work work
}

// SubscribeChecks calls fn after every check the orchestrator runs
// (scheduled, triggered, CheckNow, RecoverNow and Plan alike; not checks
// cut short by shutdown), synchronously on the checking goroutine: fn
// must be fast, must not block and must not call methods that check. It
// is how metrics count checks and time them. The returned function
// cancels the subscription.
func (o *Orchestrator) SubscribeChecks(fn func(CheckObservation)) (cancel func()) {
	o.ops.subMu.Lock()
	defer o.ops.subMu.Unlock()
	if o.ops.subs == nil {
		o.ops.subs = map[int]func(CheckObservation){}
	}
	id := o.ops.nextSub
	o.ops.nextSub++
	o.ops.subs[id] = fn
	o.ops.publish()
	return func() {
		o.ops.subMu.Lock()
		defer o.ops.subMu.Unlock()
		delete(o.ops.subs, id)
		o.ops.publish()
	}
}

// publish replaces the list the checks read; the caller holds subMu.
func (p *ops) publish() {
	fns := make([]func(CheckObservation), 0, len(p.subs))
	for id := range p.nextSub {
		if fn, ok := p.subs[id]; ok {
			fns = append(fns, fn)
		}
	}
	p.fns.Store(&fns)
}

// check runs the target's checker (runCheck) as one unit of work that
// liveness watches, then logs it at debug level and tells the check
// subscribers.
func (o *Orchestrator) check(ctx context.Context, t *target) Report {
	start := o.clock.Now()
	id := o.ops.work.begin(workCheck, t.spec.Name, start, t.policy.Timeout)
	r := o.runCheck(ctx, t)
	o.ops.work.end(id)
	if ctx.Err() != nil {
		return r // shutting down: the check says nothing about the target
	}
	if fns := o.ops.fns.Load(); (fns != nil && len(*fns) > 0) || o.log.Enabled(ctx, slog.LevelDebug) {
		o.checked(ctx, t, &r, start, fns)
	}
	return r
}

// checked logs a check at debug level and tells the check subscribers.
// It is apart from check so that check's frame stays small (checks run
// on fresh goroutines, whose stacks grow by copying).
//
//go:noinline
func (o *Orchestrator) checked(ctx context.Context, t *target, r *Report, start time.Time, fns *[]func(CheckObservation)) {
	ob := CheckObservation{Target: t.spec.Name, Status: r.Status, Findings: len(r.Findings), Failed: r.Err != nil,
		Started: start, Duration: o.clock.Now().Sub(start)}
	if o.log.Enabled(ctx, slog.LevelDebug) {
		o.logCheck(ctx, &ob, r.Err)
	}
	if fns != nil {
		for _, fn := range *fns {
			o.tellCheck(fn, ob)
		}
	}
}

// logCheck writes the debug line of a check.
//
//go:noinline
func (o *Orchestrator) logCheck(ctx context.Context, ob *CheckObservation, err error) {
	attrs := []slog.Attr{slog.String("target", ob.Target), slog.String("status", ob.Status.String()),
		slog.Duration("took", ob.Duration), slog.Int("findings", ob.Findings)}
	if err != nil {
		attrs = append(attrs, slog.String("err", o.redactString(err.Error())))
	}
	o.log.LogAttrs(ctx, slog.LevelDebug, "check", attrs...)
}

// tellCheck calls one check subscriber, containing a panic.
func (o *Orchestrator) tellCheck(fn func(CheckObservation), ob CheckObservation) {
	defer func() {
		if p := recover(); p != nil {
			o.log.Error("check subscriber panicked", "target", ob.Target, "panic", o.redactString(fmt.Sprint(p)))
		}
	}()
	fn(ob)
}

// debugDecision logs, at debug level, why a check of t that found a
// failing report did not lead to a recovery: the failure threshold is
// not reached, or the target has no recoverer. Run and Tick call it
// after observe (scheduled); CheckNow never recovers, so it logs nothing.
func (o *Orchestrator) debugDecision(ctx context.Context, t *target, r Report, want, scheduled bool) {
	if !scheduled || r.Status == StatusHealthy || !o.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	o.mu.Lock()
	failures, unknowns, threshold := t.failures, t.unknowns, t.policy.FailureThreshold
	unknownFails := t.policy.UnknownIsFailing
	o.mu.Unlock()
	name := t.spec.Name
	switch {
	case r.Status == StatusUnknown && !unknownFails:
		o.log.Debug("no recovery: the check could not run, and unknown is not failing for this target (Policy.UnknownIsFailing)",
			"target", name, "unknown_in_a_row", unknowns)
	case !want:
		o.log.Debug("no recovery yet: below the failure threshold", "target", name,
			"status", r.Status.String(), "failures", failures, "threshold", threshold)
	case t.spec.Recoverer == nil:
		o.log.Debug("no recovery: the target has no recoverer (watch only)", "target", name, "status", r.Status.String())
	}
}

// debugGate logs, at debug level, what the recovery gate decided for t:
// backing off (until when), refused while escalated, or going ahead
// with the budget left.
func (o *Orchestrator) debugGate(t *target, now time.Time, mode attemptMode, ok, escalated, backoff bool) {
	if !o.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	o.mu.Lock()
	left, next, attempts := t.budgetLeft(now), t.nextAttempt, len(t.attempts)
	o.mu.Unlock()
	name := t.spec.Name
	switch {
	case ok:
		o.log.Debug("recovery allowed", "target", name, "mode", mode.String(), "budget_left", left,
			"attempts_in_window", attempts)
	case backoff:
		o.log.Debug("no recovery yet: backing off", "target", name, "until", next, "wait", next.Sub(now).String(),
			"budget_left", left)
	case escalated:
		o.log.Debug("no recovery: escalated (a healthy stretch or recover -force clears it)", "target", name,
			"budget_left", left)
	}
}

func (m attemptMode) String() string {
	switch m {
	case modeScheduled:
		return "scheduled"
	case modeManual:
		return "manual"
	case modeForced:
		return "forced"
	}
	return "unknown"
}
