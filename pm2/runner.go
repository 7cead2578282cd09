package pm2

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// Command is one run of an external program: the pm2 binary, or node for
// JavaScript ecosystem files.
type Command struct {
	// Path is the program: a path, or a name looked up on PATH.
	Path string
	// Args are the arguments after the program name (argv[1:]).
	Args []string
	// Env is the complete environment of the program.
	Env []string
	// Dir is its working directory; empty means the caller's.
	Dir string
}

// Result is what a program that ran printed and how it exited.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Runner runs a Command. A program that ran and exited, with any status, is
// a Result with a nil error; the error is for a program that could not be
// started (wrap exec.ErrNotFound or fs.ErrNotExist when it is missing) or
// was stopped by ctx (wrap ctx.Err()).
//
// ExecRunner is the real one; tests substitute their own.
type Runner interface {
	Run(ctx context.Context, c Command) (Result, error)
}

// RunnerFunc adapts a function to a Runner.
type RunnerFunc func(ctx context.Context, c Command) (Result, error)

// Run calls f(ctx, c).
func (f RunnerFunc) Run(ctx context.Context, c Command) (Result, error) { return f(ctx, c) }

var (
	_ Runner = RunnerFunc(nil)
	_ Runner = ExecRunner{}
)

// DefaultWaitDelay is how long ExecRunner waits for a cancelled program's
// output to close after killing it.
const DefaultWaitDelay = 2 * time.Second

// DefaultMaxOutput is how much ExecRunner keeps of a program's standard
// output, and of its standard error, when ExecRunner.MaxOutput is zero: the
// cap of one AMP frame, far above any real `pm2 jlist`.
const DefaultMaxOutput = 64 << 20

// ErrOutputTooLarge is wrapped by ExecRunner's error for a program that
// printed more than the cap on its standard output or error; the program
// (with its process group) is killed when it does.
var ErrOutputTooLarge = errors.New("pm2: program output over the limit")

// ExecRunner runs commands with os/exec: argv only (never a shell), in a
// process group of their own, killed with that whole group when ctx ends or
// when they print more than MaxOutput, and waiting at most WaitDelay
// (DefaultWaitDelay when zero) for their output pipes afterwards.
type ExecRunner struct {
	WaitDelay time.Duration
	// MaxOutput caps the bytes kept of stdout and of stderr, each;
	// DefaultMaxOutput when zero or negative.
	MaxOutput int64
}

// Run runs c and waits for it. A program that ends ctx gets an error
// wrapping ctx.Err(); one that prints too much gets one wrapping
// ErrOutputTooLarge. The Result holds what was printed either way (up to
// the cap).
func (r ExecRunner) Run(ctx context.Context, c Command) (Result, error) {
	limit := r.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	runCtx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := exec.CommandContext(runCtx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	ownGroup(cmd)
	stdout := &cappedBuffer{limit: limit, full: kill}
	stderr := &cappedBuffer{limit: limit, full: kill}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.buf, Stderr: stderr.buf}
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return res, fmt.Errorf("%s: %w", c.Path, ctxErr)
	}
	for _, o := range []struct {
		name string
		b    *cappedBuffer
	}{{"standard output", stdout}, {"standard error", stderr}} {
		if o.b.over() {
			return res, fmt.Errorf("%w: %s printed more than %s on its %s: killed", ErrOutputTooLarge, c.Path, bytesString(limit), o.name)
		}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		res.ExitCode = exitErr.ExitCode()
		if res.ExitCode < 0 { // killed by a signal
			return res, fmt.Errorf("%s: %w", c.Path, err)
		}
		return res, nil
	}
	return res, err
}

// cappedBuffer keeps the first limit bytes written to it. The first write
// past the limit calls full (which kills the program) once; later writes
// are discarded but reported as written, so the pipe keeps draining until
// the program is gone.
type cappedBuffer struct {
	mu      sync.Mutex
	buf     []byte
	limit   int64
	dropped bool
	full    func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - int64(len(b.buf))
	keep := min(int64(len(p)), max(room, 0))
	if need := len(b.buf) + int(keep); need > cap(b.buf) {
		// Grow by doubling, but never past the limit: the last growth
		// allocates exactly the limit rather than twice the previous size.
		grown := make([]byte, len(b.buf), int(min(max(int64(2*cap(b.buf)), int64(need), 512), b.limit)))
		copy(grown, b.buf)
		b.buf = grown
	}
	b.buf = append(b.buf, p[:keep]...)
	if keep == int64(len(p)) {
		return len(p), nil
	}
	if !b.dropped {
		b.dropped = true
		b.full()
	}
	return len(p), nil
}

func (b *cappedBuffer) over() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
