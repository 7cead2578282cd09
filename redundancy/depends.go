package redundancy

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors of recoveries held back by a maintenance window or a dependency.
var (
	// ErrRepairsPaused is wrapped by the error of a recovery refused
	// because an active silence with PauseRepairs matches the target (or
	// every problem it has).
	ErrRepairsPaused = errors.New("redundancy: repairs paused by a maintenance window")
	// ErrDependencyFailing is wrapped by the error of a recovery refused
	// because a target it depends on (Target.DependsOn) is failing, or has
	// not been checked since this one began to fail.
	ErrDependencyFailing = errors.New("redundancy: a dependency is failing")
)

// ProblemDeps declares which problems of a target follow from others, for
// findings within one target: ProblemDeps{pm2.ProblemErrored:
// {pm2.ProblemDaemonDown}} says that while a report has a daemon-down
// finding, its errored findings raise no alert of their own (the
// daemon-down alert lists them in Affected) and are left out of the report
// its recoverer plans from. Providers declare theirs; see
// Target.ProblemDeps.
type ProblemDeps map[Problem][]Problem

// Validate reports an empty problem, a problem that depends on itself, and
// cycles (a problem that, through others, depends on itself): they would
// hold each other's alerts forever.
func (d ProblemDeps) Validate() error {
	var errs []error
	for p, parents := range d {
		if p == "" || slices.Contains(parents, "") {
			errs = append(errs, errors.New("problem dependencies: empty problem"))
		}
		if slices.Contains(parents, p) {
			errs = append(errs, fmt.Errorf("problem dependencies: %q depends on itself", p))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Depth-first search for a cycle.
	const (
		unseen = iota
		onPath
		done
	)
	state := map[Problem]int{}
	var visit func(p Problem, path []Problem) error
	visit = func(p Problem, path []Problem) error {
		switch state[p] {
		case onPath:
			return fmt.Errorf("problem dependencies: cycle %v", append(path, p))
		case done:
			return nil
		}
		state[p] = onPath
		for _, q := range d[p] {
			if err := visit(q, append(path, p)); err != nil {
				return err
			}
		}
		state[p] = done
		return nil
	}
	keys := make([]Problem, 0, len(d))
	for p := range d {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		if err := visit(p, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkDepends checks t.DependsOn against the targets already added; the
// caller holds o.mu.
func (o *Orchestrator) checkDepends(t Target) error {
	for _, name := range t.DependsOn {
		if _, ok := o.targets[name]; !ok {
			return fmt.Errorf("%w: target %q: depends on %q, which is not a target of this orchestrator (add it first)", ErrInvalidTarget, t.Name, name)
		}
	}
	return nil
}

// maxDependDepth bounds how far a chain of dependencies is followed.
const maxDependDepth = 32

// targetHold returns what holds t's alerts and repairs back: the key of the
// alert that stands for a failing dependency (its root cause), or the name
// of a dependency that has not been checked since t began to fail (wait;
// it is triggered). Empty when nothing does. The caller holds o.mu.
func (o *Orchestrator) targetHold(t *target, depth int) (by string, wait bool) {
	for _, name := range t.spec.DependsOn {
		p := o.targets[name]
		if p == nil {
			continue
		}
		since := t.al.BadSince
		if p.lastCheck.IsZero() || !since.IsZero() && p.lastCheck.Before(since) {
			if !p.triggered {
				p.triggered = true
				o.listLocked(p) // as Trigger does: the scheduler checks it next
			}
			return name, true
		}
		if p.status == StatusHealthy && p.report.Status == StatusHealthy {
			continue
		}
		return o.rootKey(p, depth+1), false
	}
	return "", false
}

// rootKey returns the key of the alert that stands for failing target p:
// its dependency's when p is itself held, else its flapping alert or its
// most severe alert, else p's name. The caller holds o.mu.
func (o *Orchestrator) rootKey(p *target, depth int) string {
	if depth < maxDependDepth {
		if by, _ := o.targetHold(p, depth); by != "" {
			return by
		}
	}
	if p.al.Flap != nil {
		return AlertKey(p.spec.Name, ProblemFlapping)
	}
	var best *alertRec
	for _, a := range p.al.sorted() {
		if a.HeldBy != "" {
			continue
		}
		if best == nil || a.State == AlertOpen && best.State != AlertOpen ||
			a.State == best.State && a.severity() > best.severity() {
			best = a
		}
	}
	if best != nil {
		return AlertKey(p.spec.Name, best.Problem)
	}
	return p.spec.Name
}

// problemHold returns the key of the alert that stands for problem p of t
// when p depends (ProblemDeps) on a problem in present, or "".
func problemHold(t *target, p Problem, present map[Problem]bool) string {
	seen := map[Problem]bool{}
	var root Problem
	for cur := p; ; {
		next := Problem("")
		for _, q := range t.spec.ProblemDeps[cur] {
			if present[q] && !seen[q] {
				next = q
				break
			}
		}
		if next == "" {
			break
		}
		seen[next] = true
		root, cur = next, next
	}
	if root == "" {
		return ""
	}
	return AlertKey(t.spec.Name, root)
}

// repairScope returns the report t's recoverer plans from, or why no
// recovery may run now: a maintenance window that pauses the repairs of the
// target or of all its problems (ErrRepairsPaused), or a failing
// dependency (ErrDependencyFailing). Findings of paused problems and of
// problems that follow from others present (ProblemDeps) are left out. A
// forced recovery is never held back.
func (o *Orchestrator) repairScope(t *target, r Report, now time.Time, mode attemptMode) (Report, error) {
	if mode == modeForced {
		return r, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.repairScopeLocked(t, r, now)
}

// repairScopeLocked is repairScope for an unforced recovery; the caller
// holds o.mu.
func (o *Orchestrator) repairScopeLocked(t *target, r Report, now time.Time) (Report, error) {
	name := t.spec.Name
	by, wait := o.targetHold(t, 0)
	if by != "" {
		if wait {
			return r, fmt.Errorf("redundancy: recover %q: %w: waiting for the check of %q", name, ErrDependencyFailing, by)
		}
		return r, fmt.Errorf("redundancy: recover %q: %w: %s", name, ErrDependencyFailing, by)
	}
	present := map[Problem]bool{}
	for _, f := range r.Findings {
		if f.Status != StatusHealthy {
			present[f.Problem] = true
		}
	}
	if len(present) == 0 {
		if id := o.silencedBy(name, reportProblem(t, r), now, true); id != "" {
			return r, fmt.Errorf("redundancy: recover %q: %w: silence %q", name, ErrRepairsPaused, id)
		}
		return r, nil
	}
	keep := make([]Finding, 0, len(r.Findings))
	bad, paused := 0, ""
	for _, f := range r.Findings {
		if f.Status == StatusHealthy {
			keep = append(keep, f)
			continue
		}
		if id := o.silencedBy(name, f.Problem, now, true); id != "" {
			paused = id
			continue
		}
		if problemHold(t, f.Problem, present) != "" {
			continue
		}
		keep = append(keep, f)
		bad++
	}
	if bad == 0 && paused != "" {
		return r, fmt.Errorf("redundancy: recover %q: %w: silence %q", name, ErrRepairsPaused, paused)
	}
	r.Findings = keep
	return r, nil
}

// repairsHeld says why the repairs of t are held back now (paused, or a
// dependency failing), or "". The caller holds o.mu.
func (o *Orchestrator) repairsHeld(t *target, now time.Time) string {
	if _, err := o.repairScopeLocked(t, t.report, now); err != nil {
		return err.Error()
	}
	return ""
}

// reportProblem is the problem an alert gives a bad report without
// findings.
func reportProblem(t *target, r Report) Problem {
	if r.Status == StatusUnknown || t.status == StatusUnknown {
		return ProblemCheckFailed
	}
	return ProblemTargetFailing
}
