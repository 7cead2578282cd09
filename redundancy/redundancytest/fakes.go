package redundancytest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/uras-dev/uras/redundancy"
)

// Checker is a scripted redundancy.Checker: each Check returns the next
// report of the script, repeating the last one when the script runs out
// (healthy when it is empty). Set reports with Set or Push at any time.
type Checker struct {
	mu      sync.Mutex
	reports []redundancy.Report
	calls   atomic.Int64
	// Block, when set, makes Check wait until the channel is closed or ctx ends.
	Block chan struct{}
	// Panic, when set, makes Check panic with it.
	Panic any
}

var _ redundancy.Checker = (*Checker)(nil)

// NewChecker returns a checker scripted with reports.
func NewChecker(reports ...redundancy.Report) *Checker {
	return &Checker{reports: reports}
}

// Healthy is a healthy report.
func Healthy() redundancy.Report {
	return redundancy.Report{Status: redundancy.StatusHealthy, Summary: "ok"}
}

// Unhealthy is an unhealthy report with one finding about subject.
func Unhealthy(subject string) redundancy.Report {
	return redundancy.NewReport("down", redundancy.Finding{Subject: subject, Problem: "test.down", Status: redundancy.StatusUnhealthy, Detail: subject + " is down"})
}

// Set replaces the script.
func (c *Checker) Set(reports ...redundancy.Report) {
	c.mu.Lock()
	c.reports = reports
	c.mu.Unlock()
}

// Push appends to the script.
func (c *Checker) Push(reports ...redundancy.Report) {
	c.mu.Lock()
	c.reports = append(c.reports, reports...)
	c.mu.Unlock()
}

// Calls returns how many times Check was called.
func (c *Checker) Calls() int { return int(c.calls.Load()) }

// Check returns the next scripted report.
func (c *Checker) Check(ctx context.Context) redundancy.Report {
	c.calls.Add(1)
	c.mu.Lock()
	block, p := c.Block, c.Panic
	var r redundancy.Report
	switch len(c.reports) {
	case 0:
		r = Healthy()
	case 1:
		r = c.reports[0]
	default:
		r = c.reports[0]
		c.reports = c.reports[1:]
	}
	c.mu.Unlock()
	if p != nil {
		panic(p)
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return redundancy.ErrorReport(ctx.Err())
		}
	}
	return r
}

// Recoverer is a scripted redundancy.Recoverer. Each plan holds one action
// per verb in Verbs (default "test.fix"); an action fails while Fail has
// failures left for it, and every run is recorded.
type Recoverer struct {
	mu    sync.Mutex
	Verbs []string
	fails map[string]int
	runs  []string
	plans int
	// OnRun, when set, is called by every action run (for example to make
	// the scripted checker healthy again, or to block).
	OnRun func(ctx context.Context, verb string) error
	// PlanErr, when set, is returned by Plan.
	PlanErr error
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

// ErrScripted is the error of a scripted failure.
var ErrScripted = errors.New("scripted failure")

// NewRecoverer returns a recoverer planning one action per verb.
func NewRecoverer(verbs ...string) *Recoverer {
	if len(verbs) == 0 {
		verbs = []string{"test.fix"}
	}
	return &Recoverer{Verbs: verbs, fails: map[string]int{}}
}

// Fail makes the next n runs of verb fail with ErrScripted.
func (r *Recoverer) Fail(verb string, n int) {
	r.mu.Lock()
	r.fails[verb] = n
	r.mu.Unlock()
}

// Runs returns the verbs run so far, in order.
func (r *Recoverer) Runs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.runs...)
}

// Plans returns how many times Plan was called.
func (r *Recoverer) Plans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.plans
}

// Plan returns one action per verb.
func (r *Recoverer) Plan(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	r.mu.Lock()
	r.plans++
	perr := r.PlanErr
	verbs := append([]string(nil), r.Verbs...)
	r.mu.Unlock()
	if perr != nil {
		return nil, perr
	}
	actions := make([]redundancy.Action, 0, len(verbs))
	for _, v := range verbs {
		actions = append(actions, redundancy.Action{Verb: v, Subject: "thing", Reason: rep.Summary, Do: func(ctx context.Context) error {
			r.mu.Lock()
			r.runs = append(r.runs, v)
			fail := r.fails[v] > 0
			if fail {
				r.fails[v]--
			}
			onRun := r.OnRun
			r.mu.Unlock()
			if onRun != nil {
				if err := onRun(ctx, v); err != nil {
					return err
				}
			}
			if fail {
				return ErrScripted
			}
			return nil
		}})
	}
	return actions, nil
}
