package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Environment variables read by ApplyEnv.
const (
	EnvLogLevel     = "REDUNDANCY_LOG_LEVEL"
	EnvGitHubToken  = "GITHUB_TOKEN"
	EnvNetlifyToken = "NETLIFY_AUTH_TOKEN"
	// EnvEndpointToken is the default variable of the endpoint's bearer token.
	EnvEndpointToken = "URAS_ENDPOINT_TOKEN"
)

// SystemLevelEnv returns the variable that sets one system's log level:
// PM2_REDUNDANCY_LOG_LEVEL, GITHUB_REDUNDANCY_LOG_LEVEL, ...
func SystemLevelEnv(system string) string {
	return strings.ToUpper(system) + "_" + EnvLogLevel
}

func (c *Config) validate(idx *pathIndex) *Error {
	bad := func(key, format string, args ...any) *Error {
		return &Error{Line: idx.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if _, err := c.Logs.Level.Parse(); err != nil {
		return bad("logs.level", "%v", err)
	}
	for sys, l := range c.Logs.Levels {
		if !isSystem(sys) {
			return bad("logs.levels."+sys, "unknown system (want one of %s)", strings.Join(Systems, ", "))
		}
		if _, err := l.Parse(); err != nil {
			return bad("logs.levels."+sys, "%v", err)
		}
	}
	if c.Logs.MaxSizeMB < 0 || c.Logs.MaxAgeDays < 0 {
		return bad("logs", "max_size_mb and max_age_days may not be negative")
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return bad("listen", "want host:port, such as 127.0.0.1:9321 (%v)", err)
		}
	}
	if e := validatePolicy(bad, "policy", &c.Policy); e != nil {
		return e
	}
	if e := c.validateMerged(bad, "", nil); e != nil {
		return e
	}
	if p := c.PM2; p != nil {
		switch strings.ToLower(strings.TrimSpace(p.Client)) {
		case "", "auto", "native", "cli":
		default:
			return bad("pm2.client", "unknown client %q (want auto, native or cli)", p.Client)
		}
		seen := map[string]bool{}
		for i, a := range p.Apps {
			key := fmt.Sprintf("pm2.apps[%d]", i)
			if strings.TrimSpace(a.Name) == "" {
				return bad(key+".name", "required")
			}
			if seen[a.Name] {
				return bad(key+".name", "duplicate app %q", a.Name)
			}
			seen[a.Name] = true
		}
		if e := validatePM2Keys(bad, p); e != nil {
			return e
		}
		if e := validatePolicy(bad, "pm2.policy", p.Policy); e != nil {
			return e
		}
		if e := c.validateMerged(bad, "pm2", p.Policy); e != nil {
			return e
		}
	}
	if g := c.GitHub; g != nil {
		if g.APIURL != "" && !isHTTPURL(g.APIURL) {
			return bad("github.api_url", "want an absolute http(s) URL")
		}
		seen := map[string]bool{}
		for i, r := range g.Repos {
			key := fmt.Sprintf("github.repos[%d]", i)
			for _, f := range []struct{ name, v string }{{"owner", r.Owner}, {"name", r.Name}, {"branch", r.Branch}} {
				if strings.TrimSpace(f.v) == "" {
					return bad(key+"."+f.name, "required")
				}
			}
			if r.MaxReruns < 0 {
				return bad(key+".max_reruns", "may not be negative")
			}
			id := r.Owner + "/" + r.Name + "@" + r.Branch
			if seen[id] {
				return bad(key, "duplicate repository %s", id)
			}
			seen[id] = true
		}
		if e := validatePolicy(bad, "github.policy", g.Policy); e != nil {
			return e
		}
		if e := c.validateMerged(bad, "github", g.Policy); e != nil {
			return e
		}
	}
	if n := c.Netlify; n != nil {
		if n.APIURL != "" && !isHTTPURL(n.APIURL) {
			return bad("netlify.api_url", "want an absolute http(s) URL")
		}
		if n.SiteURL != "" && !isHTTPURL(n.SiteURL) {
			return bad("netlify.site_url", "want an absolute http(s) URL")
		}
		for i, p := range n.Probes {
			key := fmt.Sprintf("netlify.probes[%d]", i)
			if strings.TrimSpace(p.Name) == "" {
				return bad(key+".name", "required")
			}
			if p.URL != "" && !isHTTPURL(p.URL) {
				return bad(key+".url", "want an absolute http(s) URL")
			}
			if p.URL == "" && n.SiteURL == "" {
				return bad(key, "needs url, or netlify.site_url")
			}
		}
		if e := validatePolicy(bad, "netlify.policy", n.Policy); e != nil {
			return e
		}
		if e := c.validateMerged(bad, "netlify", n.Policy); e != nil {
			return e
		}
	}
	for i, w := range c.Alerts.Webhooks {
		key := fmt.Sprintf("alerts.webhooks[%d]", i)
		switch {
		case w.URL == "" && w.URLEnv == "":
			return bad(key, "needs url or url_env")
		case w.URL != "" && w.URLEnv != "":
			return bad(key, "give url or url_env, not both")
		case w.URL != "" && !isHTTPURL(w.URL):
			return bad(key+".url", "want an absolute http(s) URL")
		}
	}
	return nil
}

func validatePolicy(bad func(string, string, ...any) *Error, key string, p *Policy) *Error {
	if p == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"failure_threshold", p.FailureThreshold}, {"success_threshold", p.SuccessThreshold}, {"budget.max", p.Budget.Max}} {
		if f.v < 0 {
			return bad(key+"."+f.name, "may not be negative")
		}
	}
	if p.Retries != nil && *p.Retries < 0 {
		return bad(key+".retries", "may not be negative")
	}
	if j := p.Backoff.Jitter; j != nil && (*j < 0 || *j >= 1) {
		return bad(key+".backoff.jitter", "want a fraction from 0 up to (not including) 1")
	}
	for _, f := range []struct {
		name     string
		v, least Duration
	}{
		{"interval", p.Interval, MinInterval}, {"timeout", p.Timeout, MinTimeout},
		{"action_timeout", p.ActionTimeout, MinActionTimeout}, {"backoff.base", p.Backoff.Base, MinBackoffBase},
		{"budget.window", p.Budget.Window, MinBudgetWindow},
	} {
		if f.v != 0 && f.v < f.least {
			return bad(key+"."+f.name, "%s is below the minimum %s", time.Duration(f.v), time.Duration(f.least))
		}
	}
	if p.Backoff.Base != 0 && p.Backoff.Max != 0 && p.Backoff.Base > p.Backoff.Max {
		return bad(key+".backoff.base", "%s is above backoff.max %s", time.Duration(p.Backoff.Base), time.Duration(p.Backoff.Max))
	}
	return nil
}

