package redundancy

import (
	"io"
	"log/slog"
)

// Option configures an Orchestrator.
type Option func(*Orchestrator)

// WithClock sets the clock the orchestrator schedules by (default RealClock).
func WithClock(c Clock) Option {
	return func(o *Orchestrator) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithLogger sets the logger for the orchestrator's own lines (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *Orchestrator) {
		if l != nil {
			o.log = l
		}
	}
}

// WithNotifier adds a notifier that receives every event. It may be given
// more than once. Notify is called outside the orchestrator's locks, one
// event at a time; a notifier must return quickly (WebhookNotifier queues).
func WithNotifier(n Notifier) Option {
	return func(o *Orchestrator) {
		if n != nil {
			o.notifiers = append(o.notifiers, n)
		}
	}
}

// WithStateFile persists counters, budgets, escalation and the last 100
// action results per target to path, atomically after every change, and
// resumes them from it. An unreadable or corrupt file is renamed aside
// (path.corrupt-<time>), reported with EventStateDiscarded, and the
// orchestrator starts fresh.
func WithStateFile(path string) Option {
	return func(o *Orchestrator) { o.statePath = path }
}

// WithConcurrency bounds how many targets are checked or recovered at once
// (default 16; values below 1 mean 1).
func WithConcurrency(n int) Option {
	return func(o *Orchestrator) {
		if n < 1 {
			n = 1
		}
		o.concurrency = n
	}
}

// WithDryRun makes the orchestrator plan recoveries without running them:
// each action is logged and returned as an ActionResult with DryRun set, and
// no budget is spent.
func WithDryRun(on bool) Option {
	return func(o *Orchestrator) { o.dryRun = on }
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
