package netlify

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// TargetConfig describes the Netlify target of one site: what NewTargets
// builds it from, and the netlify section of a launcher's YAML file (its
// yaml keys are given beside the fields). Each part is watched when its
// keys are given: the functions manifest (functions_dir), the deploys
// (site_id, with an API token), the function endpoints (probes). Secrets
// are not part of it: the API token and the build hook URL are passed to
// NewTargets (WithToken, WithBuildHookURL), read by the caller from the
// variables TokenEnv and BuildHookEnv name.
type TargetConfig struct {
	// Optional makes an absent part a note instead of a failure: a
	// functions directory that does not exist is not checked, and a site
	// with no API token has its deploys left unchecked (yaml: optional).
	Optional bool `yaml:"optional"`
	// SiteID is the site's id or domain; deploy checks, rebuilds and
	// restores need it and an API token (yaml: site_id).
	SiteID string `yaml:"site_id"`
	// SiteURL is the site's root; probes without a URL are relative to it
	// (yaml: site_url).
	SiteURL string `yaml:"site_url"`
	// FunctionsDir is the functions source directory whose manifest is
	// checked and regenerated (yaml: functions_dir).
	FunctionsDir string `yaml:"functions_dir"`
	// Manifest is the functions manifest (yaml: manifest; default
	// DefaultManifestPath).
	Manifest string `yaml:"manifest"`
	// Branch, when set, watches and rebuilds that branch's deploys instead
	// of production's (yaml: branch).
	Branch string `yaml:"branch"`
	// StuckAfter bounds how long the newest deploy may build (yaml:
	// stuck_after; default DefaultStuckAfter).
	StuckAfter time.Duration `yaml:"stuck_after"`
	// MaxRebuilds caps consecutive rebuilds of failing deploys (yaml:
	// max_rebuilds; default DefaultMaxRebuilds; negative: none).
	MaxRebuilds int `yaml:"max_rebuilds"`
	// ClearCache rebuilds without the build cache (yaml: clear_cache).
	ClearCache bool `yaml:"clear_cache"`
	// LockRestored locks a restored deploy once it passes the probes again
	// (yaml: lock_restored; see Recoverer.LockRestored).
	LockRestored bool `yaml:"lock_restored"`
	// Probes are the function endpoints to probe (yaml: probes).
	Probes []Endpoint `yaml:"probes"`
	// APIURL is the API root (yaml: api_url; default DefaultBaseURL).
	APIURL string `yaml:"api_url"`
	// TokenEnv names the variable the caller reads the API token from
	// (yaml: token_env; default TokenEnv). NewTargets reads no variable.
	TokenEnv string `yaml:"token_env"`
	// BuildHookEnv names the variable the caller reads the build hook URL
	// from (yaml: build_hook_env; none by default).
	BuildHookEnv string `yaml:"build_hook_env"`
	// WebhookSecretEnv names the variable the caller reads the JWS secret
	// token of the site's deploy notifications from (yaml:
	// webhook_secret_env; default WebhookSecretEnv). When it is set,
	// notifications wake the site's target (WithWebhookSecret).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// Policy is the target's policy (yaml: policy). A launcher's loader
	// lays it over the file's default policy.
	Policy redundancy.PolicyConfig `yaml:"policy"`
	// Critical: false makes the target non-critical: its failure warns but
	// never fails the whole (yaml: critical; default true; see
	// redundancy.Target.Criticality).
	Critical *bool `yaml:"critical"`
	// Alerts says when the target's alerts page (yaml: alerts). A
	// launcher's loader lays it over the file's alerts keys.
	Alerts redundancy.AlertPolicyConfig `yaml:"alerts"`
}

// WebhookSecretEnv is the variable a caller reads the deploy
// notifications' JWS secret from when TargetConfig.WebhookSecretEnv is
// empty. No constructor of this package reads it.
const WebhookSecretEnv = "NETLIFY_WEBHOOK_SECRET"

// WebhookSecretVar returns the variable holding the notifications' JWS
// secret: WebhookSecretEnv, else the package's WebhookSecretEnv. It may be
// called on a nil *TargetConfig.
func (c *TargetConfig) WebhookSecretVar() string {
	if c == nil || c.WebhookSecretEnv == "" {
		return WebhookSecretEnv
	}
	return c.WebhookSecretEnv
}

// criticality returns the target's criticality: NonCritical for
// critical: false.
func (c *TargetConfig) criticality() redundancy.Criticality {
	if c.Critical != nil && !*c.Critical {
		return redundancy.NonCritical
	}
	return redundancy.Critical
}

// TokenVar returns the variable holding the API token: TokenEnv, else
// TokenEnv's default. It may be called on a nil *TargetConfig.
func (c *TargetConfig) TokenVar() string {
	if c == nil || c.TokenEnv == "" {
		return TokenEnv
	}
	return c.TokenEnv
}

// BuildHookVar returns BuildHookEnv ("" on a nil *TargetConfig).
func (c *TargetConfig) BuildHookVar() string {
	if c == nil {
		return ""
	}
	return c.BuildHookEnv
}

// Validate reports the first bad value: nothing to watch (no
// functions_dir, site_id or probes, unless Optional), a URL that is not
// absolute http(s), a probe without a name or without a URL to probe (its url, or
// site_url), an expected status out of range, a negative duration, a bad
// policy or alerts key. The error wraps a *redundancy.ConfigError naming the key
// ("probes[0].name").
func (c *TargetConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("netlify: %w", &redundancy.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, u := range []struct{ key, v string }{{"api_url", c.APIURL}, {"site_url", c.SiteURL}} {
		if u.v != "" && !isHTTPURL(u.v) {
			return bad(u.key, "want an absolute http(s) URL")
		}
	}
	if strings.ContainsAny(c.SiteID, "/?# \t\n") {
		return bad("site_id", "%q is not a site id or domain", c.SiteID)
	}
	if c.StuckAfter < 0 {
		return bad("stuck_after", "negative duration %s", c.StuckAfter)
	}
	seen := map[string]bool{}
	for i, p := range c.Probes {
		key := fmt.Sprintf("probes[%d]", i)
		switch {
		case strings.TrimSpace(p.Name) == "":
			return bad(key+".name", "required")
		case seen[p.Name]:
			return bad(key+".name", "duplicate probe %q", p.Name)
		case p.URL != "" && !isHTTPURL(p.URL):
			return bad(key+".url", "want an absolute http(s) URL")
		case p.URL == "" && c.SiteURL == "":
			return bad(key, "needs url, or site_url")
		case p.ExpectStatus != 0 && (p.ExpectStatus < 100 || p.ExpectStatus > 599):
			return bad(key+".expect_status", "%d is out of range 100-599", p.ExpectStatus)
		case p.Timeout < 0 || p.SlowAfter < 0:
			return bad(key, "timeout and slow_after may not be negative")
		}
		seen[p.Name] = true
	}
	if !c.Optional && c.FunctionsDir == "" && c.SiteID == "" && len(c.Probes) == 0 {
		return bad("", "nothing to watch: give functions_dir, site_id or probes (or optional: true)")
	}
	if err := c.Policy.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("netlify: %w", ce.Under("policy"))
		}
		return fmt.Errorf("netlify: policy: %w", err)
	}
	if err := c.Alerts.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("netlify: %w", ce.Under("alerts"))
		}
		return fmt.Errorf("netlify: alerts: %w", err)
	}
	return nil
}

func (c *TargetConfig) manifest() string {
	if c.Manifest == "" {
		return DefaultManifestPath
	}
	return c.Manifest
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
