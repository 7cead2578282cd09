package redundancy

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Problems the core itself gives alerts that no finding names.
const (
	// ProblemCheckFailed is the problem of an alert for a target whose
	// check could not run FailureThreshold times in a row (StatusUnknown).
	ProblemCheckFailed Problem = "redundancy.check-failed"
	// ProblemFlapping is the problem of a target's flapping alert: it went
	// bad AlertPolicy.FlapCount times within AlertPolicy.FlapWindow.
	ProblemFlapping Problem = "redundancy.flapping"
)

// Severity is how urgent an alert is.
type Severity int

// The severities, from least to most urgent.
const (
	SeverityWarning   Severity = iota + 1 // degraded, a check that cannot run, flapping
	SeverityCritical                      // unhealthy
	SeverityEscalated                     // the recovery budget or the recoverer's options are spent: people must act
)

var severityNames = map[Severity]string{SeverityWarning: "warning", SeverityCritical: "critical", SeverityEscalated: "escalated"}

// String returns the severity's name ("critical").
func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for k, n := range severityNames {
		if strings.EqualFold(n, string(b)) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("redundancy: unknown severity %q (want warning, critical or escalated)", b)
}

// severityOf maps a status to the severity of an alert about it.
func severityOf(s Status) Severity {
	if s == StatusUnhealthy {
		return SeverityCritical
	}
	return SeverityWarning
}

// AlertNotice says why an alert is being sent.
type AlertNotice int

// The notices an AlertNotifier receives.
const (
	NoticeOpen     AlertNotice = iota + 1 // the alert opened
	NoticeUpdate                          // its severity rose (escalation is one)
	NoticeRenotify                        // it is still open: a reminder, at most every AlertPolicy.Renotify
	NoticeResolved                        // its target is healthy again: the alert is closed
)

var noticeNames = map[AlertNotice]string{NoticeOpen: "open", NoticeUpdate: "update", NoticeRenotify: "renotify", NoticeResolved: "resolved"}

// String returns the notice's name ("open").
func (n AlertNotice) String() string {
	if s, ok := noticeNames[n]; ok {
		return s
	}
	return fmt.Sprintf("notice(%d)", int(n))
}

// MarshalText encodes n as its name.
func (n AlertNotice) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText decodes a notice name.
func (n *AlertNotice) UnmarshalText(b []byte) error {
	for k, s := range noticeNames {
		if s == string(b) {
			*n = k
			return nil
		}
	}
	return fmt.Errorf("redundancy: unknown alert notice %q", b)
}

// AlertState is where an alert is in its lifecycle.
type AlertState int

// The alert states.
const (
	// AlertPending: the target is bad past its threshold but nobody is
	// paged (yet): a repair is under way (quiet repairs), or another alert
	// stands for it (a failing dependency, the target's flapping alert).
	AlertPending  AlertState = iota + 1
	AlertOpen                // paged (or would be, but for a silence)
	AlertResolved            // closed: the target is healthy again
)

var alertStateNames = map[AlertState]string{AlertPending: "pending", AlertOpen: "open", AlertResolved: "resolved"}

