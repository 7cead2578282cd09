package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
	"github.com/uras-dev/uras/redundancy/metrics"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg, set, err := launch.ParseYAML[Config]("", []byte(defaultConfig), env())
	require.NoError(t, err)
	require.NotNil(t, cfg.PM2)
	require.NotNil(t, cfg.GitHub)
	require.NotNil(t, cfg.Netlify)
	assert.True(t, cfg.PM2.Optional && cfg.GitHub.Optional && cfg.Netlify.Optional, "the default watches what it finds")
	assert.Equal(t, ".", cfg.GitHub.Checkout)
	assert.Equal(t, "127.0.0.1:9321", set.Listen)
	p := cfg.PM2.Policy.Policy()
	assert.Equal(t, 30*time.Second, p.Timeout, "the sections take the file's policy")
	assert.Zero(t, p.Interval, "no interval: redundancy's default, or the safety net of a system woken by webhooks")
	assert.Zero(t, p.FailureThreshold, "no threshold: redundancy's default, or 1 for a system woken by webhooks")
	assert.Equal(t, 4*time.Hour, cfg.GitHub.Alerts.Policy().Renotify, "the sections take the file's alert keys")
	assert.Equal(t, "127.0.0.1:9322", set.HooksListen)
}

// The file format of the example commands, loaded by the public loader
// into this main's Config: each provider's section decodes into its
// TargetConfig, the launcher's keys into launch.Config.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "uras.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
logs: {dir: /var/log/uras, level: warn, levels: {pm2: debug}}
state: {dir: /var/lib/uras}
listen: 127.0.0.1:9400
policy: {interval: 1m, failure_threshold: 2, retries: 0, backoff: {base: 5s, jitter: 0}}
pm2:
  home: /home/app/.pm2
  client: native
  ecosystem: ecosystem.config.js
  apps:
    - {name: web, max_memory_mb: 512}
    - {name: cron, stop_ok: true}
  policy: {interval: 10s}
github:
  checkout: /srv/app
  token_env: GH_PAT
  repos:
    - {owner: octo, name: app, branch: main, workflows: [ci.yml], backup_workflow: backup.yml, max_reruns: 2}
    - {owner: octo, name: lib}
netlify:
  site_id: shop
  site_url: https://shop.netlify.app
  functions_dir: netlify/functions
  build_hook_env: HOOK
  probes: [{name: hello, body_contains: hi}]
alerts:
  webhooks: [{url: "https://hooks.example/a"}, {url_env: ALERT_URL}]
