package redundancy

import (
	"io"
	"log/slog"
	"time"
)

// Option configures an Orchestrator.
type Option func(*Orchestrator)

// WithClock sets the clock the orchestrator schedules and waits by (default
// RealClock): check schedules, backoff, budget windows, pauses between
// retries of an action, and state-save throttling.
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
// event at a time, with a context bounded by WithNotifyTimeout; a notifier
// must return quickly (WebhookNotifier and EscalationNotifier queue).
func WithNotifier(n Notifier) Option {
	return func(o *Orchestrator) {
		if n != nil {
			o.notifiers = append(o.notifiers, &notifierSlot{n: n})
		}
	}
}

// WithNotifyTimeout bounds each Notify call (default DefaultNotifyTimeout,
// 5s): the notifier's context ends then, and the orchestrator waits no
// longer. Values of 0 or less keep the default.
func WithNotifyTimeout(d time.Duration) Option {
	return func(o *Orchestrator) {
		if d > 0 {
			o.notifyTimeout = d
		}
	}
}

// WithRedactor redacts, with r, all text that leaves the orchestrator: the
// events given to the logger, subscribers and notifiers (an event's Err
// keeps errors.Is and errors.As through a wrapper whose message is
// redacted), the reports, errors and action results kept for Snapshot,
// Target and Handler, the state file, and what RecoverNow and Plan return.
// Text is redacted when it is stored or emitted: register secrets
// (Redactor.Add) before the targets run. Without it nothing is redacted.
func WithRedactor(r *Redactor) Option {
	return func(o *Orchestrator) { o.red = r }
}

// WithStateFile persists counters, budgets, escalation and the last 100
// action results per target to path, atomically (mode 0600), and resumes
// them from it. Under Run the file is written at most once a second, and
// always when Run returns; Tick, CheckNow and RecoverNow write it before
// they return. The records of targets that were not added by the first
// Tick or Run are dropped (and logged). The file is read with a cap of
// MaxStateFileSize; an unreadable, oversized or corrupt file (bad JSON,
// negative or absurd counters) is renamed aside (path.corrupt-<time>),
// reported with EventStateDiscarded, and the orchestrator starts fresh. A
// path that is not a regular file (a FIFO, a device) is neither read nor
// written: the state is not persisted, and EventStateDiscarded says so.
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
