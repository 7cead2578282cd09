package redundancy

import (
	"context"
	"fmt"
)

// Problem is a stable, machine-readable code for a kind of finding. Each
// provider declares its own, prefixed with its name, for example
// pm2.ProblemErrored = "pm2.errored". Codes never change once published.
type Problem string

// Finding is one thing a check found: which subject, what problem, how bad.
type Finding struct {
	// Subject names what the finding is about: a process ("web"), a file
	// (".github/workflows/ci.yml"), a function ("hello").
	Subject string `json:"subject"`
	// Problem is the provider's stable code for the kind of finding.
	Problem Problem `json:"problem"`
	// Status is how bad this finding is on its own.
	Status Status `json:"status"`
	// Detail explains the finding to a person. It never holds secrets.
	Detail string `json:"detail,omitempty"`
}

// String returns "subject: problem (status): detail".
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s (%s)", f.Subject, f.Problem, f.Status)
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

// Report is the result of one check.
type Report struct {
	// Status is the overall status; see NewReport to derive it from findings.
	Status Status `json:"status"`
	// Summary is one line for people.
	Summary string `json:"summary,omitempty"`
	// Findings lists what is wrong (empty when all is well).
	Findings []Finding `json:"findings,omitempty"`
	// Err is set when the check itself could not run. Status is then
	// StatusUnknown (nothing could be learnt) or StatusUnhealthy (not being
	// able to ask is itself the problem, as with a dead daemon).
	Err error `json:"-"`
}

// NewReport builds a report whose status is the worst of its findings'
// statuses, or healthy when there are none.
func NewReport(summary string, findings ...Finding) Report {
	st := StatusHealthy
	for _, f := range findings {
		st = Worse(st, f.Status)
	}
	return Report{Status: st, Summary: summary, Findings: findings}
}

// ErrorReport builds an unknown-status report for a check that could not run.
func ErrorReport(err error) Report {
	return Report{Status: StatusUnknown, Summary: err.Error(), Err: err}
}

// Has reports whether r holds a finding with problem p.
func (r Report) Has(p Problem) bool {
	for _, f := range r.Findings {
		if f.Problem == p {
			return true
		}
	}
	return false
}

// Checker checks one target. Check must honour ctx: the orchestrator gives it
// a deadline (Policy.Timeout) and treats an overrun as StatusUnknown.
type Checker interface {
	Check(ctx context.Context) Report
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context) Report

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) Report { return f(ctx) }

var _ Checker = CheckerFunc(nil)
