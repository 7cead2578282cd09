package ghactions

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultTokenEnv is the variable a caller reads the API token from when
// TargetConfig.TokenEnv is empty. No constructor of this package reads it.
const DefaultTokenEnv = "GITHUB_TOKEN"

// DefaultWebhookSecretEnv is the variable a caller reads the webhook
// secret from when TargetConfig.WebhookSecretEnv is empty. No constructor
// of this package reads it.
const DefaultWebhookSecretEnv = "GITHUB_WEBHOOK_SECRET"

// TargetConfig describes the GitHub Actions targets of one checkout and of
// repositories watched through the API: what NewTargets builds them from,
// and the github section of a launcher's YAML file (its yaml keys are
// given beside the fields). The API token is not part of it: it is passed
// to NewTargets (WithToken), read by the caller from the variable TokenEnv
// names.
type TargetConfig struct {
	// Optional makes a checkout without .github/workflows a note instead
	// of a target (yaml: optional).
	Optional bool `yaml:"optional"`
	// Checkout is the directory whose .github/workflows files are
	// validated and restored from backups; "" checks no files (yaml:
	// checkout).
	Checkout string `yaml:"checkout"`
	// BackupDir keeps the known-good copies of the workflow files (yaml:
	// backup_dir). Required with Checkout unless NewTargets is given
	// WithBackupDir.
	BackupDir string `yaml:"backup_dir"`
	// LintIgnore drops actionlint findings whose message matches one of
	// these regular expressions (yaml: lint_ignore).
	LintIgnore []string `yaml:"lint_ignore"`
	// Repos are the repositories watched through the API (yaml: repos).
	Repos []RepoConfig `yaml:"repos"`
	// APIURL is the API root, such as GitHub Enterprise's
	// "https://ghe.example.com/api/v3/" (yaml: api_url; default
	// DefaultBaseURL).
	APIURL string `yaml:"api_url"`
	// TokenEnv names the variable the caller reads the API token from
	// (yaml: token_env; default DefaultTokenEnv).
	TokenEnv string `yaml:"token_env"`
	// WebhookSecretEnv names the variable the caller reads the secret of
	// the repositories' webhook from (yaml: webhook_secret_env; default
	// DefaultWebhookSecretEnv). When it is set, deliveries wake the
	// repository targets (WithWebhookSecret).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// Policy is the targets' policy (yaml: policy). A launcher's loader
	// lays it over the file's default policy.
	Policy redundancy.PolicyConfig `yaml:"policy"`
	// Critical: false makes the targets non-critical: their failure warns
	// but never fails the whole (yaml: critical; default true; see
	// redundancy.Target.Criticality).
	Critical *bool `yaml:"critical"`
	// Alerts says when the targets' alerts page (yaml: alerts). A
	// launcher's loader lays it over the file's alerts keys.
	Alerts redundancy.AlertPolicyConfig `yaml:"alerts"`
}

// RepoConfig is one repository watched through the API: the Repo (yaml:
// owner, name, branch, workflows; an empty branch is the repository's
// default branch) and how its runs are repaired.
type RepoConfig struct {
	Repo `yaml:",inline"`
	// BackupWorkflow is dispatched once a failed run's re-runs are spent
	// (yaml: backup_workflow; see WithBackupWorkflow).
	BackupWorkflow string `yaml:"backup_workflow"`
	// MaxReruns is how many times a run's failed jobs are re-run (yaml:
	// max_reruns; unset: DefaultMaxReruns; 0: never).
	MaxReruns *int `yaml:"max_reruns"`
	// EnableManuallyDisabled enables workflows a person disabled (yaml:
	// enable_manually_disabled; see WithEnableManuallyDisabled).
	EnableManuallyDisabled bool `yaml:"enable_manually_disabled"`
}

// TokenVar returns the variable holding the API token: TokenEnv, else
// DefaultTokenEnv. It may be called on a nil *TargetConfig.
func (c *TargetConfig) TokenVar() string {
	if c == nil || c.TokenEnv == "" {
		return DefaultTokenEnv
	}
	return c.TokenEnv
}

// WebhookSecretVar returns the variable holding the webhook secret:
// WebhookSecretEnv, else DefaultWebhookSecretEnv. It may be called on a
// nil *TargetConfig.
func (c *TargetConfig) WebhookSecretVar() string {
	if c == nil || c.WebhookSecretEnv == "" {
		return DefaultWebhookSecretEnv
	}
	return c.WebhookSecretEnv
}

// criticality returns the targets' criticality: NonCritical for
// critical: false.
func (c *TargetConfig) criticality() redundancy.Criticality {
	if c.Critical != nil && !*c.Critical {
		return redundancy.NonCritical
	}
	return redundancy.Critical
}

// Validate reports the first bad value: nothing to watch (no checkout and
// no repos, unless Optional), an API URL that is not absolute http(s), a
// repository without an owner or a name, one given twice, a negative
// max_reruns, a lint pattern that is empty, a bad policy or alerts key. The error wraps a
// *redundancy.ConfigError naming the key ("repos[0].owner").
func (c *TargetConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("ghactions: %w", &redundancy.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("api_url", "want an absolute http(s) URL")
		}
	}
	for i, p := range c.LintIgnore {
		if strings.TrimSpace(p) == "" {
			return bad(fmt.Sprintf("lint_ignore[%d]", i), "empty pattern")
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Repos {
		key := fmt.Sprintf("repos[%d]", i)
		for _, f := range []struct{ name, v string }{{"owner", r.Owner}, {"name", r.Name}} {
			if strings.TrimSpace(f.v) == "" {
				return bad(key+"."+f.name, "required")
			}
		}
		if err := r.Repo.validate(); err != nil {
			return bad(key, "%s", strings.TrimPrefix(err.Error(), "ghactions: "))
		}
		if r.MaxReruns != nil && *r.MaxReruns < 0 {
			return bad(key+".max_reruns", "may not be negative")
		}
		id := r.Repo.String()
		if seen[id] {
			return bad(key, "duplicate repository %s", id)
		}
		seen[id] = true
	}
	if !c.Optional && c.Checkout == "" && len(c.Repos) == 0 {
		return bad("", "nothing to watch: give checkout or repos (or optional: true)")
	}
	if err := c.Policy.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("ghactions: %w", ce.Under("policy"))
		}
		return fmt.Errorf("ghactions: policy: %w", err)
	}
	if err := c.Alerts.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("ghactions: %w", ce.Under("alerts"))
		}
		return fmt.Errorf("ghactions: alerts: %w", err)
	}
	return nil
}
