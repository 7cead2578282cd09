package ghactions

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// The options of each constructor, as NewTargets hands them on.
var (
	clientOpts    = []string{"WithToken", "WithHTTPClient", "WithClock"}
	checkerOpts   = []string{"WithClock", "WithStuckAfter", "WithWaitingAfter", "WithRateFloor"}
	recovererOpts = []string{"WithCancelWait", "WithForceCancelAfter", "WithPollInterval"}
	filesOpts     = []string{"WithClock", "WithLintIgnore"}
	targetsOpts   = slices.Concat([]string{"WithClient", "WithLogger", "WithName", "WithBackupDir", "WithWebhookSecret", "WithMetrics"},
		clientOpts, checkerOpts, recovererOpts, filesOpts)
)

// WithClient makes NewTargets ask GitHub through api instead of a Client
// of its own (a test double; a client shared by several sections). The
// client's options (WithToken, WithHTTPClient) then do not apply, and
// TargetConfig.APIURL is not used.
func WithClient(api API) Option {
	return Option{"WithClient", func(s *settings) error {
		if api == nil {
			return fmt.Errorf("API is nil")
		}
		s.api = api
		return nil
	}}
}

// WithLogger makes NewTargets log, at debug level, what it builds and
// what it leaves out (NewTargets; default: nothing is logged).
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", func(s *settings) error { s.logger = l; return nil }}
}

// WithName names the system NewTargets builds for (default "github"): the
// Group's name and the prefix of its targets' names ("github-files",
// "github-<owner>-<name>") and of its notes.
func WithName(name string) Option {
	return Option{"WithName", func(s *settings) error {
		if strings.TrimSpace(name) == "" || strings.Contains(name, "/") {
			return fmt.Errorf("name %q is empty or holds a /", name)
		}
		s.name = name
		return nil
	}}
}

// WithBackupDir is where NewTargets keeps the known-good copies of the
// workflow files when TargetConfig.BackupDir is empty (a launcher passes a
// directory under its state directory).
func WithBackupDir(dir string) Option {
	return Option{"WithBackupDir", func(s *settings) error { s.backupDir = dir; return nil }}
}

// WithWebhookSecret makes NewTargets receive the repositories' webhook
// deliveries: it builds a Webhook checking signatures with secret (the
// caller reads it, from the variable TargetConfig.WebhookSecretVar names;
// "" receives none), returns it as the Group's Receiver, and gives each
// repository target its Source, so that a failed run is seen and judged
// the moment GitHub tells. Polling then becomes the safety net: a target
// whose policy sets no interval (neither the section nor the file's
// default policy) is checked every SafetyNetInterval; and one that sets no
// failure threshold is repaired at the first failing check (a delivered
// conclusion is a fact, not a flaky reading: waiting for three would wait
// for two safety-net polls; an unreachable API is unknown, never
// repaired).
func WithWebhookSecret(secret string) Option {
	return Option{"WithWebhookSecret", func(s *settings) error { s.hookKey = secret; return nil }}
}

// RateLimits is where WithMetrics registers the GitHub rate limit: a
// *metrics.Metrics (package redundancy/metrics) is one.
type RateLimits interface {
	RateLimit(system, resource string, fn func() (remaining, limit int, ok bool))
}

// WithMetrics makes NewTargets register the core rate limit of the client
// it asks GitHub through (its own, or a *Client given with WithClient) on
// m, under the Group's name and resource "core": a launcher exports it
// without reaching into the client.
func WithMetrics(m RateLimits) Option {
	return Option{"WithMetrics", func(s *settings) error { s.rates = m; return nil }}
}

