package redundancy

import (
	"errors"
	"fmt"
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
	return nil
}
