package redundancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ProblemTargetFailing is the problem code an orchestrator reports, as a
// Checker, for one of its targets that is not healthy and has no findings
// of its own (for example a check that could not run).
const ProblemTargetFailing Problem = "redundancy.target-failing"

// VerbRecoverTarget is the verb of the actions an orchestrator plans, as a
// Recoverer, for its failing targets.
const VerbRecoverTarget = "redundancy.recover"

var (
	_ Checker   = (*Orchestrator)(nil)
	_ Recoverer = (*Orchestrator)(nil)
)

// Check makes an Orchestrator a Checker, so it can be a target of another
// ("master") orchestrator. It runs one Tick (its own targets are checked
// and recovered on their own policies) and reports the worst status, with
// every finding of its failing targets, subjects prefixed "target/". Under
// a parent's CheckNow it checks without recovering.
func (o *Orchestrator) Check(ctx context.Context) Report {
	var snap Snapshot
	if isCheckOnly(ctx) {
		snap = o.CheckNow(ctx)
	} else {
		snap = o.Tick(ctx)
	}
	counts := map[Status]int{}
	var findings []Finding
	var errs []error
	for _, ts := range snap.Targets {
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
	r := Report{Status: snap.Status, Summary: fmt.Sprintf("%d targets: %s", len(snap.Targets), strings.Join(parts, ", ")), Findings: findings}
	if len(snap.Targets) == 0 {
		r.Summary = "no targets"
	}
	// Only when nothing at all could be checked is the check itself failed.
	if len(errs) > 0 && len(errs) == len(snap.Targets) {
		r.Err = errors.Join(errs...)
	}
	return r
}

// Plan makes an Orchestrator a Recoverer. For each of its own targets that
// is not healthy and has a recoverer it plans one action,
// VerbRecoverTarget, whose Reason lists what that target's recoverer
// would do and whose Do runs RecoverNow(ctx, WithinBudget, target): the
// child's own budget and escalation stay in charge.
func (o *Orchestrator) Plan(ctx context.Context, r Report) ([]Action, error) {
	snap := o.Snapshot()
	var actions []Action
	var errs []error
	for _, ts := range snap.Targets {
		if ts.Status == StatusHealthy {
			continue
		}
		t, err := o.lookup([]string{ts.Name})
		if err != nil || len(t) == 0 || t[0].spec.Recoverer == nil {
			continue
		}
		inner, err := o.plan(ctx, t[0], ts.Report)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(inner) == 0 {
			continue
		}
		verbs := make([]string, 0, len(inner))
		for _, a := range inner {
			verbs = append(verbs, strings.TrimSpace(a.Verb+" "+a.Subject))
		}
		name := ts.Name
		actions = append(actions, Action{
			Verb:    VerbRecoverTarget,
			Subject: name,
			Reason:  strings.Join(verbs, "; "),
			Do: func(ctx context.Context) error {
				_, err := o.RecoverNow(ctx, WithinBudget, name)
				return err
			},
		})
	}
	return actions, errors.Join(errs...)
}
