package redundancy

import (
	"errors"
	"fmt"
	"time"
)

// Policy says how often a target is checked and how eagerly it is repaired.
// A zero field takes the default given beside it.
type Policy struct {
	// Interval between checks. Default 30s; at least MinInterval.
	Interval time.Duration
	// Timeout of one check; a check that overruns is StatusUnknown with an
	// error wrapping context.DeadlineExceeded. Default 10s.
	Timeout time.Duration
	// FailureThreshold is how many consecutive unhealthy (or degraded)
	// reports turn the target unhealthy and start a recovery. Default 3.
	FailureThreshold int
	// SuccessThreshold is how many consecutive healthy reports make a
	// failing or recovered target healthy again. Default 1.
	SuccessThreshold int
	// Backoff spaces recovery attempts.
	Backoff Backoff
	// Budget caps recovery attempts; past it the target is escalated.
	Budget Budget
	// Retry is how many times a failing action is retried inside one
	// attempt (so it runs at most Retry+1 times). Default 2; negative: none.
	Retry int
	// RetryDelay is the first pause between retries of an action, doubling
	// after each. Default 1s.
	RetryDelay time.Duration
	// ActionTimeout bounds one run of an action's Do. Default 2m.
	ActionTimeout time.Duration
	// UnknownIsFailing counts a report of a check that could not run
	// (StatusUnknown: ErrorReport, a timeout, a panic) as unhealthy: it
	// counts toward FailureThreshold, turns the target unhealthy and starts
	// its recovery, and the health endpoints say fail. Default false:
	// unknown is shown as such (a warning) and never recovered. Set it for
	// a checker whose error is itself the failure (a database ping).
	UnknownIsFailing bool
	// EscalationHold is how long an escalated target must stay healthy
	// (past SuccessThreshold) before its escalation clears. Default 0:
	// it clears as soon as the target is healthy again (or on a forced
	// RecoverNow).
	EscalationHold time.Duration
}

// Backoff spaces recovery attempts: the n-th attempt after a reset waits
// Base·2ⁿ⁻¹ after the previous one, at most Max, ±Jitter.
type Backoff struct {
	Base       time.Duration // default 10s
	Max        time.Duration // default 5m
	ResetAfter time.Duration // healthy this long resets the backoff; default 10m
	Jitter     float64       // fraction, default 0.1 (±10%); negative: none
}

// Budget allows at most Max recovery attempts in any Window.
type Budget struct {
	Max    int           // default 5
	Window time.Duration // default 10m
}

// The defaults a zero Policy field takes.
const (
	DefaultInterval         = 30 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	DefaultBackoffBase      = 10 * time.Second
	DefaultBackoffMax       = 5 * time.Minute
	DefaultBackoffReset     = 10 * time.Minute
	DefaultJitter           = 0.1
	DefaultBudgetMax        = 5
	DefaultBudgetWindow     = 10 * time.Minute
	DefaultRetry            = 2
	DefaultRetryDelay       = time.Second
	DefaultActionTimeout    = 2 * time.Minute
)

// MinInterval is the shortest Policy.Interval Validate accepts: a target
// that must be seen sooner uses an event source (Orchestrator.Trigger).
const MinInterval = time.Second

// DefaultPolicy returns the policy a zero Policy stands for.
func DefaultPolicy() Policy { return Policy{}.withDefaults() }

// Validate reports every field of p that no policy may have: a negative
// duration, threshold or budget, an interval below MinInterval, a jitter of
// 1 or more, or a backoff base above its maximum (defaults included: a
// Base above 5m needs a Max).
func (p Policy) Validate() error {
	var errs []error
	neg := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("policy.%s is negative (%s)", name, d))
		}
	}
	neg("Interval", p.Interval)
	neg("Timeout", p.Timeout)
	neg("RetryDelay", p.RetryDelay)
	neg("ActionTimeout", p.ActionTimeout)
	neg("Backoff.Base", p.Backoff.Base)
	neg("Backoff.Max", p.Backoff.Max)
	neg("Backoff.ResetAfter", p.Backoff.ResetAfter)
	neg("Budget.Window", p.Budget.Window)
	neg("EscalationHold", p.EscalationHold)
	if p.FailureThreshold < 0 {
		errs = append(errs, fmt.Errorf("policy.FailureThreshold is negative (%d)", p.FailureThreshold))
	}
	if p.SuccessThreshold < 0 {
		errs = append(errs, fmt.Errorf("policy.SuccessThreshold is negative (%d)", p.SuccessThreshold))
	}
	if p.Budget.Max < 0 {
		errs = append(errs, fmt.Errorf("policy.Budget.Max is negative (%d)", p.Budget.Max))
	}
	if p.Backoff.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("policy.Backoff.Jitter must be below 1 (got %g)", p.Backoff.Jitter))
	}
	if p.Interval > 0 && p.Interval < MinInterval {
		errs = append(errs, fmt.Errorf("policy.Interval %s is below the minimum of %s (use Trigger to check sooner)", p.Interval, MinInterval))
	}
	if eff := p.withDefaults().Backoff; p.Backoff.Base >= 0 && p.Backoff.Max >= 0 && eff.Max < eff.Base {
		base, ceiling := eff.Base.String(), eff.Max.String()
		if p.Backoff.Base == 0 {
			base += ", the default"
		}
		if p.Backoff.Max == 0 {
			ceiling += ", the default"
		}
		errs = append(errs, fmt.Errorf("policy.Backoff.Max (%s) is below Backoff.Base (%s)", ceiling, base))
	}
	return errors.Join(errs...)
}

func (p Policy) withDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.Interval, DefaultInterval)
	def(&p.Timeout, DefaultTimeout)
	def(&p.RetryDelay, DefaultRetryDelay)
	def(&p.ActionTimeout, DefaultActionTimeout)
	def(&p.Backoff.Base, DefaultBackoffBase)
	def(&p.Backoff.Max, DefaultBackoffMax)
	def(&p.Backoff.ResetAfter, DefaultBackoffReset)
	def(&p.Budget.Window, DefaultBudgetWindow)
	if p.FailureThreshold == 0 {
		p.FailureThreshold = DefaultFailureThreshold
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = DefaultSuccessThreshold
	}
	if p.Budget.Max == 0 {
		p.Budget.Max = DefaultBudgetMax
	}
	if p.Retry == 0 {
		p.Retry = DefaultRetry
	} else if p.Retry < 0 {
		p.Retry = 0
	}
	if p.Backoff.Jitter == 0 {
		p.Backoff.Jitter = DefaultJitter
	} else if p.Backoff.Jitter < 0 {
		p.Backoff.Jitter = 0
	}
	return p
}
