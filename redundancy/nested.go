package redundancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ProblemTargetFailing is the problem code a nested orchestrator's report
// (Nest) gives one of its targets that is not healthy and has no findings
// of its own (for example a check that could not run).
const ProblemTargetFailing Problem = "redundancy.target-failing"

// VerbRecoverTarget is the verb of the actions a parent plans for the
// failing targets of a nested orchestrator (Nest).
const VerbRecoverTarget = "redundancy.recover"

// The nesting defaults: what the zero fields of the policy given to Nest
// become, besides the ordinary defaults of Policy.
const (
	// NestFailureMargin is how many more consecutive failing reports than
	// the child's most patient target the parent waits for before it
	// recovers the child as a whole: the child's own policies act first.
	NestFailureMargin = 2
	// NestActionTimeout bounds one recovery of the child as a whole: it
	// runs the child's own plan, whose actions each have their own
	// ActionTimeout and retries.
	NestActionTimeout = 10 * time.Minute
)

// Nest makes child a target of another orchestrator (the parent, which Add
// adopts it into). The target's report is the child's state, read from the
// child (the worst status, with the findings of the failing targets,
// subjects prefixed "target/"); reading it never checks nor recovers
// anything. Its recoverer plans one VerbRecoverTarget action per degraded
// or unhealthy child target, whose Do runs child.RecoverNow for that
// target: the child's own budget and escalation stay in charge.
//
// The parent drives the child: its Run runs child.Run beside its own loop
// (and waits for it on shutdown), its Tick ticks the child first, its
// CheckNow and RecoverNow check the child first, and its Plan returns the
// child's plan. A check of the child's targets triggered by child.Trigger
// wakes the parent's target for the child once it is done.
//
// Zero fields of p take the nesting defaults, computed from the child's
// targets when Nest is called (add them first): Interval the shortest of
// their intervals, FailureThreshold the highest of their thresholds plus
// NestFailureMargin, ActionTimeout NestActionTimeout, Retry none (the
// child retries its own actions); the rest take Policy's defaults.
func Nest(name string, child *Orchestrator, p Policy) Target {
	if child == nil {
		return Target{Name: name, Policy: p}
	}
	interval, threshold := child.nestDefaults()
	if p.Interval == 0 {
		p.Interval = interval
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = threshold + NestFailureMargin
	}
	if p.ActionTimeout == 0 {
		p.ActionTimeout = NestActionTimeout
	}
	if p.Retry == 0 {
		p.Retry = -1
	}
	return Target{Name: name, Checker: nestChecker{child}, Recoverer: nestRecoverer{child}, Policy: p, nested: child}
}

// nestDefaults returns the shortest interval and the highest failure
// threshold of o's targets (the defaults when it has none).
func (o *Orchestrator) nestDefaults() (interval time.Duration, threshold int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	interval, threshold = DefaultInterval, DefaultFailureThreshold
	for i, name := range o.order {
		p := o.targets[name].policy
		if i == 0 || p.Interval < interval {
			interval = p.Interval
		}
		if i == 0 || p.FailureThreshold > threshold {
			threshold = p.FailureThreshold
		}
	}
	return interval, threshold
}

// adopt links child under o as name. The caller holds o.mu.
func (o *Orchestrator) adopt(child *Orchestrator, name string) error {
	if child == o {
		return fmt.Errorf("%w: target %q: an orchestrator cannot be nested in itself", ErrInvalidTarget, name)
	}
	for l := o.parent.Load(); l != nil; l = l.parent.parent.Load() {
		if l.parent == child {
			return fmt.Errorf("%w: target %q: the orchestrator is an ancestor of this one (a cycle)", ErrInvalidTarget, name)
		}
	}
	if !child.parent.CompareAndSwap(nil, &parentLink{parent: o, name: name}) {
		return fmt.Errorf("%w: target %q: the orchestrator is already nested in another one", ErrInvalidTarget, name)
	}
	return nil
}

// children returns the orchestrators nested in o.
func (o *Orchestrator) children() []*Orchestrator {
	o.mu.Lock()
	defer o.mu.Unlock()
	var cs []*Orchestrator
	for _, name := range o.order {
		if c := o.targets[name].spec.nested; c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// idleChildren returns the orchestrators nested in o that no Run drives.
func (o *Orchestrator) idleChildren() []*Orchestrator {
	cs := o.children()
	idle := cs[:0]
	for _, c := range cs {
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if !running {
			idle = append(idle, c)
		}
	}
	return idle
}

// nestChecker reports a child orchestrator's state.
type nestChecker struct{ child *Orchestrator }

// Check returns the child's state as a report; it checks nothing.
func (n nestChecker) Check(context.Context) Report { return n.child.Snapshot().report() }

// report sums up a snapshot: the worst status, the findings of the
// failing targets (subjects prefixed "target/"), and an error only when no
// target could be checked at all.
func (s Snapshot) report() Report {
	counts := map[Status]int{}
	var findings []Finding
	var errs []error
	for _, ts := range s.Targets {
		counts[ts.Status]++
		if ts.Status == StatusHealthy {
			continue
		}
		if ts.Report.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ts.Name, ts.Report.Err))
		}
		if len(ts.Report.Findings) == 0 {
			findings = append(findings, Finding{Subject: ts.Name, Problem: ProblemTargetFailing, Status: ts.Status, Detail: ts.Report.Summary})
			continue
		}
		for _, f := range ts.Report.Findings {
			f.Subject = ts.Name + "/" + f.Subject
			findings = append(findings, f)
		}
	}
	var parts []string
	for _, st := range []Status{StatusHealthy, StatusDegraded, StatusUnknown, StatusUnhealthy} {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	r := Report{Status: s.Status, Summary: fmt.Sprintf("%d targets: %s", len(s.Targets), strings.Join(parts, ", ")), Findings: findings}
	if len(s.Targets) == 0 {
		r.Summary = "no targets"
	}
	if len(errs) > 0 && len(errs) == len(s.Targets) {
		r.Err = errors.Join(errs...)
	}
	return r
}

// nestRecoverer plans the recovery of a child orchestrator's failing
// targets through the child's own RecoverNow.
type nestRecoverer struct{ child *Orchestrator }

// Plan returns one VerbRecoverTarget action per degraded or unhealthy
// child target that has a recoverer. It asks no recoverer for a plan: the
// child plans once, when the action runs.
func (n nestRecoverer) Plan(context.Context, Report) ([]Action, error) {
	var actions []Action
	for _, ts := range n.child.Snapshot().Targets {
		if ts.Status != StatusDegraded && ts.Status != StatusUnhealthy || !n.child.recoverable(ts.Name) {
			continue
		}
		name := ts.Name
		actions = append(actions, Action{
			Verb:    VerbRecoverTarget,
			Subject: name,
			Reason:  fmt.Sprintf("%s: %s", ts.Status, ts.Report.Summary),
			Do: func(ctx context.Context) error {
				var opts []RecoverOption
				if isForced(ctx) {
					opts = append(opts, Force())
				}
				_, err := n.child.RecoverNow(ctx, []string{name}, opts...)
				return err
			},
		})
	}
	return actions, nil
}

// recoverable reports whether o has a target name with a recoverer whose
// repairs are not held back (a maintenance window, a failing dependency).
func (o *Orchestrator) recoverable(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.targets[name]
	return ok && t.spec.Recoverer != nil && o.repairsHeld(t, o.clock.Now()) == ""
}
