package pm2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
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

// ExecRunner runs commands with os/exec: argv only (never a shell), killed
// when ctx ends, and waiting at most WaitDelay (DefaultWaitDelay when zero)
// for its output pipes afterwards.
type ExecRunner struct {
	WaitDelay time.Duration
}

// Run runs c and waits for it.
func (r ExecRunner) Run(ctx context.Context, c Command) (Result, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return res, fmt.Errorf("%s: %w", c.Path, ctxErr)
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
