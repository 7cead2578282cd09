package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// stage is one step of a system's recovery, in the order they happen.
type stage int

const (
	stageFault stage = iota
	stageDetected
	stagePlan
	stageRecovered
	stageVerified
	stages
)

var stageNames = [stages]string{"fault", "detected", "plan", "recovered", "verified"}

// timeline records, per system, when each stage of its recovery
// happened, from the orchestrators' events (and the recoverers' plans):
// the first detection and plan after the fault, the last successful
// recovery, and the moment every target of the system was healthy again.
type timeline struct {
	mu      sync.Mutex
	systems []string
	at      map[string]*[stages]time.Time
	// unhealthy counts, per system, its targets not healthy since the fault.
	unhealthy map[string]map[string]bool
}

func newTimeline(systems []string) *timeline {
	tl := &timeline{systems: systems, at: map[string]*[stages]time.Time{}, unhealthy: map[string]map[string]bool{}}
	for _, s := range systems {
		tl.at[s] = &[stages]time.Time{}
		tl.unhealthy[s] = map[string]bool{}
	}
	return tl
}

// fault records the injection of the faults of sys.
func (tl *timeline) fault(sys string, t time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if a, ok := tl.at[sys]; ok {
		a[stageFault] = t
	}
}

// plan records a plan for a target of sys.
func (tl *timeline) plan(sys string, t time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if a, ok := tl.at[sys]; ok && !a[stageFault].IsZero() && a[stagePlan].IsZero() {
		a[stagePlan] = t
	}
}

// event records what e says about a target of sys.
func (tl *timeline) event(sys string, e redundancy.Event) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	a, ok := tl.at[sys]
	if !ok || a[stageFault].IsZero() {
		return
	}
	switch e.Kind {
	case redundancy.EventStatusChanged:
		if e.To == redundancy.StatusHealthy {
			delete(tl.unhealthy[sys], e.Target)
			if len(tl.unhealthy[sys]) == 0 && !a[stageDetected].IsZero() {
				a[stageVerified] = e.Time
			}
			return
		}
		tl.unhealthy[sys][e.Target] = true
		a[stageVerified] = time.Time{}
		if a[stageDetected].IsZero() {
			a[stageDetected] = e.Time
		}
	case redundancy.EventRecoveryStarted:
		if a[stagePlan].IsZero() {
			a[stagePlan] = e.Time
		}
	case redundancy.EventRecoverySucceeded:
		a[stageRecovered] = e.Time
	}
}

// reached returns the furthest stage sys has reached, and when.
func (tl *timeline) reached(sys string) (stage, time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	a := tl.at[sys]
	for s := stageVerified; s > stageFault; s-- {
		if !a[s].IsZero() {
			return s, a[s]
		}
	}
	return stageFault, a[stageFault]
}

// progress is one line saying where each system is.
func (tl *timeline) progress() string {
	parts := make([]string, 0, len(tl.systems))
	for _, s := range tl.systems {
		st, _ := tl.reached(s)
		parts = append(parts, s+" "+stageNames[st])
	}
	return strings.Join(parts, ", ")
}

// render writes the table: one row per system, each stage in seconds
// after the system's fault ("-" for a stage that did not happen).
func (tl *timeline) render(w io.Writer) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	fmt.Fprintln(w, "recovery timeline (seconds after each fault, from the orchestrators' events):")
	fmt.Fprintf(w, "  %-8s", "SYSTEM")
	for _, n := range stageNames {
		fmt.Fprintf(w, "  %10s", strings.ToUpper(n))
	}
	fmt.Fprintln(w)
	for _, s := range tl.systems {
		a := tl.at[s]
		fmt.Fprintf(w, "  %-8s", s)
		for st := range stages {
			cell := "-"
			if !a[st].IsZero() {
				cell = fmt.Sprintf("%.2f", a[st].Sub(a[stageFault]).Seconds())
			}
			fmt.Fprintf(w, "  %10s", cell)
		}
		fmt.Fprintln(w)
	}
}
