package redundancy

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// PolicyConfig is a Policy as a configuration file writes it: the policy
// keys of a YAML section (interval: 30s, backoff: {base: 10s}, budget:
// {max: 5}), each provider's TargetConfig and the launcher's configuration
// hold one. A zero field is unset: it takes the value of the policy it is
// laid over (Over), then Policy's default. Unlike Policy, retries: 0 and
// jitter: 0 mean none (a nil Retries or Jitter is unset).
type PolicyConfig struct {
	Interval         time.Duration `yaml:"interval"`
	Timeout          time.Duration `yaml:"timeout"`
	FailureThreshold int           `yaml:"failure_threshold"`
	SuccessThreshold int           `yaml:"success_threshold"`
	Backoff          BackoffConfig `yaml:"backoff"`
	Budget           BudgetConfig  `yaml:"budget"`
	// Retries of a failing action within one attempt; 0: none. Unset: DefaultRetry.
	Retries       *int          `yaml:"retries"`
	RetryDelay    time.Duration `yaml:"retry_delay"`
	ActionTimeout time.Duration `yaml:"action_timeout"`
	// UnknownIsFailing counts a check that cannot run as a failure
	// (Policy.UnknownIsFailing). Unset: false.
	UnknownIsFailing *bool `yaml:"unknown_is_failing"`
	// EscalationHold is how long an escalated target stays escalated once
	// healthy again (Policy.EscalationHold). Unset: 0, it clears at once.
	EscalationHold time.Duration `yaml:"escalation_hold"`
}

// BackoffConfig is the backoff of a PolicyConfig.
type BackoffConfig struct {
	Base       time.Duration `yaml:"base"`
	Max        time.Duration `yaml:"max"`
	ResetAfter time.Duration `yaml:"reset_after"`
	// Jitter is a fraction below 1; 0: none. Unset: DefaultJitter.
	Jitter *float64 `yaml:"jitter"`
}

// BudgetConfig is the budget of a PolicyConfig.
type BudgetConfig struct {
	Max    int           `yaml:"max"`
	Window time.Duration `yaml:"window"`
}

// The smallest values a PolicyConfig may set (Validate): below them a
// target would be checked, timed out or recovered in a tight loop.
const (
	MinConfigTimeout       = 100 * time.Millisecond
	MinConfigActionTimeout = time.Second
	MinConfigBackoffBase   = 100 * time.Millisecond
	MinConfigBudgetWindow  = time.Second
)

