package redundancytest

import (
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Subscriber is what a Recorder subscribes to: *redundancy.Orchestrator.
type Subscriber interface {
	Subscribe(fn func(redundancy.Event)) (cancel func())
}

// Recorder records the events of an orchestrator for assertions.
type Recorder struct {
	mu      sync.Mutex
	events  []redundancy.Event
	changed chan struct{}
	cancel  func()
}

// NewRecorder subscribes a new recorder to s.
func NewRecorder(s Subscriber) *Recorder {
	r := &Recorder{changed: make(chan struct{})}
	r.cancel = s.Subscribe(r.add)
	return r
}

// Stop ends the subscription.
func (r *Recorder) Stop() { r.cancel() }

func (r *Recorder) add(e redundancy.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Events returns a copy of the events so far.
func (r *Recorder) Events() []redundancy.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]redundancy.Event(nil), r.events...)
}

// Kinds returns the kinds of the events so far, in order; with a target
// name given, only that target's.
func (r *Recorder) Kinds(target ...string) []redundancy.EventKind {
	var ks []redundancy.EventKind
	for _, e := range r.Events() {
		if len(target) > 0 && e.Target != target[0] {
			continue
		}
		ks = append(ks, e.Kind)
	}
	return ks
}

// Count returns how many events of kind k were recorded.
func (r *Recorder) Count(k redundancy.EventKind) int {
	n := 0
	for _, e := range r.Events() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// Reset forgets the events so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

// TB is the part of testing.TB that WaitFor uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// WaitFor waits (in real time, at most timeout) for an event of kind k,
// optionally for the given target, and returns the first such event. It
// fails the test when none comes.
func (r *Recorder) WaitFor(t TB, k redundancy.EventKind, timeout time.Duration, target ...string) redundancy.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e.Kind == k && (len(target) == 0 || e.Target == target[0]) {
				r.mu.Unlock()
				return e
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %s event within %s; got %v", k, timeout, r.Kinds())
			return redundancy.Event{}
		}
	}
}
