package redundancy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// AttemptOutcome is how a recovery attempt ended, and what the target did
// after it.
type AttemptOutcome int

// The outcomes of an attempt.
const (
	// AttemptRunning: it has not ended yet.
	AttemptRunning AttemptOutcome = iota
	// AttemptFailed: an action failed (after its retries), or no plan
	// could be made.
	AttemptFailed
	// AttemptInterrupted: shutdown stopped it before all its actions ran.
	AttemptInterrupted
	// AttemptSucceeded: every action succeeded, and the target has not
	// failed since.
	AttemptSucceeded
	// AttemptNoEffect: every action succeeded but the next check still
	// found the target failing.
	AttemptNoEffect
	// AttemptRelapsed: every action succeeded, the target came back, then
	// failed again.
	AttemptRelapsed
)

var outcomeNames = map[AttemptOutcome]string{
	AttemptRunning:     "running",
	AttemptFailed:      "failed",
	AttemptInterrupted: "interrupted",
	AttemptSucceeded:   "succeeded",
	AttemptNoEffect:    "succeeded but the target stayed failing",
	AttemptRelapsed:    "succeeded then failed again",
}

// String describes the outcome ("succeeded then failed again").
func (o AttemptOutcome) String() string {
	if n, ok := outcomeNames[o]; ok {
		return n
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText encodes o as its description.
func (o AttemptOutcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText decodes a description written by MarshalText.
func (o *AttemptOutcome) UnmarshalText(b []byte) error {
	for k, n := range outcomeNames {
		if n == string(b) {
			*o = k
			return nil
		}
	}
	return fmt.Errorf("redundancy: unknown attempt outcome %q", b)
}

// AttemptRecord is one recovery attempt of a target: when, how it ended,
// and (in escalation reports) its actions.
type AttemptRecord struct {
	// Recovery numbers the target's attempts since it was first added
	// (TargetState.Recoveries when it began); ActionResult.Recovery names it.
	Recovery int            `json:"recovery"`
	Started  time.Time      `json:"started"`
	Forced   bool           `json:"forced,omitempty"`
	Outcome  AttemptOutcome `json:"outcome"`
	Error    string         `json:"error,omitempty"`
	// Recovered: a healthy report came after it (internal to outcomes).
	Recovered bool           `json:"recovered,omitempty"`
	Actions   []ActionResult `json:"actions,omitempty"`
}

// attemptLogLimit bounds the attempts a target keeps.
const attemptLogLimit = 50

// logAttempt records the start of attempt serial; the caller holds o.mu.
func (t *target) logAttempt(serial int, now time.Time, forced bool) {
	t.attemptLog = append(t.attemptLog, AttemptRecord{Recovery: serial, Started: now, Forced: forced})
	if over := len(t.attemptLog) - attemptLogLimit; over > 0 {
		t.attemptLog = append(t.attemptLog[:0:0], t.attemptLog[over:]...)
	}
}

// endAttempt records how attempt serial ended; the caller holds o.mu.
func (t *target) endAttempt(serial int, err error, red *Redactor) {
	for i := len(t.attemptLog) - 1; i >= 0; i-- {
		a := &t.attemptLog[i]
		if a.Recovery != serial {
			continue
		}
		switch {
		case err == nil:
			a.Outcome = AttemptSucceeded
		case errors.Is(err, ErrInterrupted):
			a.Outcome = AttemptInterrupted
		default:
			a.Outcome = AttemptFailed
		}
		if err != nil {
			a.Error = red.String(err.Error())
		}
		return
	}
}

// observeAttempts updates the outcome of the last successful attempt from a
// report; the caller holds o.mu.
func (t *target) observeAttempts(r Report) {
	if len(t.attemptLog) == 0 {
		return
	}
	a := &t.attemptLog[len(t.attemptLog)-1]
	if a.Outcome != AttemptSucceeded {
		return
	}
	switch r.Status {
	case StatusHealthy:
		a.Recovered = true
	case StatusDegraded, StatusUnhealthy:
		if a.Recovered {
			a.Outcome = AttemptRelapsed
		} else {
			a.Outcome = AttemptNoEffect
		}
	}
}

// windowAttempts returns the attempts still inside the budget window,
// oldest first, each with its actions from the history; the caller holds
// o.mu.
func (t *target) windowAttempts(now time.Time) []AttemptRecord {
	var out []AttemptRecord
	for _, a := range t.attemptLog {
		if now.Sub(a.Started) >= t.policy.Budget.Window {
			continue
		}
		for _, h := range t.history {
			if h.Recovery == a.Recovery {
				a.Actions = append(a.Actions, h)
			}
		}
		out = append(out, a)
	}
	return out
}

// spentCause says why a spent budget escalates a target: how many attempts
// there were and how they ended ("3 recovery attempts in 10m0s did not keep
// "web" healthy: 2 succeeded then failed again, 1 failed"); the caller
// holds o.mu.
func (t *target) spentCause(n int, now time.Time) error {
	counts := map[AttemptOutcome]int{}
	for _, a := range t.windowAttempts(now) {
		counts[a.Outcome]++
	}
	var parts []string
	for _, oc := range []AttemptOutcome{AttemptRelapsed, AttemptNoEffect, AttemptFailed, AttemptInterrupted, AttemptSucceeded} {
		if c := counts[oc]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, oc))
		}
	}
	msg := fmt.Sprintf("%d recovery attempts in %s did not keep %q healthy", n, t.policy.Budget.Window, t.spec.Name)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return errors.New(msg)
}
