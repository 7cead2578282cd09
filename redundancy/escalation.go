package redundancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// DefaultEscalationAdvice is the advice an EscalationReport gives by default.
const DefaultEscalationAdvice = "automatic recovery of this target is stopped until it is healthy again; " +
	"fix what the findings say, then force a recovery to retry now"

// EscalationReport is the file an EscalationNotifier writes when a target
// escalates: what was found, what was tried, and what people should do.
type EscalationReport struct {
	Time     time.Time      `json:"time"`
	Target   string         `json:"target"`
	Summary  string         `json:"summary"`
	Findings []Finding      `json:"findings,omitempty"`
	Error    string         `json:"error,omitempty"`
	History  []ActionResult `json:"history,omitempty"` // the action results inside the budget window (Event.History)
	// Attempts are the recovery attempts inside the budget window, each
	// with its actions and outcome ("failed", "succeeded then failed
	// again", ...): Event.Attempts.
	Attempts []AttemptRecord `json:"attempts,omitempty"`
	Advice   string          `json:"advice"`
}

// EscalationNotifier writes one report file (an EscalationReport, JSON)
// per EventEscalated into a directory, and ignores other events. Notify
// only queues the event (a bounded queue; when it is full the oldest is
// dropped and counted) and one goroutine writes the files, each
// atomically with mode 0600 (the directory is created with mode 0700),
// named "<time>-<target>.json". Close stops it after the queue drains or
// its context ends.
type EscalationNotifier struct {
	dir    string
	log    *slog.Logger
	red    *Redactor
	advice string

	queue chan Event
	done  chan struct{}
	stop  context.Context
	halt  context.CancelFunc
	once  sync.Once

	mu                       sync.Mutex
	written, failed, dropped int
}

var _ Notifier = (*EscalationNotifier)(nil)

// EscalationOption configures an EscalationNotifier.
type EscalationOption func(*EscalationNotifier)

// WithEscalationRedactor redacts every report's text with r.
func WithEscalationRedactor(r *Redactor) EscalationOption {
	return func(n *EscalationNotifier) { n.red = r }
}

// WithEscalationLogger sets where each report written (at error level: a
// person must act) and each failure are logged (default: discarded).
func WithEscalationLogger(l *slog.Logger) EscalationOption {
	return func(n *EscalationNotifier) {
		if l != nil {
			n.log = l
		}
	}
}

// WithEscalationAdvice sets the reports' advice (default
// DefaultEscalationAdvice), for example to name the command that forces a
// recovery.
func WithEscalationAdvice(advice string) EscalationOption {
	return func(n *EscalationNotifier) {
		if advice != "" {
			n.advice = advice
		}
	}
}

// WithEscalationQueue sets the queue length (default 64).
func WithEscalationQueue(size int) EscalationOption {
	return func(n *EscalationNotifier) {
		if size > 0 {
			n.queue = make(chan Event, size)
		}
	}
}

// NewEscalationNotifier starts a notifier writing reports under dir. It
// fails for an empty dir; the directory is created on the first report.
func NewEscalationNotifier(dir string, opts ...EscalationOption) (*EscalationNotifier, error) {
	if dir == "" {
		return nil, errors.New("redundancy: escalation notifier: empty directory")
	}
	n := &EscalationNotifier{dir: dir, log: discardLogger(), advice: DefaultEscalationAdvice,
		queue: make(chan Event, 64), done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(n)
		}
	}
	n.stop, n.halt = context.WithCancel(context.Background())
	go n.loop()
	return n, nil
}

// Dir returns the directory reports are written to.
func (n *EscalationNotifier) Dir() string { return n.dir }

// Notify queues an escalation for its report and returns at once; other
// events are ignored.
func (n *EscalationNotifier) Notify(_ context.Context, e Event) error {
	if e.Kind != EventEscalated {
		return nil
	}
	for {
		select {
		case n.queue <- e:
			return nil
		default:
		}
		select { // full: drop the oldest
		case <-n.queue:
			n.mu.Lock()
			n.dropped++
			n.mu.Unlock()
		default:
		}
	}
}

// Stats returns how many reports were written, failed to be written, and
// were dropped from a full queue (or by Close giving up).
func (n *EscalationNotifier) Stats() (written, failed, dropped int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.written, n.failed, n.dropped
}

// Close writes what is queued and stops, or gives up when ctx ends (the
// rest of the queue is then dropped).
func (n *EscalationNotifier) Close(ctx context.Context) error {
	n.once.Do(func() { close(n.queue) })
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		n.halt()
		return fmt.Errorf("redundancy: escalation notifier: close: %w", ctx.Err())
	}
}

func (n *EscalationNotifier) loop() {
	defer close(n.done)
	defer n.halt()
	for e := range n.queue {
		if n.stop.Err() != nil {
			n.mu.Lock()
			n.dropped++
			n.mu.Unlock()
			continue
		}
		path, err := n.write(e)
		n.mu.Lock()
		if err != nil {
			n.failed++
		} else {
			n.written++
		}
		n.mu.Unlock()
		if err != nil {
			n.log.Error("escalation report not written", "target", e.Target, "err", n.red.String(err.Error()))
			continue
		}
		n.log.Error("target escalated: report written", "target", e.Target, "report", path)
	}
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// write writes e's report to a new file and returns its path.
func (n *EscalationNotifier) write(e Event) (string, error) {
	e = redactEvent(n.red, e)
	rep := EscalationReport{Time: e.Time, Target: e.Target, Summary: e.Report.Summary, Findings: e.Report.Findings,
		History: e.History, Attempts: e.Attempts, Advice: n.advice}
	if e.Err != nil {
		rep.Error = e.Err.Error()
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("redundancy: escalation report: %w", err)
	}
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return "", fmt.Errorf("redundancy: escalation report: %w", err)
	}
	base := fmt.Sprintf("%s-%s", e.Time.UTC().Format("20060102T150405.000Z"), unsafeFileChars.ReplaceAllString(e.Target, "_"))
	path := filepath.Join(n.dir, base+".json")
	for i := 2; ; i++ { // never overwrite an earlier report
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = filepath.Join(n.dir, fmt.Sprintf("%s-%d.json", base, i))
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return "", fmt.Errorf("redundancy: escalation report: %w", err)
	}
	return path, nil
}