`), 0o644))
	cfg, set, err := launch.LoadYAML[Config](path, defaultConfig, env("ALERT_URL", "https://hooks.example/b?token=s3"))
	require.NoError(t, err)
	assert.Equal(t, pm2.ClientNative, cfg.PM2.Client)
	assert.Equal(t, uint64(512), cfg.PM2.Apps[0].MaxMemoryMB)
	assert.Equal(t, 10*time.Second, cfg.PM2.Policy.Policy().Interval, "the section's policy wins")
	assert.Equal(t, 2, cfg.PM2.Policy.Policy().FailureThreshold, "the file's policy fills the rest")
	assert.Equal(t, "GH_PAT", cfg.GitHub.TokenVar())
	assert.Equal(t, ghactions.Repo{Owner: "octo", Name: "lib"}, cfg.GitHub.Repos[1].Repo, "the default branch")
	assert.Equal(t, "HOOK", cfg.Netlify.BuildHookVar())
	assert.Equal(t, netlify.TokenEnv, cfg.Netlify.TokenVar())
	assert.Equal(t, []netlify.Endpoint{{Name: "hello", BodyContains: "hi"}}, cfg.Netlify.Probes)
	assert.Equal(t, slog.LevelDebug, set.Levels["pm2"])
	assert.Equal(t, []string{"https://hooks.example/a", "https://hooks.example/b?token=s3"}, set.Secrets)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"pm2:\n  home: /x\n  hme: /y\n", "config f.yaml:3: pm2.hme: unknown key in pm2"},
		{"github:\n  repos:\n    - owner: o\n      name: n\n      brnch: c\n", "config f.yaml:5: github.repos[0].brnch: unknown key in github.repos[0]"},
		{"pm2:\n  apps: web\n", `config f.yaml:2: pm2.apps: wrong type: got string "web", want a list`},
		{"pm2:\n  optional: maybe\n", `config f.yaml:2: pm2.optional: wrong type: got string "maybe", want true or false`},
		{"policy:\n  interval: soon\n", `config f.yaml:2: policy.interval: bad duration "soon" (want a duration such as 30s or 5m)`},
		{"github:\n  api_url: api.github.com\n", "config f.yaml:2: github.api_url: want an absolute http(s) URL"},
		{"netlify:\n  probes:\n    - name: hello\n", "config f.yaml:3: netlify.probes[0]: needs url, or site_url"},
		{"logs:\n  levels:\n    aws: debug\npm2: {}\n", "config f.yaml:3: logs.levels.aws: unknown part (want one of pm2, github, netlify)"},
		{"pm2:\n  policy:\n    backoff: {base: 10m}\n", "config f.yaml:3: pm2.policy.backoff.base: backoff base 10m0s is above backoff max 5m0s (the default) in pm2"},
		{"logs: {dir: x}\n", "config f.yaml:1: nothing to watch: the file has none of the sections pm2, github, netlify; give at least one of pm2, github, netlify"},
		{"netlify: {}\n", "config f.yaml:1: netlify: nothing to watch: give functions_dir, site_id or probes (or optional: true)"},
	} {
		_, _, err := launch.ParseYAML[Config]("f.yaml", []byte(tc.yaml), env())
		require.Error(t, err, tc.yaml)
		assert.Equal(t, tc.want, err.Error())
	}
}

// build, composed as the verbs compose it, gives one orchestrator per
// system under the master, with the alerts (in the monitor) and the
// escalation reports on each, the state files in the monitor only, and
// the providers' records in the store under the state directory.
func TestBuild(t *testing.T) {
	t.Parallel()
	gh := ghtest.NewServer()
	t.Cleanup(gh.Close)
	gh.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	nf := netlifytest.NewServer()
	t.Cleanup(nf.Close)
	nf.AddSite(netlify.Site{ID: "shop", Name: "shop"})
	nf.AddDeploy("shop", netlify.Deploy{ID: "d1", CreatedAt: time.Now().Add(-time.Hour)}, true)
	nf.SetFunction("hello", netlifytest.Function{Body: "hello"})
	state := t.TempDir()
	yaml := `
state: {dir: ` + state + `}
policy: {failure_threshold: 1}
github:
  api_url: ` + gh.URL() + `
  repos: [{owner: octo, name: app}]
netlify:
  site_id: shop
  site_url: ` + nf.URL() + `
  api_url: ` + nf.APIURL() + `
  probes: [{name: hello}]
