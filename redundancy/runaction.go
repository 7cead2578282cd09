package redundancy

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/sethvargo/go-retry"
)

type ctxKey int

const (
	stopKey   ctxKey = iota + 1 // the context whose end means "shut down": stop after the current action
	forcedKey                   // the action belongs to a forced recovery
)

// stopContext returns the context whose end means "start nothing more":
// ctx itself, or, under an action of an enclosing orchestrator (Nest),
// a context that also ends when that orchestrator begins to shut down
// (the action's own context is not cancelled by shutdown). release frees it.
func stopContext(ctx context.Context) (stop context.Context, release func()) {
	outer, _ := ctx.Value(stopKey).(context.Context)
	if outer == nil {
		return ctx, func() {}
	}
	s, cancel := context.WithCancel(ctx)
	unregister := context.AfterFunc(outer, cancel)
	return s, func() { unregister(); cancel() }
}

// stopping reports whether ctx, or the shutdown of an enclosing
// orchestrator, says to start nothing more.
func stopping(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	outer, _ := ctx.Value(stopKey).(context.Context)
	return outer != nil && outer.Err() != nil
}

func isForced(ctx context.Context) bool {
	v, _ := ctx.Value(forcedKey).(bool)
	return v
}

// runAction runs one action with the policy's retries, each try bounded by
// ActionTimeout. Do's context is not cancelled by shutdown (a started
// action finishes or times out); when stop ends no further try is made.
// The pauses between tries (RetryDelay, doubling) are waited on the Clock.
func (o *Orchestrator) runAction(ctx, stop context.Context, t *target, a Action, attemptNo int, forced bool) ActionResult {
	p := t.policy
	res := ActionResult{Target: t.spec.Name, Verb: a.Verb, Subject: a.Subject, Reason: a.Reason, Attempt: attemptNo, Started: o.clock.Now()}
	base := context.WithValue(context.WithoutCancel(ctx), stopKey, stop)
	if forced {
		base = context.WithValue(base, forcedKey, true)
	}
	delays := retry.WithMaxRetries(uint64(p.Retry), retry.NewExponential(p.RetryDelay))
	var last error
	for {
		res.Tries++
		actx, cancel := context.WithTimeout(base, p.ActionTimeout)
		id := o.ops.work.begin(workAction, t.spec.Name, o.clock.Now(), p.ActionTimeout)
		last = safeDo(actx, a)
		o.ops.work.end(id)
		cancel()
		if last == nil {
			break
		}
		d, done := delays.Next()
		if done || stopping(stop) {
			break
		}
		select {
		case <-o.clock.After(d):
		case <-stop.Done():
		}
		if stopping(stop) {
			break // shutting down: keep the last error, try no more
		}
	}
	res.Elapsed = o.clock.Now().Sub(res.Started)
	if last != nil {
		res.Err = last
		res.Error = last.Error()
	}
	return res
}

func safeDo(ctx context.Context, a Action) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return a.Do(ctx)
}

// backoffDelay is the pause before the (n+1)-th attempt after n attempts:
// Base·2ⁿ⁻¹, at most Max, ±Jitter (go-retry's jitter).
func backoffDelay(b Backoff, n int) time.Duration {
	d := b.Base
	if n > 1 {
		d = b.Max
		if shift := n - 1; shift < 62 && b.Base <= b.Max>>shift {
			d = b.Base << shift
		}
	}
	d = min(d, b.Max)
	if b.Jitter > 0 {
		d, _ = retry.WithJitterPercent(uint64(b.Jitter*100), retry.NewConstant(d)).Next()
	}
	return d
}
