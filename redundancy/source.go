package redundancy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// EventSource tells the orchestrator when something happened to a target
// (a PM2 process exited, a webhook arrived), so that it is checked at once
// instead of at its next interval; periodic checks go on as a safety net.
// Watch follows the source until ctx ends, calling wake for every event
// that concerns the target; wake never blocks. Watch returns nil when ctx
// ends; an error means the source gave up, and the target is checked on
// its schedule alone from then on.
type EventSource interface {
	Watch(ctx context.Context, wake func()) error
}

// EventSourceFunc adapts a function to an EventSource.
type EventSourceFunc func(ctx context.Context, wake func()) error

// Watch calls f(ctx, wake).
func (f EventSourceFunc) Watch(ctx context.Context, wake func()) error { return f(ctx, wake) }

var _ EventSource = EventSourceFunc(nil)

// watchSources runs the event source of every target of o until ctx ends
// and returns when all of them have returned.
func (o *Orchestrator) watchSources(ctx context.Context) (wait func()) {
	o.mu.Lock()
	var srcs []*target
	for _, name := range o.order {
		if t := o.targets[name]; t.spec.Source != nil {
			srcs = append(srcs, t)
		}
	}
	o.mu.Unlock()
	done := make(chan struct{}, len(srcs))
	for _, t := range srcs {
		name := t.spec.Name
		go func() {
			defer func() { done <- struct{}{} }()
			err := o.safeWatch(ctx, t.spec.Source, func() { o.Trigger(name) })
			if err != nil && ctx.Err() == nil {
				o.log.Warn("event source stopped: the target is checked on its schedule only",
					"target", name, "err", o.redactString(err.Error()))
			}
		}()
	}
	return func() {
		for range srcs {
			<-done
		}
	}
}

func (o *Orchestrator) safeWatch(ctx context.Context, s EventSource, wake func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("redundancy: event source: %w", &PanicError{Value: p, Stack: debug.Stack()})
		}
	}()
	err = s.Watch(ctx, wake)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}
