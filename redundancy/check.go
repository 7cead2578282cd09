package redundancy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
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

// checkResult is what a checker's goroutine hands back.
type checkResult struct {
	report Report
	panic  *PanicError
}

// runCheck runs the target's checker with its timeout, containing panics and
// overruns: both give a StatusUnknown report with an error. A checker that
// overruns is left to finish on its own: whatever it returns (or panics
// with) later is dropped, never emitted.
func (o *Orchestrator) runCheck(ctx context.Context, t *target) Report {
	name := t.spec.Name
	cctx, cancel := context.WithTimeout(ctx, t.policy.Timeout)
	defer cancel()
	done := make(chan checkResult, 1)
	var late atomic.Bool
	go func() {
		defer func() {
			if p := recover(); p != nil {
				perr := &PanicError{Value: p, Stack: debug.Stack()}
				if late.Load() {
					o.log.Warn("check panicked after its timeout", "target", name, "panic", o.redactString(fmt.Sprint(p)))
				}
				done <- checkResult{panic: perr}
			}
		}()
		done <- checkResult{report: t.spec.Checker.Check(cctx)}
	}()
	var res checkResult
	select {
	case res = <-done:
	case <-cctx.Done():
		select {
		case res = <-done: // it answered just in time
		default:
			late.Store(true)
			err := cctx.Err()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				err = fmt.Errorf("check %q: %w after %s: %w", name, ErrCheckTimeout, t.policy.Timeout, err)
			} else {
				err = fmt.Errorf("check %q: %w", name, err)
			}
			return normalize(Report{Status: StatusUnknown, Summary: err.Error(), Err: err})
		}
	}
	if res.panic != nil {
		o.emit(Event{Time: o.clock.Now(), Target: name, Kind: EventCheckPanicked, Err: res.panic})
		return normalize(Report{Status: StatusUnknown, Summary: "check panicked", Err: fmt.Errorf("check %q: %w", name, res.panic)})
	}
	return normalize(res.report)
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
