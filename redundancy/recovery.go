package redundancy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// RecoverOption changes how RecoverNow treats the budget.
type RecoverOption func(*recoverOptions)

type recoverOptions struct{ force bool }

// Force makes RecoverNow run whatever the budget says, and clear the
// target's escalation. A forced recovery of a target made by Nest forces
// the child's recoveries too.
func Force() RecoverOption { return func(r *recoverOptions) { r.force = true } }

// attemptMode is who asked for a recovery attempt.
type attemptMode int

const (
	modeScheduled attemptMode = iota // Run or Tick: thresholds, backoff and budget apply
	modeManual                       // RecoverNow: the budget applies
	modeForced                       // RecoverNow with Force: nothing stops it
)

// RecoverNow checks the named targets (all when names is empty) and runs
// their recoverers' plans at once, ignoring failure thresholds and backoff.
// An escalated or budget-spent target is refused (its error wraps
// ErrEscalated) unless Force is given, which runs it anyway and clears the
// escalation. A target with nothing to do yields no results. When ctx ends
// no further target is started and the running plan stops after its
// current action (ErrInterrupted). The error joins the per-target errors:
// unknown names, planning failures, failed actions. With WithRedactor the
// results and the error are redacted.
func (o *Orchestrator) RecoverNow(ctx context.Context, names []string, opts ...RecoverOption) ([]ActionResult, error) {
	var ro recoverOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&ro)
		}
	}
	mode := modeManual
	if ro.force {
		mode = modeForced
	}
	ts, err := o.lookup(names)
	errs := []error{err}
	o.refreshChildren(ctx, ts)
	defer o.leadForCall(ctx, ts)()
	var results []ActionResult
	for i, t := range ts {
		if stopping(ctx) {
			errs = append(errs, fmt.Errorf("recover: %w: %d of %d targets not started", ErrInterrupted, len(ts)-i, len(ts)))
			break
		}
		r := o.check(ctx, t)
		o.observe(t, r, false, time.Time{})
		if t.spec.Recoverer == nil {
			if r.Status != StatusHealthy {
				errs = append(errs, fmt.Errorf("recover %q: %w", t.spec.Name, ErrNoRecoverer))
			}
			continue
		}
		rs, err := o.recoverTarget(ctx, t, r, mode)
		results = append(results, rs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	o.saveState(true)
	return redactResults(o.red, results), o.redactErr(errors.Join(errs...))
}

// Plan is the dry run: it checks the named targets (all when none are
// named) and returns what their recoverers would do now, ignoring
// thresholds, backoff and budget. Nothing is done and no state changes.
// For a target made by Nest it returns the child's plan, each target named
// "nest/target". With WithRedactor the plan and the error are redacted.
func (o *Orchestrator) Plan(ctx context.Context, names ...string) ([]PlannedAction, error) {
	ts, err := o.lookup(names)
	errs := []error{err}
	var out []PlannedAction
	for _, t := range ts {
		if c := t.spec.nested; c != nil {
			pl, err := c.Plan(ctx)
			errs = append(errs, err)
			for _, pa := range pl {
				pa.Target = t.spec.Name + "/" + pa.Target
				out = append(out, pa)
			}
			continue
		}
		if t.spec.Recoverer == nil {
			continue
		}
		r := o.check(ctx, t)
		actions, err := o.plan(ctx, t, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range actions {
			out = append(out, PlannedAction{Target: t.spec.Name, Verb: a.Verb,
				Subject: o.redactString(a.Subject), Reason: o.redactString(a.Reason)})
		}
	}
	return out, o.redactErr(errors.Join(errs...))
}

// plan asks the recoverer for a plan, containing a panic.
func (o *Orchestrator) plan(ctx context.Context, t *target, r Report) (actions []Action, err error) {
	defer func() {
		if p := recover(); p != nil {
			perr := &PanicError{Value: p, Stack: debug.Stack()}
			o.emit(Event{Time: o.clock.Now(), Target: t.spec.Name, Kind: EventPlanPanicked, Err: perr})
			actions, err = nil, fmt.Errorf("plan %q: %w", t.spec.Name, perr)
		}
	}()
	actions, err = t.spec.Recoverer.Plan(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("plan %q: %w", t.spec.Name, err)
	}
	for i, a := range actions {
		if a.Do == nil {
			return nil, fmt.Errorf("plan %q: action %d (%s) has no Do func", t.spec.Name, i, a)
		}
	}
	return actions, nil
}

// recoverTarget runs one recovery attempt for t unless the gate (budget,
// backoff, escalation) says no. Concurrent calls for the same target share
// one attempt.
func (o *Orchestrator) recoverTarget(ctx context.Context, t *target, r Report, mode attemptMode) ([]ActionResult, error) {
	v, err, _ := o.sf.Do(t.spec.Name, func() (any, error) {
		return o.attempt(ctx, t, r, mode)
	})
	rs, _ := v.([]ActionResult)
	return rs, err
}

func (o *Orchestrator) attempt(ctx context.Context, t *target, r Report, mode attemptMode) ([]ActionResult, error) {
	name := t.spec.Name
	stop, release := stopContext(ctx)
	defer release()
	if stopping(stop) {
		return nil, fmt.Errorf("recover %q: %w", name, ErrInterrupted)
	}
	lead, lerr := o.leadFor(t)
	if lerr != nil {
		if mode == modeScheduled {
			return nil, nil // a follower leaves shared targets to the leader
		}
		return nil, fmt.Errorf("recover %q: %w", name, lerr)
	}
	if lead != nil {
		ctx = ContextWithLeadership(ctx, lead)
		defer o.recordShared(ctx, t)
	}
	now := o.clock.Now()
	r, err := o.repairScope(t, r, now, mode)
	if err != nil {
		o.log.Debug("recovery held back", "target", name, "err", o.redactString(err.Error()))
		return nil, err
	}
	if ok, err := o.gate(t, r, now, mode); !ok {
		return nil, err
	}

	actions, err := o.plan(ctx, t, r)
	if errors.Is(err, ErrExhausted) && !o.dryRun {
		return nil, o.escalate(t, r, now, err)
	}
	if err == nil && len(actions) == 0 {
		o.log.Debug("nothing to do", "target", name)
		return nil, nil
	}
	if o.dryRun {
		results := make([]ActionResult, 0, len(actions))
		for _, a := range actions {
			o.log.Info("dry run: would run action", "target", name, "action", a.Verb,
				"subject", o.redactString(a.Subject), "reason", o.redactString(a.Reason))
			results = append(results, ActionResult{Target: name, Verb: a.Verb, Subject: a.Subject, Reason: a.Reason, Started: now, DryRun: true})
		}
		return results, err
	}

	o.mu.Lock()
	undo := t.gateSnapshot()
	t.attempts = append(t.attempts, now)
	t.backoffN++
	t.nextAttempt = now.Add(backoffDelay(t.policy.Backoff, t.backoffN))
	t.recoveries++
	serial := t.recoveries
	t.logAttempt(serial, now, mode == modeForced)
	attemptNo := len(t.attempts)
	o.dirty = true
	o.mu.Unlock()
	if err := o.writeAhead(ctx, t, lead, undo); err != nil {
		return nil, fmt.Errorf("recover %q: %w", name, err)
	}
	plan := make([]string, len(actions))
	for i, a := range actions {
		plan[i] = a.String()
	}
	o.emit(Event{Time: now, Target: name, Kind: EventRecoveryStarted, Report: r, Attempt: attemptNo, Plan: plan})

	var results []ActionResult
	failed := err
	for i, a := range actions {
		if failed != nil {
			break
		}
		if stopping(stop) {
			failed = fmt.Errorf("recover %q: %w: %d of %d actions not started", name, ErrInterrupted, len(actions)-i, len(actions))
			break
		}
		if err := verifyLead(ctx, lead); err != nil {
			failed = fmt.Errorf("recover %q: %s not started: %w", name, a, err)
			break
		}
		res := o.redactResult(o.runAction(ctx, stop, t, a, attemptNo, mode == modeForced))
		res.Recovery = serial
		results = append(results, res)
		o.mu.Lock()
		t.addHistory(res)
		o.dirty = true
		o.mu.Unlock()
		if res.Err != nil {
			o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventActionFailed, Action: a.String(), Verb: a.Verb, Attempt: attemptNo, Err: res.Err})
			failed = fmt.Errorf("recover %q: %s: %w", name, a, res.Err)
			break
		}
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventActionSucceeded, Action: a.String(), Verb: a.Verb, Attempt: attemptNo})
		o.saveState(false)
	}
	if failed != nil {
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventRecoveryFailed, Report: r, Attempt: attemptNo, Err: failed})
	} else {
		o.mu.Lock()
		t.needRecheck = true
		t.successes = 0
		o.mu.Unlock()
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventRecoverySucceeded, Report: r, Attempt: attemptNo})
	}
	o.mu.Lock()
	t.endAttempt(serial, failed, o.red)
	o.mu.Unlock()
	o.emit(o.alertsAfterRepair(t, failed)...)
	o.saveState(false)
	return results, failed
}

