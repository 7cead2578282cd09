package redundancy

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Liveness slack: how late work may be before the orchestrator counts as
// wedged. A target's slack is LivenessIntervals of its Interval, and at
// least MinLivenessSlack.
const (
	LivenessIntervals = 3
	MinLivenessSlack  = 10 * time.Second
)

// Liveness says whether an orchestrator is making progress: whether its
// loop (Run, or whoever calls Tick) keeps checking its targets on
// schedule, and whether every check and action it runs ends within its
// bound. It is what a liveness probe (/livez, the systemd watchdog) asks.
type Liveness struct {
	Alive bool      `json:"alive"`
	Time  time.Time `json:"time"`
	// Problems says what is late, one line each ("check of \"web\" still
	// running 40s past its 10s timeout").
	Problems []string `json:"problems,omitempty"`
}

// workKind is what a unit of work in flight is.
type workKind int

const (
	workCheck workKind = iota + 1
	workAction
)

// unit is one check or one try of an action, in flight.
type unit struct {
	kind   workKind
	target string
	start  time.Time
	bound  time.Duration // its timeout
}

// work is the set of units in flight.
type work struct {
	mu    sync.Mutex
	next  uint64
	units map[uint64]unit
}

func (w *work) begin(kind workKind, target string, start time.Time, bound time.Duration) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.units == nil {
		w.units = map[uint64]unit{}
	}
	w.next++
	w.units[w.next] = unit{kind: kind, target: target, start: start, bound: bound}
	return w.next
}

func (w *work) end(id uint64) {
	w.mu.Lock()
	delete(w.units, id)
	w.mu.Unlock()
}

func (w *work) snapshot() []unit {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]unit, 0, len(w.units))
	for _, u := range w.units {
		out = append(out, u)
	}
	return out
}

// livenessSlack is how late a target's work may be (see Liveness).
func livenessSlack(p Policy) time.Duration {
	return max(LivenessIntervals*p.Interval, MinLivenessSlack)
}

// Liveness reports whether o, and the orchestrators nested in it, make
// progress. o is wedged when a target that is not being worked on is
// overdue for its check by more than its slack (LivenessIntervals of its
// interval, at least MinLivenessSlack: nobody runs Run or Tick, or the
// loop is stuck or starved of workers), or when a check or a try of an
// action has run past its timeout by more than that slack (a checker or
// an action that ignores its context). A target that was never checked
// is due from the moment New returned. Time is o's clock.
func (o *Orchestrator) Liveness() Liveness {
	now := o.clock.Now()
	l := Liveness{Alive: true, Time: now}
	l.Problems = o.lateness(now, "")
	l.Alive = len(l.Problems) == 0
	return l
}

// lateness lists what is late in o and its children, target names
// prefixed with prefix.
func (o *Orchestrator) lateness(now time.Time, prefix string) []string {
	var out []string
	slack := map[string]time.Duration{}
	o.mu.Lock()
	for _, name := range o.order {
		t := o.targets[name]
		s := livenessSlack(t.policy)
		slack[name] = s
		if t.busy {
			continue
		}
		due := t.nextCheck
		if due.IsZero() {
			due = o.ops.created
		}
		if late := now.Sub(due); late > s {
			out = append(out, fmt.Sprintf("target %q: check overdue by %s (allowed %s): the loop is not turning or is starved",
				prefix+name, late.Round(time.Millisecond), s))
		}
	}
	o.mu.Unlock()
	for _, u := range o.ops.work.snapshot() {
		s, ok := slack[u.target]
		if !ok {
			s = MinLivenessSlack
		}
		over := now.Sub(u.start) - u.bound
		if over <= s {
			continue
		}
		what := "check"
		if u.kind == workAction {
			what = "action"
		}
		out = append(out, fmt.Sprintf("target %q: %s running %s past its %s timeout (allowed %s more)",
			prefix+u.target, what, over.Round(time.Millisecond), u.bound, s))
	}
	for _, c := range o.childLinks() {
		out = append(out, c.child.lateness(now, prefix+c.name+"/")...)
	}
	slices.Sort(out)
	return out
}

type childLink struct {
	name  string
	child *Orchestrator
}

// childLinks returns the orchestrators nested in o with their target names.
func (o *Orchestrator) childLinks() []childLink {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []childLink
	for _, name := range o.order {
		if c := o.targets[name].spec.nested; c != nil {
			out = append(out, childLink{name, c})
		}
	}
	return out
}
