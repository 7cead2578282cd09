package redundancy

import (
	"fmt"
	"time"
)

// AlertPolicyConfig is an AlertPolicy as a configuration file writes it:
// the alert keys of a launcher's file (alerts: {renotify: 1h,
// page_repairs: true, flap: {count: 5, window: 30m}}) and of each
// provider's section. A zero field is unset: it takes the value of the
// config it is laid over (Over), then AlertPolicy's default. Durations are
// text ("4h"); renotify: -1s never re-sends, flap: {count: -1} never
// flaps.
type AlertPolicyConfig struct {
	// PageRepairs pages as soon as the target goes bad, before its repair
	// has had its chance (AlertPolicy.PageRepairs). Unset: false.
	PageRepairs *bool `yaml:"page_repairs"`
	// Renotify re-sends an open alert at most this often (default 4h;
	// negative: never).
	Renotify time.Duration `yaml:"renotify"`
	// Flap says when a target that keeps going bad is flapping.
	Flap FlapConfig `yaml:"flap"`
}

// FlapConfig is the flapping rule of an AlertPolicyConfig: Count times bad
// within Window (AlertPolicy.FlapCount, FlapWindow).
type FlapConfig struct {
	Count  int           `yaml:"count"`  // default 3; negative: never flapping
	Window time.Duration `yaml:"window"` // default 1h
}

// Over returns c with its unset fields taken from base: a section's alert
// keys laid over the file's.
func (c AlertPolicyConfig) Over(base AlertPolicyConfig) AlertPolicyConfig {
	out := c
	if out.PageRepairs == nil {
		out.PageRepairs = base.PageRepairs
	}
	if out.Renotify == 0 {
		out.Renotify = base.Renotify
	}
	if out.Flap.Count == 0 {
		out.Flap.Count = base.Flap.Count
	}
	if out.Flap.Window == 0 {
		out.Flap.Window = base.Flap.Window
	}
	return out
}

// Policy returns the alert policy as a Target takes it.
func (c AlertPolicyConfig) Policy() AlertPolicy {
	return AlertPolicy{PageRepairs: c.PageRepairs != nil && *c.PageRepairs, Renotify: c.Renotify,
		FlapCount: c.Flap.Count, FlapWindow: c.Flap.Window}
}

// Validate reports the first key no alert policy may have, as a
// *ConfigError: a negative flap window, or a renotify interval below a
// minute (a reminder every few seconds is a flood, not a reminder).
func (c AlertPolicyConfig) Validate() error {
	if c.Flap.Window < 0 {
		return &ConfigError{Key: "flap.window", Msg: fmt.Sprintf("negative duration %s", c.Flap.Window)}
	}
	if c.Renotify > 0 && c.Renotify < MinConfigRenotify {
		return &ConfigError{Key: "renotify", Msg: fmt.Sprintf("%s is below the minimum %s (a negative value: never)", c.Renotify, MinConfigRenotify)}
	}
	return nil
}

// MinConfigRenotify is the shortest renotify interval an
// AlertPolicyConfig may set.
const MinConfigRenotify = time.Minute
