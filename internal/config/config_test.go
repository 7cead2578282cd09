package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/redundancy"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefault(t *testing.T) {
	t.Parallel()
	cfg, err := config.Default(env())
	require.NoError(t, err)
	require.NotNil(t, cfg.PM2)
	require.NotNil(t, cfg.GitHub)
	require.NotNil(t, cfg.Netlify)
	assert.True(t, cfg.PM2.Optional && cfg.GitHub.Optional && cfg.Netlify.Optional, "default sections must be optional")
	assert.Equal(t, ".", cfg.GitHub.Checkout)
	assert.Equal(t, "logs", cfg.Logs.Dir)
	assert.Equal(t, "127.0.0.1:9321", cfg.Listen)
	p := cfg.TargetPolicy(cfg.PM2.Policy)
	assert.Equal(t, 30*time.Second, p.Interval)
	assert.Equal(t, 3, p.FailureThreshold)
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	cfg, err := config.Default(env(
		"GITHUB_TOKEN", "ghp_abc", "NETLIFY_AUTH_TOKEN", "nf_xyz",
		"REDUNDANCY_LOG_LEVEL", "DEBUG", "PM2_REDUNDANCY_LOG_LEVEL", "warn",
		"GITHUB_REDUNDANCY_LOG_LEVEL", "ERROR", "NETLIFY_REDUNDANCY_LOG_LEVEL", "info"))
	require.NoError(t, err)
	assert.Equal(t, "ghp_abc", cfg.GitHub.Token)
	assert.Equal(t, "nf_xyz", cfg.Netlify.Token)
	assert.Equal(t, config.Level("DEBUG"), cfg.Logs.Level)
	assert.Equal(t, config.Level("warn"), cfg.Logs.Levels["pm2"])
	assert.Equal(t, config.Level("ERROR"), cfg.Logs.Levels["github"])
	assert.ElementsMatch(t, []string{"ghp_abc", "nf_xyz"}, cfg.Secrets())

	_, err = config.Default(env("REDUNDANCY_LOG_LEVEL", "LOUD"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "REDUNDANCY_LOG_LEVEL")
	assert.Contains(t, err.Error(), "LOUD")
}

