package redundancy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/sethvargo/go-retry"
)

// RecoverMode says whether a manual recovery honours the budget.
type RecoverMode int

const (
	// WithinBudget runs a manual recovery only while the target's budget
	// has attempts left; an escalated target is refused with ErrEscalated.
	WithinBudget RecoverMode = iota
	// Force runs it whatever the budget says and clears the escalation.
	Force
	recoverAuto // the schedule's own recovery: thresholds, backoff and budget apply
)

// RecoverNow checks the named targets (all when none are named) and runs
// their recoverers' plans at once, ignoring failure thresholds and backoff.
// With WithinBudget an escalated or budget-spent target is refused (its
// error wraps ErrEscalated); Force runs it anyway and clears the
// escalation. A target with nothing to do yields no results. The error
// joins the per-target errors: unknown names, planning failures, failed
// actions.
func (o *Orchestrator) RecoverNow(ctx context.Context, mode RecoverMode, names ...string) ([]ActionResult, error) {
	if mode != WithinBudget && mode != Force {
		return nil, fmt.Errorf("recover now: invalid mode %d", int(mode))
	}
	ts, err := o.lookup(names)
	errs := []error{err}
	var results []ActionResult
	for _, t := range ts {
		r := o.check(checkOnly(ctx), t)
		o.mu.Lock()
		evs, _ := t.observe(r, o.clock.Now())
		o.mu.Unlock()
		o.emit(evs...)
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
	o.saveState()
	return results, errors.Join(errs...)
}

// PlanTargets checks the named targets (all when none are named) and
// returns what their recoverers would do now: a dry run. Nothing is done.
func (o *Orchestrator) PlanTargets(ctx context.Context, names ...string) ([]PlannedAction, error) {
	ts, err := o.lookup(names)
	errs := []error{err}
	var out []PlannedAction
	for _, t := range ts {
		if t.spec.Recoverer == nil {
			continue
		}
		r := o.check(checkOnly(ctx), t)
		actions, err := o.plan(ctx, t, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range actions {
			out = append(out, PlannedAction{Target: t.spec.Name, Verb: a.Verb, Subject: a.Subject, Reason: a.Reason})
		}
	}
	return out, errors.Join(errs...)
}

// plan asks the recoverer for a plan, containing a panic.
func (o *Orchestrator) plan(ctx context.Context, t *target, r Report) (actions []Action, err error) {
	defer func() {
		if p := recover(); p != nil {
			perr := &PanicError{Value: p, Stack: debug.Stack()}
			o.emit(Event{Time: o.clock.Now(), Target: t.spec.Name, Kind: EventCheckPanicked, Err: perr})
			actions, err = nil, fmt.Errorf("plan %q: %w", t.spec.Name, perr)
		}
	}()
	actions, err = t.spec.Recoverer.Plan(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("plan %q: %w", t.spec.Name, err)
	}
	for i, a := range actions {
		if a.Do == nil {
			return nil, fmt.Errorf("plan %q: action %d (%s) has no Do func", t.spec.Name, i, a.Verb)
		}
	}
	return actions, nil
}

// recoverTarget runs one recovery attempt for t unless the gate (budget,
// backoff, escalation) says no. Concurrent calls for the same target share
// one attempt.
func (o *Orchestrator) recoverTarget(ctx context.Context, t *target, r Report, mode RecoverMode) ([]ActionResult, error) {
	v, err, _ := o.sf.Do(t.spec.Name, func() (any, error) {
		return o.attempt(ctx, t, r, mode)
	})
	rs, _ := v.([]ActionResult)
	return rs, err
}

func (o *Orchestrator) attempt(ctx context.Context, t *target, r Report, mode RecoverMode) ([]ActionResult, error) {
	name := t.spec.Name
	now := o.clock.Now()

	// The gate.
	o.mu.Lock()
	t.pruneAttempts(now)
	if mode == Force {
		t.escalated = false
	}
	if !o.dryRun && mode != Force && len(t.attempts) >= t.policy.Budget.Max {
		var evs []Event
		if !t.escalated {
			t.escalated = true
			evs = append(evs, Event{Time: now, Target: name, Kind: EventEscalated, Report: r,
				Err: fmt.Errorf("%d recovery attempts in %s did not bring %q back", len(t.attempts), t.policy.Budget.Window, name)})
		}
		o.mu.Unlock()
		o.emit(evs...)
		return nil, fmt.Errorf("recover %q: %w", name, ErrEscalated)
	}
	if t.escalated && mode != Force {
		o.mu.Unlock()
		return nil, fmt.Errorf("recover %q: %w", name, ErrEscalated)
	}
	if mode == recoverAuto && t.backoffN > 0 && now.Before(t.nextAttempt) {
		o.mu.Unlock()
		return nil, nil
	}
	o.mu.Unlock()

	actions, err := o.plan(ctx, t, r)
	if errors.Is(err, ErrExhausted) && !o.dryRun {
		o.mu.Lock()
		var evs []Event
		if !t.escalated {
			t.escalated = true
			evs = append(evs, Event{Time: now, Target: name, Kind: EventEscalated, Report: r, Err: err})
		}
		o.mu.Unlock()
		o.emit(evs...)
		o.saveState()
		return nil, fmt.Errorf("%w: %w", ErrEscalated, err)
	}
	if err == nil && len(actions) == 0 {
		o.log.Debug("nothing to do", "target", name)
		return nil, nil
	}
	if o.dryRun {
		results := make([]ActionResult, 0, len(actions))
		for _, a := range actions {
			o.log.Info("dry run: would run action", "target", name, "action", a.Verb, "subject", a.Subject, "reason", a.Reason)
			results = append(results, ActionResult{Target: name, Verb: a.Verb, Subject: a.Subject, Reason: a.Reason, Started: now, DryRun: true})
		}
		return results, err
	}

	o.mu.Lock()
	t.attempts = append(t.attempts, now)
	t.backoffN++
	t.nextAttempt = now.Add(backoffDelay(t.policy.Backoff, t.backoffN))
	t.recoveries++
	attemptNo := len(t.attempts)
	o.mu.Unlock()
	o.emit(Event{Time: now, Target: name, Kind: EventRecoveryStarted, Report: r, Attempt: attemptNo})

	if err != nil {
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventRecoveryFailed, Report: r, Attempt: attemptNo, Err: err})
		o.saveState()
		return nil, err
	}

	var results []ActionResult
	var failed error
	for _, a := range actions {
		res := o.runAction(ctx, t, a, attemptNo)
		results = append(results, res)
		o.mu.Lock()
		t.addHistory(res)
		o.mu.Unlock()
		label := a.Verb
		if a.Subject != "" {
			label += " " + a.Subject
		}
		if res.Err != nil {
			o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventActionFailed, Action: label, Attempt: attemptNo, Err: res.Err})
			failed = fmt.Errorf("recover %q: %s: %w", name, label, res.Err)
			break
		}
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventActionSucceeded, Action: label, Attempt: attemptNo})
		o.saveState()
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
	o.saveState()
	return results, failed
}

