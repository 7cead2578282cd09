package redundancy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Target is one thing the orchestrator keeps alive.
type Target struct {
	// Name identifies the target; unique within an orchestrator. It may not
	// contain "/", which separates nested names.
	Name string
	// Checker checks it; required.
	Checker Checker
	// Recoverer plans its repairs; nil means watch and alert only.
	Recoverer Recoverer
	// Policy tunes checking and recovery; zero fields take the defaults.
	Policy Policy
	// Source, when set, wakes the target between its scheduled checks: Run
	// watches it for as long as it runs (Tick and the one-shot methods do
	// not). A Source (or a Checker) that implements ConnectionReporter has
	// its connection shown in TargetState.Source and in metrics.
	Source EventSource
	// Criticality says whether the target's failure fails the whole
	// (Critical, the zero value) or only warns (NonCritical): see
	// Snapshot.Health and Snapshot.Readiness. Either way it is recovered.
	Criticality Criticality
	// DependsOn names targets of the same orchestrator, added before this
	// one, that this one needs (PM2 apps need the PM2 daemon). While one
	// of them is failing, or has not been checked since this one began to
	// fail, this target raises no alert of its own (the dependency's alert
	// lists it in Affected) and its repairs are held back
	// (ErrDependencyFailing) unless forced.
	DependsOn []string
	// ProblemDeps declares which of its problems follow from others (see
	// ProblemDeps); providers export theirs.
	ProblemDeps ProblemDeps
	// Alerts says when its alerts page; zero fields take the defaults.
	Alerts AlertPolicy

	nested *Orchestrator // set by Nest: the child orchestrator this target stands for
}

// ErrInvalidTarget is wrapped by Add's errors for a target that cannot be added.
var ErrInvalidTarget = errors.New("invalid target")

func (t Target) validate() error {
	name := strings.TrimSpace(t.Name)
	switch {
	case name == "":
		return fmt.Errorf("%w: target.Name is empty", ErrInvalidTarget)
	case name != t.Name:
		return fmt.Errorf("%w: target.Name %q has leading or trailing space", ErrInvalidTarget, t.Name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("%w: target.Name %q contains \"/\"", ErrInvalidTarget, t.Name)
	case t.Checker == nil:
		return fmt.Errorf("%w: target %q: target.Checker is nil", ErrInvalidTarget, t.Name)
	}
	if err := t.Policy.Validate(); err != nil {
		return fmt.Errorf("%w: target %q: %w", ErrInvalidTarget, t.Name, err)
	}
	if err := t.Alerts.Validate(); err != nil {
		return fmt.Errorf("%w: target %q: %w", ErrInvalidTarget, t.Name, err)
	}
	if err := t.ProblemDeps.Validate(); err != nil {
		return fmt.Errorf("%w: target %q: %w", ErrInvalidTarget, t.Name, err)
	}
	for i, d := range t.DependsOn {
		if d == t.Name || slices.Contains(t.DependsOn[:i], d) {
			return fmt.Errorf("%w: target %q: DependsOn names %q twice or itself", ErrInvalidTarget, t.Name, d)
		}
	}
	return nil
}
