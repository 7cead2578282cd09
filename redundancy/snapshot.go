package redundancy

import (
	"slices"
	"time"
)

// Snapshot is the state of every target at one moment.
type Snapshot struct {
	// Status is the worst target status (healthy when there are no targets).
	Status  Status        `json:"status"`
	Time    time.Time     `json:"time"`
	Targets []TargetState `json:"targets"`
	// Silences are the silences set (Orchestrator.Silence), active or not.
	Silences []SilenceState `json:"silences,omitempty"`
}

// TargetState is one target's state in a Snapshot.
type TargetState struct {
	Name   string `json:"name"`
	Status Status `json:"status"` // after thresholds; Report.Status is the latest raw result
	Report Report `json:"report"`
	// Error is Report.Err's message, for JSON.
	Error               string         `json:"error,omitempty"`
	LastCheck           time.Time      `json:"last_check,omitzero"`
	NextCheck           time.Time      `json:"next_check,omitzero"`
	ConsecutiveFailures int            `json:"consecutive_failures"`
	Recoveries          int            `json:"recoveries"`  // attempts ever made
	BudgetLeft          int            `json:"budget_left"` // attempts left in the current window
	Escalated           bool           `json:"escalated"`
	NextAttempt         time.Time      `json:"next_attempt,omitzero"` // backoff: no automatic attempt before this
	History             []ActionResult `json:"history,omitempty"`     // the last 100 action results, oldest first
	// Criticality is the target's (Target.Criticality).
	Criticality Criticality `json:"criticality"`
	// Source is the connection of the target's event source, when its
	// Source or Checker reports one (ConnectionReporter).
	Source SourceState `json:"source,omitempty"`
	// Alerts are its pending and open alerts (its flapping alert first).
	Alerts []Alert `json:"alerts,omitempty"`
	// Silenced is the ID of an active silence of the whole target (every
	// problem), if any.
	Silenced string `json:"silenced,omitempty"`
	// RepairsHeld says why its repairs are held back now (a maintenance
	// window, a failing dependency), if they are.
	RepairsHeld string `json:"repairs_held,omitempty"`
}

// Snapshot returns the current state of every target, in the order they
// were added. With WithRedactor its text (reports, errors, history) is
// redacted.
func (o *Orchestrator) Snapshot() Snapshot {
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	s := Snapshot{Status: StatusHealthy, Time: now, Targets: make([]TargetState, 0, len(o.order))}
	affected := o.affectedIndex()
	for _, name := range o.order {
		ts := o.targetState(o.targets[name], now, affected)
		s.Status = Worse(s.Status, ts.Status)
		s.Targets = append(s.Targets, ts)
	}
	s.Silences = o.Silences()
	return s
}

// Target returns the state of one target.
func (o *Orchestrator) Target(name string) (TargetState, bool) {
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.targets[name]
	if !ok {
		return TargetState{}, false
	}
	return o.targetState(t, now, o.affectedIndex()), true
}

// targetState is t.state with what the orchestrator knows about its alerts,
// silences and holds; the caller holds o.mu.
func (o *Orchestrator) targetState(t *target, now time.Time, affected map[string][]string) TargetState {
	ts := t.state(now)
	ts.Alerts = o.alertStates(t, now, affected)
	ts.Silenced = o.silencedBy(t.spec.Name, "", now, false)
	if t.spec.Recoverer != nil && t.isBad() {
		ts.RepairsHeld = o.repairsHeld(t, now)
	}
	return ts
}

// state copies t; the caller holds the orchestrator's lock.
func (t *target) state(now time.Time) TargetState {
	ts := TargetState{
		Name:                t.spec.Name,
		Status:              t.status,
		Report:              t.report,
		LastCheck:           t.lastCheck,
		NextCheck:           t.nextCheck,
		ConsecutiveFailures: t.failures,
		Recoveries:          t.recoveries,
		BudgetLeft:          t.budgetLeft(now),
		Escalated:           t.escalated,
		History:             slices.Clone(t.history),
		Criticality:         t.spec.Criticality,
		Source:              t.spec.sourceState(),
	}
	if t.report.Err != nil {
		ts.Error = t.report.Err.Error()
	}
	if t.backoffN > 0 && t.nextAttempt.After(now) {
		ts.NextAttempt = t.nextAttempt
	}
	return ts
}