// runAction runs one action with the policy's retries, each try bounded by
// ActionTimeout. A cancelled ctx stops further tries but lets the running
// one finish (or time out).
func (o *Orchestrator) runAction(ctx context.Context, t *target, a Action, attemptNo int) ActionResult {
	p := t.policy
	res := ActionResult{Target: t.spec.Name, Verb: a.Verb, Subject: a.Subject, Reason: a.Reason, Attempt: attemptNo, Started: o.clock.Now()}
	begin := time.Now()
	b := retry.WithMaxRetries(uint64(p.Retry), retry.NewExponential(p.RetryDelay))
	detached := context.WithoutCancel(ctx)
	var last error
	_ = retry.Do(detached, b, func(context.Context) error {
		if res.Tries > 0 && ctx.Err() != nil {
			return nil // shutting down: keep the last error, try no more
		}
		res.Tries++
		actx, cancel := context.WithTimeout(detached, p.ActionTimeout)
		defer cancel()
		last = safeDo(actx, a)
		if last != nil {
			return retry.RetryableError(last)
		}
		return nil
	})
	res.Elapsed = time.Since(begin)
	if last != nil {
		res.Err = last
		res.Error = last.Error()
	}
	return res
}

func safeDo(ctx context.Context, a Action) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return a.Do(ctx)
}

// backoffDelay is the pause before the (n+1)-th attempt after n attempts.
func backoffDelay(b Backoff, n int) time.Duration {
	var bo retry.Backoff = retry.NewExponential(b.Base)
	bo = retry.WithCappedDuration(b.Max, bo)
	if b.Jitter > 0 {
		bo = retry.WithJitterPercent(uint64(b.Jitter*100), bo)
	}
	d := b.Base
	for range n {
		next, stop := bo.Next()
		if stop {
			break
		}
		d = next
	}
	return d
}