// String returns the state's name ("open").
func (s AlertState) String() string {
	if n, ok := alertStateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("alert-state(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s AlertState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *AlertState) UnmarshalText(b []byte) error {
	for k, n := range alertStateNames {
		if n == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("redundancy: unknown alert state %q", b)
}

// Alert is one problem of one target, from the moment the target goes bad
// past its FailureThreshold until it is healthy again: an alert opens
// once, is re-sent at most every AlertPolicy.Renotify while it stays open,
// rises in severity (escalation), and closes with a resolved notice. Its
// Key ("<target>/<problem>") is stable across its life and across restarts
// of the orchestrator, for deduplication by the receiver.
//
// Notifiers receive alerts as notices (Notice set); Snapshot shows the
// current ones (Notice zero).
type Alert struct {
	Key      string      `json:"key"`
	Notice   AlertNotice `json:"notice,omitempty"`
	State    AlertState  `json:"state"`
	Target   string      `json:"target"`
	Problem  Problem     `json:"problem"`
	Severity Severity    `json:"severity"`
	Summary  string      `json:"summary,omitempty"`
	// Subjects are the subjects of the findings with this problem.
	Subjects []string  `json:"subjects,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	// FirstSeen is when the problem was first seen (the first failing
	// report, before the threshold was reached).
	FirstSeen time.Time `json:"first_seen"`
	// Opened is when the alert opened (zero while pending).
	Opened time.Time `json:"opened,omitzero"`
	// Resolved is when it closed (zero while open).
	Resolved time.Time `json:"resolved,omitzero"`
	// Time is when this notice (or snapshot) was made.
	Time time.Time `json:"time"`
	// Notifications counts the notices sent for it, this one included.
	Notifications int `json:"notifications"`
	// HeldBy, for a pending alert, is the key of the alert that stands for
	// it (a failing dependency's, or the flapping alert), or the name of a
	// dependency whose verdict is awaited.
	HeldBy string `json:"held_by,omitempty"`
	// Affected are the keys of the alerts this one stands for (HeldBy).
	Affected []string `json:"affected,omitempty"`
	// Silenced is the ID of the silence that keeps this notice from the
	// notifiers: it is logged and given to subscribers only.
	Silenced string `json:"silenced,omitempty"`
	// Quiet marks the close of an alert nobody was paged for (a repair
	// that worked at once): logged and given to subscribers only.
	Quiet bool `json:"quiet,omitempty"`
	// Attempts, on escalation, are the recovery attempts of the budget
	// window, each with its actions and outcome.
	Attempts []AttemptRecord `json:"attempts,omitempty"`
	// Error is the escalation's cause, on escalation.
	Error string `json:"error,omitempty"`
}

// AlertKey returns the stable key of the alert for problem p of target.
func AlertKey(target string, p Problem) string { return target + "/" + string(p) }

// String returns a one-line description: "open critical web/test.down: summary".
func (a Alert) String() string {
	s := a.State.String()
	if a.Notice != 0 {
		s = a.Notice.String()
	}
	s += " " + a.Severity.String() + " " + a.Key
	if a.Summary != "" {
		s += ": " + a.Summary
	}
	return s
}

// AlertNotifier receives alert notices (open, update, renotify,
// resolved): the page-worthy view of what happens, where Notifier gets
// every raw event. NotifyAlert is called as Notify is (outside the locks,
// one notice at a time, bounded by the notify timeout) and must return
// quickly. Silenced notices and quiet closes are not given to it.
// Register one with WithAlertNotifier.
type AlertNotifier interface {
	NotifyAlert(ctx context.Context, a Alert) error
}

// AlertNotifierFunc adapts a function to an AlertNotifier.
type AlertNotifierFunc func(ctx context.Context, a Alert) error

// NotifyAlert calls f(ctx, a).
func (f AlertNotifierFunc) NotifyAlert(ctx context.Context, a Alert) error { return f(ctx, a) }

var _ AlertNotifier = AlertNotifierFunc(nil)

// AlertPolicy says when a target's alerts page. A zero field takes the
// default given beside it.
type AlertPolicy struct {
	// PageRepairs pages an alert as soon as the target goes bad past its
	// FailureThreshold. By default (false) a target with a recoverer is
	// given its repair first: the alert opens only when the repair fails,
	// the target is still (or again) bad at the next check, or it
	// escalates; a repair that works at once is logged, not paged.
	PageRepairs bool
	// Renotify re-sends an open alert at most this often. Default 4h;
	// negative: never.
	Renotify time.Duration
	// FlapCount is how many times the target may go bad within FlapWindow
	// before it is flapping: then one alert (ProblemFlapping) stands for
	// its alerts until it has gone bad fewer than FlapCount times in the
	// last FlapWindow and is healthy. Default 3; negative: never flapping.
	FlapCount int
	// FlapWindow is the window of FlapCount. Default 1h.
	FlapWindow time.Duration
}

// The defaults a zero AlertPolicy field takes.
const (
	DefaultRenotify   = 4 * time.Hour
	DefaultFlapCount  = 3
	DefaultFlapWindow = time.Hour
)

// Validate reports every field no alert policy may have: a negative flap
// window.
func (p AlertPolicy) Validate() error {
	if p.FlapWindow < 0 {
		return fmt.Errorf("alerts.FlapWindow is negative (%s)", p.FlapWindow)
	}
	return nil
}

func (p AlertPolicy) withDefaults() AlertPolicy {
	if p.Renotify == 0 {
		p.Renotify = DefaultRenotify
	}
	if p.FlapCount == 0 {
		p.FlapCount = DefaultFlapCount
	}
	if p.FlapWindow == 0 {
		p.FlapWindow = DefaultFlapWindow
	}
	return p
}

// WithAlertNotifier adds a notifier that receives alert notices (see
// AlertNotifier); it may be given more than once. WebhookNotifier
// implements both Notifier and AlertNotifier: register it with
// WithAlertNotifier for alerts, with WithNotifier for raw events, or both.
func WithAlertNotifier(n AlertNotifier) Option {
	return func(o *Orchestrator) {
		if n != nil {
			o.notifiers = append(o.notifiers, &notifierSlot{a: n})
		}
	}
}
