package redundancy

import (
	"fmt"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of event.
const (
	EventStatusChanged     EventKind = iota + 1 // the target's status changed (From → To)
	EventRecoveryStarted                        // a recovery attempt began (Attempt)
	EventActionSucceeded                        // one action of a plan succeeded (Action)
	EventActionFailed                           // one action failed after its retries (Action, Err)
	EventRecoverySucceeded                      // every action of the attempt succeeded
	EventRecoveryFailed                         // the attempt stopped at a failed action, or could not be planned
	EventEscalated                              // the budget is spent: no more actions until a healthy stretch or a forced recovery
	EventCheckPanicked                          // a checker panicked; the panic was contained (Err wraps a *PanicError)
	EventStateDiscarded                         // the state file could not be read and was set aside, or cannot be used (Err)
	EventPlanPanicked                           // a recoverer's Plan panicked; the recovery failed (Err wraps a *PanicError)
	EventLeadershipGained                       // this replica leads its group (WithElection); Action says the token
	EventLeadershipLost                         // this replica no longer leads its group (Err says why)
	EventAlert                                  // an alert notice (Alert): open, update, renotify or resolved
)

var eventNames = map[EventKind]string{
	EventStatusChanged:     "status-changed",
	EventRecoveryStarted:   "recovery-started",
	EventActionSucceeded:   "action-succeeded",
	EventActionFailed:      "action-failed",
	EventRecoverySucceeded: "recovery-succeeded",
	EventRecoveryFailed:    "recovery-failed",
	EventEscalated:         "escalated",
	EventCheckPanicked:     "check-panicked",
	EventStateDiscarded:    "state-discarded",
	EventPlanPanicked:      "plan-panicked",
	EventLeadershipGained:  "leadership-gained",
	EventLeadershipLost:    "leadership-lost",
	EventAlert:             "alert",
}

// String returns the kind's kebab-case name ("status-changed").
func (k EventKind) String() string {
	if n, ok := eventNames[k]; ok {
		return n
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// MarshalText encodes k as its name.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Event is something that happened to a target.
type Event struct {
	Time    time.Time
	Target  string
	Kind    EventKind
	From    Status // EventStatusChanged
	To      Status // EventStatusChanged
	Report  Report // the report that led to the event, when there is one
	Action  string // "verb subject" for action events
	Verb    string // the action's verb alone, for action events
	Attempt int    // recovery attempt number within the budget window (1-based)
	Err     error
	// History is set on EventEscalated: the action results of the attempts
	// inside the budget window, oldest first (what was tried).
	History []ActionResult
	// Attempts is set on EventEscalated: the recovery attempts inside the
	// budget window, oldest first, each with its actions and outcome.
	Attempts []AttemptRecord
	// Alert is set on EventAlert: the notice. Silenced notices and quiet
	// closes reach the logger and subscribers, not the notifiers.
	Alert *Alert
	// Plan is set on EventRecoveryStarted: the attempt's actions, in order,
	// each as "verb subject" (Action.String).
	Plan []string
}

// String returns a one-line description for logs.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Target, e.Kind)
	switch e.Kind {
	case EventStatusChanged:
		s += fmt.Sprintf(" %s→%s", e.From, e.To)
	case EventRecoveryStarted, EventRecoverySucceeded, EventRecoveryFailed:
		s += fmt.Sprintf(" attempt %d", e.Attempt)
	}
	if e.Action != "" {
		s += " " + e.Action
	}
	if e.Alert != nil {
		s += " " + e.Alert.String()
		switch {
		case e.Alert.Silenced != "":
			s += " (silenced by " + e.Alert.Silenced + ")"
		case e.Alert.Quiet:
			s += " (quiet: not paged)"
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}
