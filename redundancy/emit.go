package redundancy

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// DefaultNotifyTimeout bounds one Notify call (WithNotifyTimeout).
const DefaultNotifyTimeout = 5 * time.Second

// notifierSlot is one notifier (of events, n, or of alerts, a) and
// whether a call to it is still running.
type notifierSlot struct {
	n       Notifier
	a       AlertNotifier
	busy    atomic.Bool
	skipped atomic.Int64
}

// emit delivers events, redacted, to the logger, the subscribers and the
// notifiers, one event at a time.
func (o *Orchestrator) emit(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	o.mu.Lock()
	ids := make([]int, 0, len(o.subs))
	for id := range o.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	subs := make([]func(Event), 0, len(ids))
	for _, id := range ids {
		subs = append(subs, o.subs[id])
	}
	mute := o.mutedForNotifiers(evs)
	o.mu.Unlock()
	o.emitMu.Lock()
	defer o.emitMu.Unlock()
	for i, e := range evs {
		if mute != nil && mute[i] && e.Kind == EventAlert {
			continue // the leader's alert: a follower's own view of it is mirrored, not told
		}
		e = o.redactEvent(e)
		o.logEvent(e)
		for _, fn := range subs {
			o.safeCall(e.Target, "subscriber", func() { fn(e) })
		}
		if mute != nil && mute[i] {
			continue // a follower's notifiers leave shared targets to the leader's
		}
		for _, s := range o.notifiers {
			switch {
			case e.Kind == EventAlert:
				if a := e.Alert; s.a != nil && a != nil && a.Silenced == "" && !a.Quiet {
					o.notify(s, e, func(ctx context.Context) error { return s.a.NotifyAlert(ctx, *a) })
				}
			case s.n != nil:
				o.notify(s, e, func(ctx context.Context) error { return s.n.Notify(ctx, e) })
			}
		}
	}
}

// notify calls one notifier (call) with a context that ends after notifyTimeout,
// and waits no longer than that: a notifier still running then is left to
// finish on its own, and the events that come meanwhile skip it (counted
// and logged), so a stuck notifier cannot hold up every target.
func (o *Orchestrator) notify(s *notifierSlot, e Event, call func(ctx context.Context) error) {
	if !s.busy.CompareAndSwap(false, true) {
		n := s.skipped.Add(1)
		o.log.Warn("notifier still busy with an earlier event: event not delivered to it",
			"target", e.Target, "event", e.Kind.String(), "skipped", n)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.notifyTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer s.busy.Store(false)
		defer close(done)
		o.safeCall(e.Target, "notifier", func() {
			if err := call(ctx); err != nil {
				o.log.Warn("notifier failed", "target", e.Target, "event", e.Kind.String(), "err", o.redactString(err.Error()))
			}
		})
	}()
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		default:
			o.log.Warn("notifier did not return in time: no longer waited for", "target", e.Target,
				"event", e.Kind.String(), "timeout", o.notifyTimeout.String())
		}
	}
}

func (o *Orchestrator) safeCall(target, what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			o.log.Error(what+" panicked", "target", target, "panic", o.redactString(fmt.Sprint(p)))
		}
	}()
	fn()
}

func (o *Orchestrator) logEvent(e Event) {
	o.log.Log(context.Background(), eventLevel(e), e.String(), eventAttrs(e)...)
}