// Over returns c with its unset fields taken from base: a section's policy
// laid over the file's default policy.
func (c PolicyConfig) Over(base PolicyConfig) PolicyConfig {
	pick := func(a, b time.Duration) time.Duration {
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
	out := c
	out.Interval = pick(c.Interval, base.Interval)
	out.Timeout = pick(c.Timeout, base.Timeout)
	out.FailureThreshold = pickInt(c.FailureThreshold, base.FailureThreshold)
	out.SuccessThreshold = pickInt(c.SuccessThreshold, base.SuccessThreshold)
	out.Backoff.Base = pick(c.Backoff.Base, base.Backoff.Base)
	out.Backoff.Max = pick(c.Backoff.Max, base.Backoff.Max)
	out.Backoff.ResetAfter = pick(c.Backoff.ResetAfter, base.Backoff.ResetAfter)
	if out.Backoff.Jitter == nil {
		out.Backoff.Jitter = base.Backoff.Jitter
	}
	out.Budget.Max = pickInt(c.Budget.Max, base.Budget.Max)
	out.Budget.Window = pick(c.Budget.Window, base.Budget.Window)
	if out.Retries == nil {
		out.Retries = base.Retries
	}
	out.RetryDelay = pick(c.RetryDelay, base.RetryDelay)
	out.ActionTimeout = pick(c.ActionTimeout, base.ActionTimeout)
	if out.UnknownIsFailing == nil {
		out.UnknownIsFailing = base.UnknownIsFailing
	}
	out.EscalationHold = pick(c.EscalationHold, base.EscalationHold)
	return out
}

// Policy returns the policy as the orchestrator takes it.
func (c PolicyConfig) Policy() Policy {
	p := Policy{
		Interval:         c.Interval,
		Timeout:          c.Timeout,
		FailureThreshold: c.FailureThreshold,
		SuccessThreshold: c.SuccessThreshold,
		Backoff:          Backoff{Base: c.Backoff.Base, Max: c.Backoff.Max, ResetAfter: c.Backoff.ResetAfter},
		Budget:           Budget{Max: c.Budget.Max, Window: c.Budget.Window},
		RetryDelay:       c.RetryDelay,
		ActionTimeout:    c.ActionTimeout,
		UnknownIsFailing: c.UnknownIsFailing != nil && *c.UnknownIsFailing,
		EscalationHold:   c.EscalationHold,
	}
	if j := c.Backoff.Jitter; j != nil {
		p.Backoff.Jitter = *j
		if *j == 0 {
			p.Backoff.Jitter = -1
		}
	}
	if r := c.Retries; r != nil {
		p.Retry = *r
		if *r == 0 {
			p.Retry = -1
		}
	}
	return p
}

// Validate reports the first field no policy may have, as a *ConfigError
// whose Key is the field's key ("interval", "backoff.jitter"): a negative
// value, a duration below its minimum (MinInterval, MinConfigTimeout,
// MinConfigActionTimeout, MinConfigBackoffBase, MinConfigBudgetWindow), a
// jitter outside [0, 1), or a backoff base above its max.
func (c PolicyConfig) Validate() error {
	for _, f := range []struct {
		key string
		v   int
	}{{"failure_threshold", c.FailureThreshold}, {"success_threshold", c.SuccessThreshold}, {"budget.max", c.Budget.Max}} {
		if f.v < 0 {
			return &ConfigError{Key: f.key, Msg: "may not be negative"}
		}
	}
	if c.Retries != nil && *c.Retries < 0 {
		return &ConfigError{Key: "retries", Msg: "may not be negative"}
	}
	if j := c.Backoff.Jitter; j != nil && (*j < 0 || *j >= 1) {
		return &ConfigError{Key: "backoff.jitter", Msg: "want a fraction from 0 up to (not including) 1"}
	}
	for _, f := range []struct {
		key      string
		v, least time.Duration
	}{
		{"interval", c.Interval, MinInterval}, {"timeout", c.Timeout, MinConfigTimeout},
		{"retry_delay", c.RetryDelay, 0}, {"action_timeout", c.ActionTimeout, MinConfigActionTimeout},
		{"backoff.base", c.Backoff.Base, MinConfigBackoffBase}, {"backoff.max", c.Backoff.Max, 0},
		{"backoff.reset_after", c.Backoff.ResetAfter, 0}, {"budget.window", c.Budget.Window, MinConfigBudgetWindow},
		{"escalation_hold", c.EscalationHold, 0},
	} {
		switch {
		case f.v < 0:
			return &ConfigError{Key: f.key, Msg: fmt.Sprintf("negative duration %s", f.v)}
		case f.v != 0 && f.v < f.least:
			return &ConfigError{Key: f.key, Msg: fmt.Sprintf("%s is below the minimum %s", f.v, f.least)}
		}
	}
	if c.Backoff.Base != 0 && c.Backoff.Max != 0 && c.Backoff.Base > c.Backoff.Max {
		return &ConfigError{Key: "backoff.base", Msg: fmt.Sprintf("%s is above backoff.max %s", c.Backoff.Base, c.Backoff.Max)}
	}
	return nil
}

// ConfigError is a bad value in a configuration: Key is its path within
// the section that holds it ("apps[0].name", "policy.interval"; empty for
// the section as a whole) and Msg says what is wrong. Providers' Validate
// methods return one (wrapped with their prefix, "pm2: "); a loader that
// knows where the section sits in a file adds the section's own key and
// the line (see redundancy/launch).
type ConfigError struct {
	Key string
	Msg string
}

// Error returns "key: msg" (msg alone without a key).
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return e.Msg
	}
	return e.Key + ": " + e.Msg
}

// Under returns a copy of e whose Key is prefixed with prefix: a section's
// error seen from the file ("apps[0].name" under "pm2" is
// "pm2.apps[0].name").
func (e *ConfigError) Under(prefix string) *ConfigError {
	out := *e
	switch {
	case prefix == "":
	case out.Key == "":
		out.Key = prefix
	case strings.HasPrefix(out.Key, "["):
		out.Key = prefix + out.Key
	default:
		out.Key = prefix + "." + out.Key
	}
	return &out
}

// Group is the targets a provider built from one configuration section
// (pm2.NewTargets, ghactions.NewTargets, netlify.NewTargets). Name is the
// system they belong to ("pm2", "github", "netlify"): the name of their
// part on a dashboard, or of their own orchestrator nested under a master
// (Nest). Notes say what the section describes but is not watched, and
// why, each starting with Name ("netlify: no API token: deploys of shop not
// checked"); a launcher shows them. A Group may hold notes and no target.
//
// Receiver, when set, is the handler of the webhook deliveries that wake
// the group's targets (a ghactions or netlify Webhook, built by NewTargets
// when given a webhook secret): a launcher serves it on a listener the
// service can reach, at /hooks/<Name>. The targets' sources are already
// wired to it.
type Group struct {
	Name     string
	Targets  []Target
	Notes    []string
	Receiver http.Handler
}