`
	cfg, set, err := launch.ParseYAML[Config]("f.yaml", []byte(yaml), env())
	require.NoError(t, err)
	getenv := env("NETLIFY_AUTH_TOKEN", netlifytest.DefaultToken, "GITHUB_TOKEN", ghtest.DefaultToken)
	red := redundancy.NewRedactor()
	logger := func(string) *slog.Logger { return slog.New(slog.DiscardHandler) }
	ctx := context.Background()

	sys, err := launch.Compose(ctx, command, cfg, set, launch.Build{Logger: logger, Redactor: red, Getenv: getenv, OneShot: true, Metrics: metrics.New()})
	require.NoError(t, err)
	assert.Equal(t, []string{"github", "netlify"}, sys.Root.Names(), "one nested orchestrator per system")
	require.Len(t, sys.Parts, 2)
	assert.Equal(t, []string{"github-octo-app"}, sys.Parts[0].Orch.Names())
	assert.Equal(t, []string{"netlify-shop"}, sys.Parts[1].Orch.Names())
	assert.NotContains(t, sys.Notes, "alerts: no webhooks nor commands configured: alerts are logged only", "a one-shot verb pages nobody")
	assert.Contains(t, sys.Notes, "pm2: not configured")
	assert.Equal(t, redundancy.StatusHealthy, sys.Root.CheckNow(ctx).Status)
	assert.Equal(t, "<"+redundancy.Redacted+">", "<"+red.String(netlifytest.DefaultToken)+">", "the tokens read are redacted")
	require.NoError(t, sys.Close(ctx))
	assert.NoFileExists(t, filepath.Join(state, "state-root.json"), "a one-shot verb leaves the state files alone")
	assert.FileExists(t, filepath.Join(state, "store", "netlify", "shop", "known-good.json"), "the deploy that passed its probes is kept")

	sys, err = launch.Compose(ctx, command, cfg, set, launch.Build{Logger: logger, Redactor: red, Getenv: getenv, Metrics: metrics.New()})
	require.NoError(t, err)
	assert.Contains(t, sys.Notes, "alerts: no webhooks nor commands configured: alerts are logged only")
	sys.Root.Tick(ctx)
	require.NoError(t, sys.Close(ctx))
	for _, name := range []string{"root", "github", "netlify"} {
		assert.FileExists(t, filepath.Join(state, "state-"+name+".json"), "the monitor persists every orchestrator's state")
	}
}

// The webhooks receive alerts (not every event): a function endpoint that
// stays down opens one.
func TestBuildSendsAlertsToTheWebhooks(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(down.Close)
	got := make(chan []byte, 64)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	yaml := `
state: {dir: ` + t.TempDir() + `}
policy: {failure_threshold: 1}
netlify:
  probes: [{name: hello, url: "` + down.URL + `/hello"}]
alerts:
  webhooks: [{url: "` + hook.URL + `/alerts?token=hook-secret"}]
`
	cfg, set, err := launch.ParseYAML[Config]("f.yaml", []byte(yaml), env())
	require.NoError(t, err)
	red := redundancy.NewRedactor(set.Secrets...)
	ctx := context.Background()
	sys, err := launch.Compose(ctx, command, cfg, set, launch.Build{Logger: func(string) *slog.Logger { return slog.New(slog.DiscardHandler) },
		Redactor: red, Getenv: env(), Metrics: metrics.New()})
	require.NoError(t, err)
	assert.NotContains(t, sys.Notes, "alerts: no webhooks nor commands configured: alerts are logged only")
	for range 3 {
		sys.Root.Tick(ctx)
	}
	require.NoError(t, sys.Close(ctx))
	var types []any
	for len(got) > 0 {
		raw := <-got
		assert.NotContains(t, string(raw), "hook-secret", "the URL's secret is in no body")
		var body map[string]any
		require.NoError(t, json.Unmarshal(raw, &body))
		types = append(types, body["type"])
	}
	require.NotEmpty(t, types, "the endpoint that stays down was alerted")
	for _, ty := range types {
		assert.Equal(t, "alert", ty, "alerts, not raw events")
	}
}

// The configuration shown in the README loads as it stands.
func TestREADMEConfiguration(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## Configuration\n")
	require.True(t, ok)
	_, block, ok := strings.Cut(section, "```yaml\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	cfg, set, err := launch.ParseYAML[Config]("README.md", []byte(block), env("ALERT_URL", "https://hooks.example/a",
		"SLACK_URL", "https://hooks.slack.example/T/B/x", "AUDIT_URL", "https://audit.example/in", "HC_URL", "https://hc.example/ping/1"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9322", set.HooksListen)
	assert.Len(t, set.Alerts.Webhooks, 3)
	assert.Len(t, set.Alerts.Commands, 1)
	assert.Equal(t, []string{"config-backups"}, []string{set.Alerts.Silences[0].ID})
	assert.True(t, cfg.GitHub.Alerts.Policy().PageRepairs)
	assert.True(t, cfg.Netlify.Policy.Policy().UnknownIsFailing)
	assert.Equal(t, 4*time.Hour, cfg.PM2.Alerts.Policy().Renotify)
}