// The smallest durations a policy may set: below them a target would be
// checked, timed out or recovered in a tight loop (an interval of 1ns
// rewrote the state file thousands of times a second).
const (
	MinInterval      = Duration(time.Second)
	MinTimeout       = Duration(100 * time.Millisecond)
	MinActionTimeout = Duration(time.Second)
	MinBackoffBase   = Duration(100 * time.Millisecond)
	MinBudgetWindow  = Duration(time.Second)
)

// validateMerged checks what only shows once a section's policy is laid
// over the default policy and redundancy's defaults: a backoff base above
// its max. The key named is the one that set the base (or the max).
func (c *Config) validateMerged(bad func(string, string, ...any) *Error, section string, p *Policy) *Error {
	merged := c.Policy
	if p != nil {
		merged = p.Merge(c.Policy)
	}
	base, max := time.Duration(merged.Backoff.Base), time.Duration(merged.Backoff.Max)
	baseKey, maxKey := "", ""
	switch {
	case p != nil && p.Backoff.Base != 0:
		baseKey = section + ".policy.backoff.base"
	case c.Policy.Backoff.Base != 0:
		baseKey = "policy.backoff.base"
	}
	switch {
	case p != nil && p.Backoff.Max != 0:
		maxKey = section + ".policy.backoff.max"
	case c.Policy.Backoff.Max != 0:
		maxKey = "policy.backoff.max"
	}
	maxNote := ""
	if base == 0 {
		base = redundancy.DefaultBackoffBase
	}
	if max == 0 {
		max, maxNote = redundancy.DefaultBackoffMax, " (the default)"
	}
	if base <= max {
		return nil
	}
	key := baseKey
	if key == "" {
		key = maxKey
	}
	what := section
	if what == "" {
		what = "the default policy"
	}
	return bad(key, "backoff base %s is above backoff max %s%s in %s", base, max, maxNote, what)
}