// NewTargets builds the targets cfg describes: "github-files", the
// WorkflowFiles of cfg.Checkout with its BackupStore, and one target per
// repository, "github-<owner>-<name>" (with "-<branch>" when a repository
// is given for several branches), a Checker and its Recoverer, all with
// cfg's policy. The repositories' targets are Shared
// (redundancy.Target.Shared: among several monitors only the leader
// repairs them); the checkout's is local. The Group is named "github"
// (WithName).
//
// Every target takes cfg's criticality and alert policy; the repository
// targets are Shared (only the leader of a group of monitors repairs
// them) and carry ProblemDeps (an unreachable API is one alert).
//
// It takes WithToken (the caller reads it; NewTargets reads no variable),
// WithWebhookSecret (deliveries wake the repository targets), WithMetrics
// (the rate limit), WithClient (instead of a Client of its own),
// WithBackupDir, WithLogger, WithName, WithHTTPClient, WithClock, and the
// checkers' and recoverers' timing options (WithStuckAfter, WithWaitingAfter, WithRateFloor,
// WithCancelWait, WithForceCancelAfter, WithPollInterval, WithLintIgnore);
// what differs per repository (re-runs, backup workflow) is in cfg.
//
// A nil cfg (a section absent from a file) builds nothing, with the note
// "github: not configured". An optional checkout without .github/workflows
// is a note; so is the absence of a token (the API is asked without one,
// at 60 requests an hour). Errors start with "ghactions: "; a bad cfg is
// its Validate error.
func NewTargets(ctx context.Context, cfg *TargetConfig, opts ...Option) (redundancy.Group, error) {
	s, err := build("NewTargets", opts, targetsOpts...)
	g := redundancy.Group{Name: s.name}
	if g.Name == "" {
		g.Name = "github"
	}
	if err != nil {
		return g, err
	}
	if cfg == nil {
		g.Notes = append(g.Notes, g.Name+": not configured")
		return g, nil
	}
	if err := cfg.Validate(); err != nil {
		return g, err
	}
	log := s.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	note := func(format string, args ...any) {
		n := g.Name + ": " + fmt.Sprintf(format, args...)
		log.Debug("github targets: part not watched", "note", n)
		g.Notes = append(g.Notes, n)
	}
	policy := cfg.Policy.Policy()
	if cfg.Checkout != "" {
		t, ok, err := filesTarget(cfg, s, opts, g.Name, policy)
		if err != nil {
			return g, err
		}
		if ok {
			t.Criticality, t.Alerts = cfg.criticality(), cfg.Alerts.Policy()
			g.Targets = append(g.Targets, t)
		} else {
			root, _ := filepath.Abs(cfg.Checkout)
			note("not present (no %s in %s): workflow files not checked", WorkflowsDir, root)
		}
	}
	if len(cfg.Repos) == 0 {
		return g, nil
	}
	api := s.api
	if api == nil {
		copts := pick(opts, clientOpts)
		if cfg.APIURL != "" {
			copts = append(copts, WithBaseURL(cfg.APIURL))
		}
		if s.token == "" {
			note("no API token (%s is not set): the API is asked without one (60 requests an hour)", cfg.TokenVar())
		}
		c, err := NewClient(copts...)
		if err != nil {
			return g, err
		}
		api = c
	}
	if c, ok := api.(interface{ Transport() *Transport }); ok && s.rates != nil && c.Transport() != nil {
		tr := c.Transport()
		s.rates.RateLimit(g.Name, "core", func() (int, int, bool) {
			r := tr.Rate()
			return r.Remaining, r.Limit, r.Known()
		})
	}
	var hook *Webhook
	if s.hookKey != "" {
		hook, err = NewWebhook([]byte(s.hookKey), WithWebhookLogger(log))
		if err != nil {
			return g, err
		}
		g.Receiver = hook
		if cfg.Policy.Interval == 0 {
			policy.Interval = SafetyNetInterval
		}
		if cfg.Policy.FailureThreshold == 0 {
			policy.FailureThreshold = 1
		}
		note("webhook deliveries wake the repository targets; polled every %s as a safety net", policy.Interval)
	}
	count := map[string]int{}
	for _, r := range cfg.Repos {
		count[r.FullName()]++
	}
	for i, r := range cfg.Repos {
		checker, err := NewChecker(api, r.Repo, pick(opts, checkerOpts)...)
		if err != nil {
			return g, fmt.Errorf("ghactions: repos[%d] %s: %w", i, r.Repo, err)
		}
		ropts := pick(opts, recovererOpts)
		if r.MaxReruns != nil {
			ropts = append(ropts, WithMaxReruns(*r.MaxReruns))
		}
		if r.BackupWorkflow != "" {
			ropts = append(ropts, WithBackupWorkflow(r.BackupWorkflow))
		}
		if r.EnableManuallyDisabled {
			ropts = append(ropts, WithEnableManuallyDisabled(true))
		}
		rec, err := NewRecoverer(checker, ropts...)
		if err != nil {
			return g, fmt.Errorf("ghactions: repos[%d] %s: %w", i, r.Repo, err)
		}
		name := g.Name + "-" + safeName(r.Owner+"-"+r.Name)
		if count[r.FullName()] > 1 {
			name += "-" + safeName(cmp.Or(r.Branch, "default"))
		}
		log.Debug("github target", "target", name, "repo", r.Repo.String(), "token", s.token != "" || s.api != nil)
		// A repository is the same for every monitor: among several
		// (redundancy.WithElection) only the leader repairs it. The
		// workflow files of a checkout are each host's own.
		t := redundancy.Target{Name: name, Checker: checker, Recoverer: rec, Policy: policy, Shared: true,
			Criticality: cfg.criticality(), Alerts: cfg.Alerts.Policy(), ProblemDeps: ProblemDeps()}
		if hook != nil {
			t.Source = hook.Source(checker)
		}
		g.Targets = append(g.Targets, t)
	}
	return g, nil
}

// filesTarget builds the target of the checkout's workflow files; ok is
// false when an optional checkout has no workflows folder.
func filesTarget(cfg *TargetConfig, s settings, opts []Option, system string, policy redundancy.Policy) (redundancy.Target, bool, error) {
	root, err := filepath.Abs(cfg.Checkout)
	if err != nil {
		return redundancy.Target{}, false, fmt.Errorf("ghactions: checkout: %w", err)
	}
	if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(WorkflowsDir))); (err != nil || !st.IsDir()) && cfg.Optional {
		return redundancy.Target{}, false, nil
	}
	backup := cfg.BackupDir
	if backup == "" {
		backup = s.backupDir
	}
	if backup == "" {
		return redundancy.Target{}, false, fmt.Errorf("ghactions: backup_dir: required with checkout %s (where the known-good copies of the workflow files are kept; or WithBackupDir)", cfg.Checkout)
	}
	store, err := OpenBackupStore(backup)
	if err != nil {
		return redundancy.Target{}, false, err
	}
	fopts := pick(opts, filesOpts)
	if len(cfg.LintIgnore) > 0 {
		fopts = append(fopts, WithLintIgnore(cfg.LintIgnore...))
	}
	files, err := NewWorkflowFiles(root, store, fopts...)
	if err != nil {
		return redundancy.Target{}, false, err
	}
	return redundancy.Target{Name: system + "-files", Checker: files, Recoverer: files, Policy: policy}, true, nil
}

// pick returns the options of opts that a constructor taking names takes.
func pick(opts []Option, names []string) []Option {
	var out []Option
	for _, o := range opts {
		if slices.Contains(names, o.name) {
			out = append(out, o)
		}
	}
	return out
}

// safeName makes s usable in a target name (no "/", no spaces).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}
