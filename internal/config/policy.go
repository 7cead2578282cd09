package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/redundancy"
)

// Duration is a time.Duration written as "30s", "5m", "1h30m".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string; a number or a negative
// duration is an error naming the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration such as 30s or 5m", n.Line)}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad duration %q (want a duration such as 30s or 5m)", n.Line, n.Value)}}
	}
	if v < 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: negative duration %q", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Policy is a target policy; zero fields take the value of the default
// policy, then redundancy's defaults.
type Policy struct {
	Interval         Duration `yaml:"interval"`
	Timeout          Duration `yaml:"timeout"`
	FailureThreshold int      `yaml:"failure_threshold"`
	SuccessThreshold int      `yaml:"success_threshold"`
	Backoff          Backoff  `yaml:"backoff"`
	Budget           Budget   `yaml:"budget"`
	// Retries of a failing action within one attempt; 0: none. Unset: 2.
	Retries       *int     `yaml:"retries"`
	RetryDelay    Duration `yaml:"retry_delay"`
	ActionTimeout Duration `yaml:"action_timeout"`
}

// Backoff spaces recovery attempts.
type Backoff struct {
	Base       Duration `yaml:"base"`
	Max        Duration `yaml:"max"`
	ResetAfter Duration `yaml:"reset_after"`
	Jitter     *float64 `yaml:"jitter"` // 0: none; unset: 0.1
}

// Budget caps recovery attempts per window.
type Budget struct {
	Max    int      `yaml:"max"`
	Window Duration `yaml:"window"`
}

// Merge returns p with its zero fields taken from base.
func (p Policy) Merge(base Policy) Policy {
	pick := func(a, b Duration) Duration {
		if a != 0 {
			return a
		}
		return b
	}
	pickInt := func(a, b int) int {
		if a != 0 {
			return a
		}
		return b
	}
	out := p
	out.Interval = pick(p.Interval, base.Interval)
	out.Timeout = pick(p.Timeout, base.Timeout)
	out.FailureThreshold = pickInt(p.FailureThreshold, base.FailureThreshold)
	out.SuccessThreshold = pickInt(p.SuccessThreshold, base.SuccessThreshold)
	out.Backoff.Base = pick(p.Backoff.Base, base.Backoff.Base)
	out.Backoff.Max = pick(p.Backoff.Max, base.Backoff.Max)
	out.Backoff.ResetAfter = pick(p.Backoff.ResetAfter, base.Backoff.ResetAfter)
	if out.Backoff.Jitter == nil {
		out.Backoff.Jitter = base.Backoff.Jitter
	}
	out.Budget.Max = pickInt(p.Budget.Max, base.Budget.Max)
	out.Budget.Window = pick(p.Budget.Window, base.Budget.Window)
	if out.Retries == nil {
		out.Retries = base.Retries
	}
	out.RetryDelay = pick(p.RetryDelay, base.RetryDelay)
	out.ActionTimeout = pick(p.ActionTimeout, base.ActionTimeout)
	return out
}

// Redundancy returns the policy as the orchestrator takes it.
func (p Policy) Redundancy() redundancy.Policy {
	r := redundancy.Policy{
		Interval:         time.Duration(p.Interval),
		Timeout:          time.Duration(p.Timeout),
		FailureThreshold: p.FailureThreshold,
		SuccessThreshold: p.SuccessThreshold,
		Backoff: redundancy.Backoff{
			Base:       time.Duration(p.Backoff.Base),
			Max:        time.Duration(p.Backoff.Max),
			ResetAfter: time.Duration(p.Backoff.ResetAfter),
		},
		Budget:        redundancy.Budget{Max: p.Budget.Max, Window: time.Duration(p.Budget.Window)},
		RetryDelay:    time.Duration(p.RetryDelay),
		ActionTimeout: time.Duration(p.ActionTimeout),
	}
	if p.Backoff.Jitter != nil {
		r.Backoff.Jitter = *p.Backoff.Jitter
		if *p.Backoff.Jitter == 0 {
			r.Backoff.Jitter = -1
		}
	}
	if p.Retries != nil {
		r.Retry = *p.Retries
		if *p.Retries == 0 {
			r.Retry = -1
		}
	}
	return r
}

// TargetPolicy returns the policy of a section (nil: none) merged over the
// default policy.
func (c *Config) TargetPolicy(section *Policy) redundancy.Policy {
	if section == nil {
		return c.Policy.Redundancy()
	}
	return section.Merge(c.Policy).Redundancy()
}