func isSystem(s string) bool {
	for _, x := range Systems {
		if s == x {
			return true
		}
	}
	return false
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// applyEnv reads the tokens and log levels from the environment.
func (c *Config) applyEnv(getenv func(string) string) *Error {
	envErr := func(name, format string, args ...any) *Error {
		return &Error{File: "environment", Key: name, Msg: fmt.Sprintf(format, args...)}
	}
	if v := getenv(EnvLogLevel); v != "" {
		if _, err := Level(v).Parse(); err != nil {
			return envErr(EnvLogLevel, "%v", err)
		}
		c.Logs.Level = Level(v)
	}
	for _, sys := range Systems {
		name := SystemLevelEnv(sys)
		if v := getenv(name); v != "" {
			if _, err := Level(v).Parse(); err != nil {
				return envErr(name, "%v", err)
			}
			if c.Logs.Levels == nil {
				c.Logs.Levels = map[string]Level{}
			}
			c.Logs.Levels[sys] = Level(v)
		}
	}
	if c.ListenTokenEnv == "" {
		c.ListenTokenEnv = EnvEndpointToken
	}
	c.ListenToken = getenv(c.ListenTokenEnv)
	if g := c.GitHub; g != nil {
		if g.TokenEnv == "" {
			g.TokenEnv = EnvGitHubToken
		}
		g.Token = getenv(g.TokenEnv)
	}
	if n := c.Netlify; n != nil {
		if n.TokenEnv == "" {
			n.TokenEnv = EnvNetlifyToken
		}
		n.Token = getenv(n.TokenEnv)
		if n.BuildHookEnv != "" {
			n.BuildHookURL = getenv(n.BuildHookEnv)
			if n.BuildHookURL != "" && !isHTTPURL(n.BuildHookURL) {
				return envErr(n.BuildHookEnv, "want an absolute http(s) URL")
			}
		}
		if n.SiteID != "" && n.Token == "" && !n.Optional {
			return envErr(n.TokenEnv, "not set, and netlify.site_id needs an API token")
		}
	}
	for i := range c.Alerts.Webhooks {
		w := &c.Alerts.Webhooks[i]
		if w.URLEnv != "" {
			w.URL = getenv(w.URLEnv)
			if !isHTTPURL(w.URL) {
				return envErr(w.URLEnv, "want an absolute http(s) URL (alerts.webhooks[%d].url_env)", i)
			}
		}
	}
	return nil
}

func (c *Config) fillDefaults() {
	if c.Logs.Dir == "" {
		c.Logs.Dir = "logs"
	}
	if c.Logs.MaxSizeMB == 0 {
		c.Logs.MaxSizeMB = 10
	}
	if c.Logs.MaxAgeDays == 0 {
		c.Logs.MaxAgeDays = 30
	}
	if c.Logs.Compress == nil {
		t := true
		c.Logs.Compress = &t
	}
	if c.State.Dir == "" {
		c.State.Dir = ".uras"
	}
	if n := c.Netlify; n != nil && n.Manifest == "" {
		n.Manifest = ".netlify/functions/manifest.json"
	}
}

// Secrets returns the secret values the configuration holds (tokens,
// build hook and webhook URLs, inline ones included: a webhook URL often
// carries its secret in the path), for redaction.
func (c *Config) Secrets() []string {
	out := []string{c.ListenToken}
	if c.GitHub != nil && c.GitHub.Token != "" {
		out = append(out, c.GitHub.Token)
	}
	if n := c.Netlify; n != nil {
		out = append(out, n.Token, n.BuildHookURL)
	}
	for _, w := range c.Alerts.Webhooks {
		out = append(out, w.URL)
	}
	var clean []string
	for _, s := range out {
		if s != "" {
			clean = append(clean, s)
		}
	}
	return clean
}
