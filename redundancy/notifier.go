package redundancy

import (
	"context"
	"log/slog"
	"strings"
)

// Notifier receives events: alerts to people or other systems. Notify is
// called for every event, outside the orchestrator's locks, one event at a
// time, with a context that ends after the orchestrator's notify timeout
// (WithNotifyTimeout, default 5s). It must return quickly: queue slow work,
// as WebhookNotifier and EscalationNotifier do. A call still running at
// the deadline is no longer waited for, and the events that come before it
// returns are not delivered to that notifier (they are logged).
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f(ctx, e).
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }

var _ Notifier = NotifierFunc(nil)

// SlogNotifier logs events to a slog.Logger: escalations at error level,
// failures at warn, the rest at info. The orchestrator already logs every
// event to its own logger (WithLogger); use a SlogNotifier to send events
// to another one, such as an alerts log. It is an AlertNotifier too:
// register it with WithAlertNotifier to log the alert notices.
type SlogNotifier struct {
	Logger *slog.Logger
}

// NewSlogNotifier returns a notifier that logs each event to l.
func NewSlogNotifier(l *slog.Logger) *SlogNotifier { return &SlogNotifier{Logger: l} }

// Notify logs e.
func (n *SlogNotifier) Notify(ctx context.Context, e Event) error {
	n.Logger.Log(ctx, eventLevel(e), "redundancy event", eventAttrs(e)...)
	return nil
}

// NotifyAlert logs a.
func (n *SlogNotifier) NotifyAlert(ctx context.Context, a Alert) error {
	e := Event{Time: a.Time, Target: a.Target, Kind: EventAlert, Alert: &a}
	n.Logger.Log(ctx, eventLevel(e), "redundancy alert", eventAttrs(e)...)
	return nil
}

var _ AlertNotifier = (*SlogNotifier)(nil)

// eventLevel is the level an event is logged at: escalations at error,
// failures and a turn to unhealthy at warn, the rest at info.
func eventLevel(e Event) slog.Level {
	switch e.Kind {
	case EventActionFailed, EventRecoveryFailed, EventCheckPanicked, EventPlanPanicked, EventStateDiscarded:
		return slog.LevelWarn
	case EventEscalated:
		return slog.LevelError
	case EventAlert:
		return alertLevel(e.Alert)
	case EventStatusChanged:
		if e.To == StatusUnhealthy {
			return slog.LevelWarn
		}
	}
	return slog.LevelInfo
}

func eventAttrs(e Event) []any {
	attrs := []any{"target", e.Target, "event", e.Kind.String()}
	if e.Kind == EventStatusChanged {
		attrs = append(attrs, "from", e.From.String(), "to", e.To.String())
	}
	if e.Action != "" {
		attrs = append(attrs, "action", e.Action)
	}
	if e.Attempt > 0 {
		attrs = append(attrs, "attempt", e.Attempt)
	}
	if len(e.Plan) > 0 {
		attrs = append(attrs, "plan", strings.Join(e.Plan, "; "))
	}
	if e.Report.Summary != "" {
		attrs = append(attrs, "summary", e.Report.Summary)
	}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	if a := e.Alert; a != nil {
		attrs = append(attrs, "alert", a.Key, "notice", a.Notice.String(), "severity", a.Severity.String(),
			"first_seen", a.FirstSeen)
		if a.Summary != "" {
			attrs = append(attrs, "summary", a.Summary)
		}
		if len(a.Affected) > 0 {
			attrs = append(attrs, "affected", a.Affected)
		}
		if a.Silenced != "" {
			attrs = append(attrs, "silenced", a.Silenced)
		}
		if a.Quiet {
			attrs = append(attrs, "quiet", true)
		}
	}
	return attrs
}

// alertLevel is the level an alert notice is logged at: escalated opens
// and updates at error, other opens, updates and reminders at warn,
// resolved, silenced and quiet notices at info.
func alertLevel(a *Alert) slog.Level {
	switch {
	case a == nil, a.Notice == NoticeResolved, a.Silenced != "", a.Quiet:
		return slog.LevelInfo
	case a.Severity == SeverityEscalated:
		return slog.LevelError
	}
	return slog.LevelWarn
}
