package redundancy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The defaults of a CommandNotifier.
const (
	DefaultCommandTimeout     = 30 * time.Second
	DefaultCommandOutputLimit = 64 << 10
)

// CommandNotifier runs a program for each alert notice, so that people can
// be paged however they already page (a pager CLI, a script): the notice
// as JSON (the body a WebhookNotifier posts, "type":"alert") on its
// standard input. The program is started from an argument vector, never
// through a shell; each run is bounded by a timeout (the process is killed
// at its end) and its output (standard output and error together) is kept
// up to a limit and logged, redacted, when the run fails. NotifyAlert only
// queues (a bounded queue; when it is full the oldest notice is dropped
// and counted); one goroutine runs the program for one notice at a time.
// Close stops it after the queue drains or its context ends.
//
// The program inherits the process environment without the variables of
// SecretEnvNames (the monitor's own tokens), unless WithCommandEnv sets
// its environment.
type CommandNotifier struct {
	argv    []string
	timeout time.Duration
	limit   int
	env     []string
	envSet  bool
	log     *slog.Logger
	red     *Redactor

	queue  chan Alert
	done   chan struct{}
	stop   context.Context
	cancel context.CancelFunc
	once   sync.Once

	mu                   sync.Mutex
	ran, failed, dropped int
}

var _ AlertNotifier = (*CommandNotifier)(nil)

// CommandOption configures a CommandNotifier.
type CommandOption func(*CommandNotifier)

// WithCommandTimeout bounds each run (default DefaultCommandTimeout, 30s).
func WithCommandTimeout(d time.Duration) CommandOption {
	return func(c *CommandNotifier) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithCommandOutputLimit sets how many bytes of a run's output are kept
// (default DefaultCommandOutputLimit, 64 KiB); the rest is counted and
// discarded.
func WithCommandOutputLimit(n int) CommandOption {
	return func(c *CommandNotifier) {
		if n > 0 {
			c.limit = n
		}
	}
}

// WithCommandEnv sets the program's whole environment ("KEY=value"
// entries; an empty list runs it with none).
func WithCommandEnv(env []string) CommandOption {
	return func(c *CommandNotifier) { c.env, c.envSet = append([]string(nil), env...), true }
}

// WithCommandLogger sets where failed runs are logged (default: discarded).
func WithCommandLogger(l *slog.Logger) CommandOption {
	return func(c *CommandNotifier) {
		if l != nil {
			c.log = l
		}
	}
}

// WithCommandRedactor redacts the notices given to the program, and the
// output and errors logged, with r.
func WithCommandRedactor(r *Redactor) CommandOption {
	return func(c *CommandNotifier) { c.red = r }
}

// WithCommandQueue sets the queue length (default 64).
func WithCommandQueue(n int) CommandOption {
	return func(c *CommandNotifier) {
		if n > 0 {
			c.queue = make(chan Alert, n)
		}
	}
}

// NewCommandNotifier starts a notifier running argv (argv[0] is the
// program: a path, or a name looked up in PATH when it runs). It fails for
// an empty argv or program name, or an argument holding a NUL byte.
func NewCommandNotifier(argv []string, opts ...CommandOption) (*CommandNotifier, error) {
	if len(argv) == 0 || strings.TrimSpace(argv[0]) == "" {
		return nil, errors.New("redundancy: command notifier: no program given")
	}
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("redundancy: command notifier: argument %d holds a NUL byte", i)
		}
	}
	c := &CommandNotifier{argv: append([]string(nil), argv...), timeout: DefaultCommandTimeout,
		limit: DefaultCommandOutputLimit, log: discardLogger(), queue: make(chan Alert, 64), done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.stop, c.cancel = context.WithCancel(context.Background())
	go c.loop()
	return c, nil
}

// NotifyAlert queues a and returns at once.
func (c *CommandNotifier) NotifyAlert(_ context.Context, a Alert) error {
	for {
		select {
		case c.queue <- a:
			return nil
		default:
		}
		select { // full: drop the oldest
		case <-c.queue:
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
		default:
		}
	}
}

// Stats returns how many runs succeeded, failed (a non-zero exit, a
// timeout, a program that could not start), and how many notices were
// dropped from a full queue (or by Close giving up).
func (c *CommandNotifier) Stats() (ran, failed, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ran, c.failed, c.dropped
}

// Close runs what is queued and stops, or gives up when ctx ends: the run
// in flight is then killed and the rest of the queue dropped.
func (c *CommandNotifier) Close(ctx context.Context) error {
	c.once.Do(func() { close(c.queue) })
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.cancel()
		<-c.done
		return fmt.Errorf("redundancy: command notifier: close: %w", ctx.Err())
	}
}

func (c *CommandNotifier) loop() {
	defer close(c.done)
	defer c.cancel()
	for a := range c.queue {
		if c.stop.Err() != nil {
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
			continue
		}
		out, err := c.run(c.stop, a)
		c.mu.Lock()
		if err != nil {
			c.failed++
		} else {
			c.ran++
		}
		c.mu.Unlock()
		if err != nil {
			c.log.Warn("alert command failed", "program", c.argv[0], "alert", a.Key, "notice", a.Notice.String(),
				"err", c.red.String(err.Error()), "output", c.red.String(out))
		}
	}
}

// run runs the program once for a, returning its (capped) output.
func (c *CommandNotifier) run(ctx context.Context, a Alert) (string, error) {
	data, err := encodeAlert(redactAlert(c.red, a))
	if err != nil {
		return "", fmt.Errorf("redundancy: command notifier: encode alert: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	out := &cappedBuffer{limit: c.limit}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second // a child that keeps the pipes open cannot hold the run past its end
	cmd.Env = c.environ()
	err = cmd.Run()
	switch {
	case err == nil:
		return out.String(), nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return out.String(), fmt.Errorf("redundancy: command notifier: %s: killed after %s", c.argv[0], c.timeout)
	}
	return out.String(), fmt.Errorf("redundancy: command notifier: %s: %w", c.argv[0], err)
}

// environ is the program's environment.
func (c *CommandNotifier) environ() []string {
	if c.envSet {
		return append([]string{}, c.env...)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !isSecretEnv(name) {
			env = append(env, kv)
		}
	}
	return env
}

func isSecretEnv(name string) bool {
	for _, s := range SecretEnvNames {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// cappedBuffer keeps the first limit bytes written to it and counts the
// rest. It is safe for concurrent writes.
type cappedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	limit   int
	dropped int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - b.buf.Len()
	if room < len(p) {
		b.dropped += len(p) - max(room, 0)
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if b.dropped > 0 {
		s += fmt.Sprintf("… (%d more bytes not kept)", b.dropped)
	}
	return s
}
