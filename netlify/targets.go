package netlify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// targetsOptions are the options NewTargets takes.
var targetsOptions = append([]string{"WithClient", "WithLogger", "WithStore", "WithName", "WithBuildHookURL", "WithWebhookSecret"},
	slicesWithout(clientOptions, "WithBaseURL")...)

// WithWebhookSecret makes NewTargets receive the site's deploy
// notifications: it builds a Webhook verifying their signature with
// secret (the JWS secret token; the caller reads it, from the variable
// TargetConfig.WebhookSecretVar names; "" receives none), returns it as
// the Group's Receiver, and gives the site's target its Source, so that a
// failed deploy is checked the moment Netlify tells. When the target
// checks only deploys (no probes, no functions directory) polling becomes
// the safety net: with no interval set (neither the section nor the
// file's default policy) it is checked every SafetyNetInterval, and with
// no failure threshold set it is repaired at the first failing check (a
// notified deploy state is a fact, not a flaky reading).
func WithWebhookSecret(secret string) Option {
	return Option{"WithWebhookSecret", func(s *settings) { s.hookKey = secret }}
}

// NewTargets builds the target of one site from cfg: a SiteChecker of the
// parts cfg gives (ManifestChecker, DeployChecker, ProbeChecker) with the
// Recoverer of the same parts, sharing a KnownGood, and cfg's policy. The
// Group is named "netlify" (WithName) and its target "netlify-<site id>",
// Shared (redundancy.Target.Shared: among several monitors only the
// leader repairs it), or "netlify-functions", local, without a site id.
//
// The target takes cfg's criticality and alert policy, and ProblemDeps
// (a failed deploy is the one alert for the endpoints it breaks); with a
// site id it is Shared (only the leader of a group of monitors repairs
// it).
//
// It takes WithToken (deploys need it; the caller reads it, NewTargets
// reads no variable), WithWebhookSecret, WithBuildHookURL, WithStore (the known-good deploys;
// default in memory), WithClient (instead of an APIClient of its own),
// WithClock, WithLogger, WithName, and the API client's options
// (WithHTTPClient, WithTimeout, WithRetry, WithMaxRateLimitWait,
// WithUserAgent); cfg.APIURL is the API root.
//
// A nil cfg (a section absent from a file) builds nothing, with the note
// "netlify: not configured". What cfg gives but cannot be watched is a
// note when cfg.Optional is set (a functions directory that does not
// exist, a site id without a token) and an error otherwise; so is a cfg
// that gives nothing to watch. Errors start with "netlify: "; a bad cfg
// is its Validate error.
func NewTargets(ctx context.Context, cfg *TargetConfig, opts ...Option) (redundancy.Group, error) {
	s, err := apply("NewTargets", opts, targetsOptions...)
	g := redundancy.Group{Name: s.name}
	if g.Name == "" {
		g.Name = "netlify"
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
		log.Debug("netlify target: part not watched", "note", n)
		g.Notes = append(g.Notes, n)
	}

	known := &KnownGood{Store: s.store}
	site := &SiteChecker{KnownGood: known}
	rec := &Recoverer{SiteID: cfg.SiteID, ManifestPath: cfg.manifest(), BuildHookURL: s.buildHook, ClearCache: cfg.ClearCache,
		Branch: cfg.Branch, MaxRebuilds: cfg.MaxRebuilds, KnownGood: known, LockRestored: cfg.LockRestored, Clock: s.clock}
	if s.buildHook != "" && !isHTTPURL(s.buildHook) {
		return g, fmt.Errorf("netlify: the build hook URL%s is not an absolute http(s) URL", fromVar(cfg.BuildHookEnv))
	}
	if cfg.FunctionsDir != "" {
		st, err := os.Stat(cfg.FunctionsDir)
		switch {
		case err == nil && st.IsDir(), !cfg.Optional:
			site.Manifest = &ManifestChecker{FunctionsDir: cfg.FunctionsDir, ManifestPath: cfg.manifest()}
			rec.FunctionsDir = cfg.FunctionsDir
		default:
			abs, _ := filepath.Abs(cfg.FunctionsDir)
			note("not present (no functions directory %s): manifest not checked", abs)
		}
	}
	if cfg.SiteID != "" {
		client := s.client
		if client == nil && s.token != "" {
			cs := s
			cs.baseURL = cfg.APIURL
			if cs.baseURL == "" {
				cs.baseURL = DefaultBaseURL
			}
			client = newAPIClient(cs)
		}
		switch {
		case client != nil:
			site.Deploys = &DeployChecker{Client: client, SiteID: cfg.SiteID, Branch: cfg.Branch, StuckAfter: cfg.StuckAfter, Clock: s.clock}
			if site.Manifest != nil {
				site.Deploys.ManifestPath = cfg.manifest()
			}
			rec.Client = client
		case cfg.Optional:
			note("no API token (%s is not set): deploys of %s not checked", cfg.TokenVar(), cfg.SiteID)
		default:
			return g, fmt.Errorf("netlify: site_id %s needs an API token (%s is not set; pass the token with WithToken)", cfg.SiteID, cfg.TokenVar())
		}
	}
	if len(cfg.Probes) > 0 {
		pc := &ProbeChecker{SiteURL: cfg.SiteURL, Endpoints: cfg.Probes, Clock: s.clock}
		site.Probes = pc
		rec.Probes = pc
	}
	if site.Manifest == nil && site.Deploys == nil && site.Probes == nil {
		if len(g.Notes) == 0 {
			note("not configured (no functions_dir, site_id or probes)")
		}
		return g, nil
	}
	name := g.Name + "-functions"
	if cfg.SiteID != "" {
		name = g.Name + "-" + safeName(cfg.SiteID)
	}
	log.Debug("netlify target", "target", name, "manifest", site.Manifest != nil, "deploys", site.Deploys != nil,
		"probes", len(cfg.Probes), "build_hook", s.buildHook != "", "store", s.store != nil)
	// A site is the same for every monitor: among several
	// (redundancy.WithElection) only the leader repairs it, its manifest
	// included. A functions directory alone is each host's own.
	t := redundancy.Target{Name: name, Checker: site, Recoverer: rec, Policy: cfg.Policy.Policy(), Shared: cfg.SiteID != "",
		Criticality: cfg.criticality(), Alerts: cfg.Alerts.Policy(), ProblemDeps: ProblemDeps()}
	if s.hookKey != "" && site.Deploys != nil {
		hook, err := NewWebhook([]byte(s.hookKey), WithWebhookLogger(log))
		if err != nil {
			return g, err
		}
		g.Receiver, t.Source = hook, hook.Source(cfg.SiteID)
		switch {
		case site.Manifest != nil || site.Probes != nil:
			note("deploy notifications wake %s; probes and the manifest are still polled every %s", name, cmp.Or(t.Policy.Interval, redundancy.DefaultInterval))
		default:
			if cfg.Policy.Interval == 0 {
				t.Policy.Interval = SafetyNetInterval
			}
			if cfg.Policy.FailureThreshold == 0 {
				t.Policy.FailureThreshold = 1
			}
			note("deploy notifications wake %s; polled every %s as a safety net", name, cmp.Or(t.Policy.Interval, redundancy.DefaultInterval))
		}
	}
	g.Targets = append(g.Targets, t)
	return g, nil
}

// fromVar names the variable a secret was read from, when the config says.
func fromVar(name string) string {
	if name == "" {
		return ""
	}
	return " (from " + name + ")"
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

func slicesWithout(xs []string, drop string) []string {
	var out []string
	for _, x := range xs {
		if x != drop {
			out = append(out, x)
		}
	}
	return out
}