// gate decides whether an attempt may start now: the budget, the
// escalation and (for scheduled attempts) the backoff. A refusal is an
// error wrapping ErrEscalated, or none when only the backoff said wait.
func (o *Orchestrator) gate(t *target, r Report, now time.Time, mode attemptMode) (bool, error) {
	o.mu.Lock()
	t.pruneAttempts(now)
	if mode == modeForced && t.escalated {
		t.escalated = false
		o.dirty = true
	}
	spent := !o.dryRun && mode != modeForced && len(t.attempts) >= t.policy.Budget.Max
	n := len(t.attempts)
	var cause error
	if spent {
		cause = t.spentCause(n, now)
	}
	escalated := t.escalated && mode != modeForced
	backoff := mode == modeScheduled && t.backoffN > 0 && now.Before(t.nextAttempt)
	o.mu.Unlock()
	o.debugGate(t, now, mode, !spent && !escalated && !backoff, escalated, backoff)
	switch {
	case spent:
		return false, o.escalate(t, r, now, cause)
	case escalated:
		return false, fmt.Errorf("recover %q: %w", t.spec.Name, ErrEscalated)
	case backoff:
		return false, nil
	}
	return true, nil
}

// escalate marks t escalated, emitting EventEscalated (with what was tried)
// the first time, and returns the error wrapping ErrEscalated and cause.
func (o *Orchestrator) escalate(t *target, r Report, now time.Time, cause error) error {
	o.mu.Lock()
	first := !t.escalated
	t.escalated = true
	var hist []ActionResult
	var attempts []AttemptRecord
	if first {
		hist = t.windowHistory(now)
		attempts = t.windowAttempts(now)
		o.dirty = true
	}
	o.mu.Unlock()
	if first {
		o.emit(Event{Time: now, Target: t.spec.Name, Kind: EventEscalated, Report: r, Err: cause, History: hist, Attempts: attempts})
		o.emit(o.alertsEscalated(t, r, now, cause, attempts)...)
		o.saveState(false)
	}
	return fmt.Errorf("recover %q: %w: %w", t.spec.Name, ErrEscalated, cause)
}
