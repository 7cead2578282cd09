package redundancy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrCheckTimeout is wrapped by the error of a check that overran its
// Policy.Timeout (together with context.DeadlineExceeded).
var ErrCheckTimeout = errors.New("check timed out")

// PanicError is the error of a checker, recoverer or action that panicked.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// check runs the target's checker with its timeout, containing panics and
// overruns: both give a StatusUnknown report with an error.
func (o *Orchestrator) check(ctx context.Context, t *target) Report {
	cctx, cancel := context.WithTimeout(ctx, t.policy.Timeout)
	defer cancel()
	done := make(chan Report, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				perr := &PanicError{Value: p, Stack: debug.Stack()}
				o.emit(Event{Time: o.clock.Now(), Target: t.spec.Name, Kind: EventCheckPanicked, Err: perr})
				done <- Report{Status: StatusUnknown, Summary: "check panicked", Err: fmt.Errorf("check %q: %w", t.spec.Name, perr)}
			}
		}()
		done <- t.spec.Checker.Check(cctx)
	}()
	var r Report
	select {
	case r = <-done:
	case <-cctx.Done():
		err := cctx.Err()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("check %q: %w after %s: %w", t.spec.Name, ErrCheckTimeout, t.policy.Timeout, err)
		} else {
			err = fmt.Errorf("check %q: %w", t.spec.Name, err)
		}
		r = Report{Status: StatusUnknown, Summary: err.Error(), Err: err}
	}
	return normalize(r)
}

// normalize keeps a report self-consistent: an error is never healthy, and
// a status outside the constants is unknown.
func normalize(r Report) Report {
	if r.Status < StatusUnknown || r.Status > StatusUnhealthy {
		r.Status = StatusUnknown
	}
	if r.Err != nil && r.Status == StatusHealthy {
		r.Status = StatusUnknown
	}
	if r.Err != nil && r.Summary == "" {
		r.Summary = r.Err.Error()
	}
	return r
}

type ctxKey int

const checkOnlyKey ctxKey = 1

// checkOnly marks ctx so that nested orchestrators check without recovering.
func checkOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, checkOnlyKey, true)
}

func isCheckOnly(ctx context.Context) bool {
	v, _ := ctx.Value(checkOnlyKey).(bool)
	return v
}