func TestLoadFull(t *testing.T) {
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
netlify:
  site_id: shop
  site_url: https://shop.netlify.app
  functions_dir: netlify/functions
  build_hook_env: HOOK
  probes: [{name: hello, body_contains: hi}]
alerts:
  webhooks: [{url: "https://hooks.example/a"}, {url_env: ALERT_URL}]
`), 0o644))
	cfg, err := config.Load(path, env("GH_PAT", "ghp_1", "NETLIFY_AUTH_TOKEN", "nf_2",
		"HOOK", "https://api.netlify.com/build_hooks/abc", "ALERT_URL", "https://hooks.example/b?token=s3"))
	require.NoError(t, err)
	assert.Equal(t, path, cfg.File)
	assert.Equal(t, "ghp_1", cfg.GitHub.Token)
	assert.Equal(t, "https://api.netlify.com/build_hooks/abc", cfg.Netlify.BuildHookURL)
	assert.Equal(t, "https://hooks.example/b?token=s3", cfg.Alerts.Webhooks[1].URL)
	assert.Contains(t, cfg.Secrets(), "https://hooks.example/b?token=s3")
	assert.Contains(t, cfg.Secrets(), "https://hooks.example/a", "an inline webhook URL is a secret too (its path often is one)")
	p := cfg.TargetPolicy(cfg.PM2.Policy)
	assert.Equal(t, 10*time.Second, p.Interval, "section policy wins")
	assert.Equal(t, 2, p.FailureThreshold, "default policy fills the rest")
	assert.Equal(t, -1, p.Retry, "retries: 0 means none")
	assert.Equal(t, float64(-1), p.Backoff.Jitter, "jitter: 0 means none")
	assert.Equal(t, uint64(512), cfg.PM2.Apps[0].MaxMemoryMB)
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want string // the whole message after "config FILE"
	}{
		{"unknown top-level key", "logs: {dir: x}\nlistn: 1\n", nil, ":2: listn: unknown key"},
		{"unknown nested key", "pm2:\n  home: /x\n  hme: /y\n", nil, ":3: pm2.hme: unknown key in pm2"},
		{"unknown key in list item", "github:\n  repos:\n    - owner: o\n      name: n\n      branch: b\n      brnch: c\n", nil, ":6: github.repos[0].brnch: unknown key in github.repos[0]"},
		{"wrong type int", "policy:\n  failure_threshold: many\n", nil, `:2: policy.failure_threshold: wrong type: got string "many", want an integer`},
		{"wrong type list", "pm2:\n  apps: web\n", nil, `:2: pm2.apps: wrong type: got string "web", want a list`},
		{"wrong type bool", "pm2:\n  optional: maybe\n", nil, `:2: pm2.optional: wrong type: got string "maybe", want true or false`},
		{"bad duration", "policy:\n  interval: 30 seconds\n", nil, `:2: policy.interval: bad duration "30 seconds"`},
		{"number as duration", "pm2:\n  policy:\n    timeout: 30\n", nil, `:3: pm2.policy.timeout: bad duration "30"`},
		{"negative duration", "policy:\n  backoff:\n    base: -1s\n", nil, `:3: policy.backoff.base: negative duration "-1s"`},
		{"missing app name", "pm2:\n  apps:\n    - stop_ok: true\n", nil, ":3: pm2.apps[0].name: required"},
		{"missing repo branch", "github:\n  repos:\n    - owner: o\n      name: n\n", nil, ":3: github.repos[0].branch: required"},
		{"missing probe name", "netlify:\n  site_url: https://x.netlify.app\n  probes:\n    - path: /x\n", nil, ":4: netlify.probes[0].name: required"},
		{"probe without site url", "netlify:\n  probes:\n    - name: hello\n", nil, ":3: netlify.probes[0]: needs url, or netlify.site_url"},
		{"bad level", "logs:\n  level: loud\n", nil, `:2: logs.level: bad log level "loud"`},
		{"unknown system level", "logs:\n  levels:\n    aws: debug\n", nil, ":3: logs.levels.aws: unknown system"},
		{"bad client", "pm2:\n  client: rpc\n", nil, `:2: pm2.client: unknown client "rpc"`},
		{"bad listen", "listen: 9321\n", nil, ":1: listen: want host:port"},
		{"bad api url", "github:\n  api_url: api.github.com\n", nil, ":2: github.api_url: want an absolute http(s) URL"},
		{"webhook without url", "alerts:\n  webhooks:\n    - {}\n", nil, ":3: alerts.webhooks[0]: needs url or url_env"},
		{"jitter out of range", "policy:\n  backoff:\n    jitter: 2\n", nil, ":3: policy.backoff.jitter: want a fraction"},
		{"negative threshold", "policy:\n  failure_threshold: -1\n", nil, ":2: policy.failure_threshold: may not be negative"},
		{"duplicate app", "pm2:\n  apps:\n    - name: a\n    - name: a\n", nil, `:4: pm2.apps[1].name: duplicate app "a"`},
		{"syntax error", "pm2:\n  home: [\n", nil, ":2: YAML syntax: did not find expected node content"},
		{"netlify site without token", "netlify:\n  site_id: shop\n", nil, "NETLIFY_AUTH_TOKEN: not set"},
		{"interval below minimum", "pm2: {}\npolicy:\n  interval: 1ns\n", nil, ":3: policy.interval: 1ns is below the minimum 1s"},
		{"section interval below minimum", "pm2:\n  policy:\n    interval: 500ms\n", nil, ":3: pm2.policy.interval: 500ms is below the minimum 1s"},
		{"timeout below minimum", "pm2: {}\npolicy: {timeout: 1ms}\n", nil, ":2: policy.timeout: 1ms is below the minimum 100ms"},
		{"budget window below minimum", "pm2: {}\npolicy:\n  budget: {window: 10ms}\n", nil, ":3: policy.budget.window: 10ms is below the minimum 1s"},
		{"backoff base above max", "pm2: {}\npolicy:\n  backoff:\n    base: 10m\n    max: 1m\n", nil, ":4: policy.backoff.base: 10m0s is above backoff.max 1m0s"},
		{"backoff base above the default max", "pm2: {}\npolicy:\n  backoff:\n    base: 10m\n", nil,
			":4: policy.backoff.base: backoff base 10m0s is above backoff max 5m0s (the default) in the default policy"},
		{"section base above the default policy's max", "policy:\n  backoff: {max: 1m}\ngithub:\n  policy:\n    backoff:\n      base: 2m\n", nil,
			":6: github.policy.backoff.base: backoff base 2m0s is above backoff max 1m0s in github"},
		{"section max below the default policy's base", "policy:\n  backoff: {base: 2m}\nnetlify:\n  policy:\n    backoff:\n      max: 1m\n", nil,
			":2: policy.backoff.base: backoff base 2m0s is above backoff max 1m0s in netlify"},
		{"empty file", "", nil, "config FILE: nothing to watch: the file is empty; give at least one of pm2, github, netlify"},
		{"document marker only", "---\n", nil, "nothing to watch: the file is empty"},
		{"comments only", "# nothing\n", nil, "nothing to watch: the file is empty"},
		{"no section", "logs: {dir: x}\nlisten: 127.0.0.1:1\n", nil, ":1: nothing to watch: the file has none of the sections pm2, github, netlify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o644))
			_, err := config.Load(path, env(tc.env...))
			require.Error(t, err)
			var ce *config.Error
			require.ErrorAs(t, err, &ce)
			assert.ErrorIs(t, err, config.ErrInvalid)
			assert.Contains(t, err.Error(), strings.ReplaceAll(tc.want, "FILE", path))
			if ce.File != "environment" {
				assert.Contains(t, err.Error(), "config "+path)
			}
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	_, err := config.Load(filepath.Join(t.TempDir(), "missing.yaml"), env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.yaml: cannot read file: no such file or directory")
	assert.True(t, errors.Is(err, os.ErrNotExist))

	dir := t.TempDir()
	_, err = config.Load(dir, env())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot read file: not a regular file but a directory")
}

// Hostile paths end at once in a one-line error naming what is wrong:
// nothing is read from a device, a FIFO is never waited on, and a huge
// file is refused by its size.
func TestHostileConfigPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(50<<20)) // 50 MB (sparse)
	require.NoError(t, f.Close())
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "config /dev/zero: cannot read file: not a regular file but a character device"},
		{fifo, "config " + fifo + ": cannot read file: not a regular file but a named pipe (FIFO)"},
		{huge, "config " + huge + ": cannot read file: larger than 1048576 bytes"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			t.Parallel()
			done := make(chan error, 1)
			go func() { _, err := config.Load(tc.path, env()); done <- err }()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				assert.ErrorIs(t, err, config.ErrInvalid)
				assert.NotContains(t, err.Error(), "\n")
			case <-time.After(10 * time.Second):
				t.Fatal("Load blocked")
			}
		})
	}
}

// FuzzParse feeds arbitrary bytes to the parser: it returns a config or
// an *Error wrapping ErrInvalid on one line, and never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("---\n"))
	f.Add(config.DefaultYAML())
	f.Add([]byte("pm2:\n  apps:\n    - name: web\npolicy: {interval: 1ns}\n"))
	f.Add([]byte("github:\n  repos: [{owner: o, name: n, branch: b}]\n  policy: {backoff: {base: 10m}}\n"))
	f.Add([]byte("netlify:\n  probes:\n    - {name: x, url: 'http://a'}\nalerts: {webhooks: [{url: 'http://h'}]}\n"))
	f.Add([]byte("pm2: &a {home: x}\ngithub: *a\n"))
	f.Add([]byte("logs: {levels: {pm2: debug}}\npm2:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yaml", data, env())
		if err != nil {
			var ce *config.Error
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, config.ErrInvalid)
			require.True(t, strings.HasPrefix(err.Error(), "config "), err.Error())
			return
		}
		require.NotNil(t, cfg)
		require.True(t, cfg.PM2 != nil || cfg.GitHub != nil || cfg.Netlify != nil, "a config that watches nothing is refused")
		policies := []*config.Policy{nil}
		if cfg.PM2 != nil {
			policies = append(policies, cfg.PM2.Policy)
		}
		if cfg.GitHub != nil {
			policies = append(policies, cfg.GitHub.Policy)
		}
		if cfg.Netlify != nil {
			policies = append(policies, cfg.Netlify.Policy)
		}
		for _, p := range policies {
			rp := cfg.TargetPolicy(p)
			require.NoError(t, rp.Validate())
			require.True(t, rp.Interval == 0 || rp.Interval >= time.Second, "interval %s", rp.Interval)
			d := redundancy.DefaultPolicy()
			if rp.Backoff.Base != 0 {
				d.Backoff.Base = rp.Backoff.Base
			}
			if rp.Backoff.Max != 0 {
				d.Backoff.Max = rp.Backoff.Max
			}
			require.LessOrEqual(t, d.Backoff.Base, d.Backoff.Max)
		}
	})
}

func TestSeveralProblemsReportsFirst(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("x.yaml", []byte("a: 1\nb: 2\n"), env())
	require.Error(t, err)
	assert.Equal(t, "config x.yaml:1: a: unknown key (and 1 more problem(s))", err.Error())
}

// A section written with no value is configured with its defaults: it is
// not dropped (which would leave nothing to watch).
func TestSectionWithoutValueIsConfigured(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("bare.yaml", []byte("pm2:\n"), env())
	require.NoError(t, err)
	require.NotNil(t, cfg.PM2)
	assert.Nil(t, cfg.GitHub)
	assert.Equal(t, ".uras", cfg.State.Dir)
}

func TestEndpointTokenFromEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("t.yaml", []byte("listen: 0.0.0.0:9321\nlisten_token_env: MY_TOKEN\npm2: {}\n"), env("MY_TOKEN", "tok-123456"))
	require.NoError(t, err)
	assert.Equal(t, "tok-123456", cfg.ListenToken)
	assert.Contains(t, cfg.Secrets(), "tok-123456")
	cfg, err = config.Parse("t.yaml", []byte("pm2: {}\n"), env(config.EnvEndpointToken, "tok-default"))
	require.NoError(t, err)
	assert.Equal(t, "tok-default", cfg.ListenToken)
}
