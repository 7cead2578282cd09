package launch_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// siteConfig is a section of a launcher of one's own.
type siteConfig struct {
	URL    string                       `yaml:"url"`
	Policy redundancy.PolicyConfig      `yaml:"policy"`
	Alerts redundancy.AlertPolicyConfig `yaml:"alerts"`
}

func (c *siteConfig) Validate() error {
	if c.URL == "invalid" {
		return errors.New("a plain error")
	}
	return nil
}

// strictSite validates with a key, as the providers do.
type strictSite struct {
	URL  string   `yaml:"url"`
	Tags []string `yaml:"tags"`
}

func (c *strictSite) Validate() error {
	for i, t := range c.Tags {
		if t == "" {
			return &redundancy.ConfigError{Key: "tags[" + string(rune('0'+i)) + "]", Msg: "empty tag"}
		}
	}
	return nil
}

// fileConfig is a launcher's configuration: the launcher's keys and two
// sections.
type fileConfig struct {
	launch.Config `yaml:",inline"`
	Web           *siteConfig `yaml:"web"`
	Shop          *strictSite `yaml:"shop"`
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func parse(t *testing.T, yaml string, getenv func(string) string) (fileConfig, launch.Settings, error) {
	t.Helper()
	if getenv == nil {
		getenv = env()
	}
	return launch.ParseYAML[fileConfig]("f.yaml", []byte(yaml), getenv)
}

func TestLoadYAMLReadsTheLauncherKeysAndTheSections(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "uras.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
logs: {dir: /var/log/uras, level: warn, levels: {web: debug}, max_size_mb: 5, compress: false}
state: {dir: /var/lib/uras}
listen: 127.0.0.1:9400
hooks_listen: 0.0.0.0:9401
listen_token_env: MY_TOKEN
heartbeat: {url_env: HB, every: 2m}
policy: {interval: 1m, failure_threshold: 2, retries: 0, backoff: {base: 5s, jitter: 0}, unknown_is_failing: true, escalation_hold: 10m}
web:
  url: https://example.com/
  policy: {interval: 10s, unknown_is_failing: false}
  alerts: {page_repairs: true}
shop: {url: https://shop.example/}
alerts:
  renotify: 2h
  page_repairs: false
  flap: {count: 4, window: 30m}
  webhooks: [{url: "https://hooks.example/a"}, {url_env: ALERT_URL, format: slack, events: true}]
  commands: [{argv: [/usr/local/bin/page, --team, ops], timeout: 5s}]
  silences:
    - {id: nightly, target: "web", every: "0 2 * * *", duration: 30m, time_zone: Europe/Berlin, pause_repairs: true, comment: backups}
    - {problem: "shop.*", until: 2030-01-01T00:00:00Z}
`), 0o644))
	cfg, set, err := launch.LoadYAML[fileConfig](path, "", env("MY_TOKEN", "tok-123456", "ALERT_URL", "https://hooks.example/b?token=s3",
		"HB", "https://hc.example/ping/abc"))
	require.NoError(t, err)
	assert.Equal(t, "https://example.com/", cfg.Web.URL)
	p := cfg.Web.Policy.Policy()
	assert.Equal(t, 10*time.Second, p.Interval, "the section's policy wins")
	assert.Equal(t, 2, p.FailureThreshold, "the default policy fills the rest")
	assert.Equal(t, -1, p.Retry, "retries: 0 means none")
	assert.Equal(t, float64(-1), p.Backoff.Jitter, "jitter: 0 means none")
	assert.Equal(t, time.Minute, cfg.Policy.Policy().Interval)
	assert.Equal(t, "https://hooks.example/b?token=s3", cfg.Alerts.Webhooks[1].URL, "url_env is read")
	assert.False(t, p.UnknownIsFailing, "the section's unknown_is_failing wins")
	assert.Equal(t, 10*time.Minute, p.EscalationHold, "the file's escalation_hold fills it")
	assert.True(t, cfg.Policy.Policy().UnknownIsFailing)
	assert.Equal(t, redundancy.AlertPolicy{PageRepairs: true, Renotify: 2 * time.Hour, FlapCount: 4, FlapWindow: 30 * time.Minute},
		cfg.Web.Alerts.Policy(), "the section's alert keys are laid over the file's")

	berlin := redundancy.Silence{ID: "config-nightly", Target: "web", Every: "0 2 * * *", Duration: 30 * time.Minute,
		TimeZone: "Europe/Berlin", PauseRepairs: true, Comment: "backups"}
	shop := redundancy.Silence{ID: "config-1", Problem: "shop.*", Until: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	assert.Equal(t, launch.Settings{
		LogDir: "/var/log/uras", StateDir: "/var/lib/uras", Listen: "127.0.0.1:9400", HooksListen: "0.0.0.0:9401", Token: "tok-123456",
		Level: slog.LevelWarn, Levels: map[string]slog.Level{"web": slog.LevelDebug},
		Rotation:     launch.Rotation{MaxSizeMB: 5, MaxAgeDays: 30},
		HeartbeatURL: "https://hc.example/ping/abc", HeartbeatEvery: 2 * time.Minute,
		Secrets: []string{"tok-123456", "https://hc.example/ping/abc", "https://hooks.example/a", "https://hooks.example/b?token=s3"},
		Alerts: launch.AlertSettings{
			Webhooks: []launch.WebhookConfig{{URL: "https://hooks.example/a"},
				{URL: "https://hooks.example/b?token=s3", URLEnv: "ALERT_URL", Format: "slack", Events: true}},
			Commands: []launch.CommandConfig{{Argv: []string{"/usr/local/bin/page", "--team", "ops"}, Timeout: 5 * time.Second}},
			Silences: []redundancy.Silence{berlin, shop},
		},
	}, set, "an inline webhook URL is a secret too (its path often is one)")
}

func TestYAMLReadsTheDefaultWithoutAPath(t *testing.T) {
	t.Parallel()
	load := launch.YAML[fileConfig]("web: {url: https://example.com/}\n")
	cfg, set, err := load("")
	require.NoError(t, err)
	assert.Equal(t, "https://example.com/", cfg.Web.URL)
	assert.Nil(t, cfg.Shop)
	assert.Equal(t, "logs", cfg.Logs.Dir, "defaults are filled in")
	assert.Equal(t, ".uras", set.StateDir)
	assert.True(t, set.Rotation.Compress)

	_, _, err = launch.ParseYAML[fileConfig]("", []byte("web: {url: x}\nwbe: 1\n"), env())
	assert.EqualError(t, err, "config (embedded default):2: wbe: unknown key")
}

// A pointer configuration type works too.
func TestLoadYAMLIntoAPointer(t *testing.T) {
	t.Parallel()
	cfg, _, err := launch.ParseYAML[*fileConfig]("f.yaml", []byte("web:\n"), env())
	require.NoError(t, err)
	require.NotNil(t, cfg.Web, "a section given with no value is there, with its defaults")
	assert.Nil(t, cfg.Shop)
	assert.Equal(t, ".uras", cfg.State.Dir)
}

func TestLoadYAMLErrorsNameTheLineAndTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       string // the whole message
	}{
		{"unknown top-level key", "logs: {dir: x}\nlistn: 1\n", nil, "config f.yaml:2: listn: unknown key"},
		{"unknown nested key", "web:\n  url: x\n  ulr: y\n", nil, "config f.yaml:3: web.ulr: unknown key in web"},
		{"unknown key in a list item", "alerts:\n  webhooks:\n    - url: http://x\n      uri: y\n", nil, "config f.yaml:4: alerts.webhooks[0].uri: unknown key in alerts.webhooks[0]"},
		{"wrong type int", "policy:\n  failure_threshold: many\n", nil, `config f.yaml:2: policy.failure_threshold: wrong type: got string "many", want an integer`},
		{"wrong type list", "shop:\n  tags: web\n", nil, `config f.yaml:2: shop.tags: wrong type: got string "web", want a list`},
		{"wrong type bool", "logs:\n  compress: maybe\n", nil, `config f.yaml:2: logs.compress: wrong type: got string "maybe", want true or false`},
		{"wrong type mapping", "web: [1]\n", nil, "config f.yaml:1: web: wrong type: got list, want a mapping"},
		{"bad duration", "policy:\n  interval: 30 seconds\n", nil, `config f.yaml:2: policy.interval: bad duration "30 seconds" (want a duration such as 30s or 5m)`},
		{"number as duration", "web:\n  policy:\n    timeout: 30\n", nil, `config f.yaml:3: web.policy.timeout: bad duration "30" (want a duration such as 30s or 5m)`},
		{"negative duration", "policy:\n  backoff:\n    base: -1s\n", nil, "config f.yaml:3: policy.backoff.base: negative duration -1s"},
		{"bad level", "logs:\n  level: loud\n", nil, `config f.yaml:2: logs.level: bad log level "loud" (want DEBUG, INFO, WARN or ERROR)`},
		{"level of an unknown part", "logs:\n  levels:\n    aws: debug\n", nil, "config f.yaml:3: logs.levels.aws: unknown part (want one of web, shop)"},
		{"bad listen", "listen: 9321\n", nil, "config f.yaml:1: listen: want host:port, such as 127.0.0.1:9321 (address 9321: missing port in address)"},
		{"webhook without url", "alerts:\n  webhooks:\n    - {}\n", nil, "config f.yaml:3: alerts.webhooks[0]: needs url or url_env"},
		{"webhook with both", "alerts:\n  webhooks:\n    - {url: http://x, url_env: X}\n", nil, "config f.yaml:3: alerts.webhooks[0]: give url or url_env, not both"},
		{"webhook format", "alerts:\n  webhooks:\n    - {url: http://x, format: teams}\n", nil, `config f.yaml:3: alerts.webhooks[0].format: unknown format "teams" (want json or slack)`},
		{"command without argv", "alerts:\n  commands:\n    - {timeout: 5s}\n", nil, "config f.yaml:3: alerts.commands[0].argv: needs the program, then its arguments (a list, no shell)"},
		{"command as a shell line", "alerts:\n  commands:\n    - {argv: \"page --team ops\"}\n", nil, `config f.yaml:3: alerts.commands[0].argv: wrong type: got string "page --...", want a list`},
		{"silence without a match", "alerts:\n  silences:\n    - {until: 2030-01-01T00:00:00Z}\n", nil, `config f.yaml:3: alerts.silences[0]: it needs a target or a problem ("*" matches every target)`},
		{"silence with a bad schedule", "alerts:\n  silences:\n    - {target: web, every: \"61 * * * *\", duration: 1h}\n", nil, `config f.yaml:3: alerts.silences[0]: every "61 * * * *": end of range (61) above maximum (59): 61`},
		{"silence with a bad zone", "alerts:\n  silences:\n    - {target: web, every: \"@daily\", duration: 1h, time_zone: Mars/Olympus}\n", nil, `config f.yaml:3: alerts.silences[0]: time_zone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"silence of a relative length", "alerts:\n  silences:\n    - {target: web, duration: 1h}\n", nil, "config f.yaml:3: alerts.silences[0]: give until, or start with duration: a duration alone would start again at every start of the monitor"},
		{"silence id twice", "alerts:\n  silences:\n    - {id: a, target: web, until: 2030-01-01T00:00:00Z}\n    - {id: a, target: shop, until: 2030-01-01T00:00:00Z}\n", nil, `config f.yaml:4: alerts.silences[1].id: duplicate silence "a"`},
		{"renotify too often", "alerts:\n  renotify: 5s\n", nil, "config f.yaml:2: alerts.renotify: 5s is below the minimum 1m0s (a negative value: never)"},
		{"section flap window", "web:\n  url: x\n  alerts:\n    flap: {window: -1h}\n", nil, "config f.yaml:4: web.alerts.flap.window: negative duration -1h0m0s"},
		{"hooks on the endpoint", "listen: 127.0.0.1:9321\nhooks_listen: 127.0.0.1:9321\n", nil, "config f.yaml:2: hooks_listen: 127.0.0.1:9321 is the endpoint's address (listen): give the webhooks a listener of their own"},
		{"negative escalation hold", "policy:\n  escalation_hold: -1m\n", nil, "config f.yaml:2: policy.escalation_hold: negative duration -1m0s"},
		{"jitter out of range", "policy:\n  backoff:\n    jitter: 2\n", nil, "config f.yaml:3: policy.backoff.jitter: want a fraction from 0 up to (not including) 1"},
		{"negative threshold", "policy:\n  failure_threshold: -1\n", nil, "config f.yaml:2: policy.failure_threshold: may not be negative"},
		{"syntax error", "web:\n  url: [\n", nil, "config f.yaml:2: YAML syntax: did not find expected node content"},
		{"interval below minimum", "web: {}\npolicy:\n  interval: 1ns\n", nil, "config f.yaml:3: policy.interval: 1ns is below the minimum 1s"},
		{"section interval below minimum", "web:\n  policy:\n    interval: 500ms\n", nil, "config f.yaml:3: web.policy.interval: 500ms is below the minimum 1s"},
		{"timeout below minimum", "web: {}\npolicy: {timeout: 1ms}\n", nil, "config f.yaml:2: policy.timeout: 1ms is below the minimum 100ms"},
		{"budget window below minimum", "web: {}\npolicy:\n  budget: {window: 10ms}\n", nil, "config f.yaml:3: policy.budget.window: 10ms is below the minimum 1s"},
		{"backoff base above max", "web: {}\npolicy:\n  backoff:\n    base: 10m\n    max: 1m\n", nil, "config f.yaml:4: policy.backoff.base: 10m0s is above backoff.max 1m0s"},
		{"backoff base above the default max", "web: {}\npolicy:\n  backoff:\n    base: 10m\n", nil,
			"config f.yaml:4: policy.backoff.base: backoff base 10m0s is above backoff max 5m0s (the default) in the default policy"},
		{"section base above the default max", "web:\n  policy:\n    backoff: {base: 10m}\n", nil,
			"config f.yaml:3: web.policy.backoff.base: backoff base 10m0s is above backoff max 5m0s (the default) in web"},
		{"section base above the default policy's max", "policy:\n  backoff: {max: 1m}\nweb:\n  policy:\n    backoff:\n      base: 2m\n", nil,
			"config f.yaml:6: web.policy.backoff.base: backoff base 2m0s is above backoff max 1m0s in web"},
		{"section max below the default policy's base", "policy:\n  backoff: {base: 2m}\nweb:\n  policy:\n    backoff:\n      max: 1m\n", nil,
			"config f.yaml:2: policy.backoff.base: backoff base 2m0s is above backoff max 1m0s in web"},
		{"a section's Validate, placed", "shop:\n  tags:\n    - a\n    - ''\n", nil, "config f.yaml:4: shop.tags[1]: empty tag"},
		{"a section's plain error", "web:\n  url: invalid\n", nil, "config f.yaml:1: web: a plain error"},
		{"empty file", "", nil, "config f.yaml: nothing to watch: the file is empty; give at least one of web, shop"},
		{"document marker only", "---\n", nil, "config f.yaml: nothing to watch: the file is empty; give at least one of web, shop"},
		{"comments only", "# nothing\n", nil, "config f.yaml: nothing to watch: the file is empty; give at least one of web, shop"},
		{"no section", "logs: {dir: x}\nlisten: 127.0.0.1:1\n", nil, "config f.yaml:1: nothing to watch: the file has none of the sections web, shop; give at least one of web, shop"},
		{"several problems", "a: 1\nb: 2\n", nil, "config f.yaml:1: a: unknown key (and 1 more problem(s))"},
		{"heartbeat too often", "web: {url: x}\nheartbeat: {every: 10ms}\n", nil, "config f.yaml:2: heartbeat.every: 10ms is below the minimum 1s"},
		{"bad heartbeat variable", "web: {url: x}\nheartbeat: {url_env: HB}\n", []string{"HB", "nope"},
			"config environment: HB: want an absolute http(s) URL (heartbeat.url_env)"},
		{"bad webhook variable", "web: {url: x}\nalerts: {webhooks: [{url_env: HOOK}]}\n", []string{"HOOK", "not a url"},
			"config environment: HOOK: want an absolute http(s) URL (alerts.webhooks[0].url_env)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parse(t, tc.yaml, env(tc.env...))
			require.Error(t, err)
			var fe *launch.ConfigFileError
			require.ErrorAs(t, err, &fe)
			assert.ErrorIs(t, err, launch.ErrInvalidConfig)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestLoadYAMLRefusesWhatIsNotAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(50<<20)) // 50 MB (sparse)
	require.NoError(t, f.Close())
	missing := filepath.Join(dir, "missing.yaml")
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "config /dev/zero: cannot read file: not a regular file but a character device"},
		{fifo, "config " + fifo + ": cannot read file: not a regular file but a named pipe (FIFO)"},
		{huge, "config " + huge + ": cannot read file: larger than 1048576 bytes (a configuration is a page of YAML)"},
		{dir, "config " + dir + ": cannot read file: not a regular file but a directory"},
		{missing, "config " + missing + ": cannot read file: no such file or directory"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			t.Parallel()
			done := make(chan error, 1)
			go func() { _, _, err := launch.LoadYAML[fileConfig](tc.path, "web: {}", env()); done <- err }()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Equal(t, tc.want, err.Error())
				assert.ErrorIs(t, err, launch.ErrInvalidConfig)
			case <-time.After(10 * time.Second):
				t.Fatal("LoadYAML blocked")
			}
		})
	}
}

// The endpoint token comes from the variable the file names (default
// URAS_ENDPOINT_TOKEN), never from the file.
func TestLoadYAMLReadsTheEndpointToken(t *testing.T) {
	t.Parallel()
	_, set, err := parse(t, "listen: 0.0.0.0:9321\nlisten_token_env: MY_TOKEN\nweb: {url: x}\n", env("MY_TOKEN", "tok-123456"))
	require.NoError(t, err)
	assert.Equal(t, "tok-123456", set.Token)
	assert.Contains(t, set.Secrets, "tok-123456")
	_, set, err = parse(t, "web: {url: x}\n", env(launch.EnvEndpointToken, "tok-default"))
	require.NoError(t, err)
	assert.Equal(t, "tok-default", set.Token)
	_, _, err = parse(t, "web: {url: x}\nlisten_token: t\n", nil)
	assert.ErrorContains(t, err, "listen_token: unknown key")
}

// A configuration with no sections and no launcher keys: an empty file is
// fine, there is nothing it must give.
func TestLoadYAMLWithoutSections(t *testing.T) {
	t.Parallel()
	type plain struct {
		Name string `yaml:"name"`
	}
	cfg, set, err := launch.ParseYAML[plain]("p.yaml", nil, env())
	require.NoError(t, err)
	assert.Equal(t, plain{}, cfg)
	assert.Equal(t, launch.Settings{}, set)
	_, _, err = launch.ParseYAML[int]("p.yaml", []byte("1"), env())
	assert.ErrorContains(t, err, "want a struct")
}

// FuzzParseYAML feeds arbitrary bytes to the loader: a configuration or a
// one-line *ConfigFileError, never a panic; a loaded policy is one the
// orchestrator takes.
func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("---\n"))
	f.Add([]byte("web:\n  url: x\npolicy: {interval: 1ns}\n"))
	f.Add([]byte("web:\n  policy: {backoff: {base: 10m}}\n"))
	f.Add([]byte("shop: {tags: ['']}\nalerts: {webhooks: [{url: 'http://h'}]}\n"))
	f.Add([]byte("web: &a {url: x}\nshop: *a\n"))
	f.Add([]byte("logs: {levels: {web: debug}}\nweb:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := launch.ParseYAML[fileConfig]("f.yaml", data, env())
		if err != nil {
			var fe *launch.ConfigFileError
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, launch.ErrInvalidConfig)
			require.True(t, strings.HasPrefix(err.Error(), "config "), err.Error())
			require.NotContains(t, err.Error(), "\n")
			return
		}
		require.True(t, cfg.Web != nil || cfg.Shop != nil, "a config that watches nothing is refused")
		require.NoError(t, cfg.Policy.Policy().Validate())
		if cfg.Web != nil {
			require.NoError(t, cfg.Web.Policy.Policy().Validate())
		}
	})
}

// clusterSetting is a pointer field tagged launch:"setting": decoded and
// validated like a section, but nothing to watch.
type clusterSetting struct {
	Name string `yaml:"name"`
}

func (c clusterSetting) Validate() error {
	if c.Name == "" {
		return &redundancy.ConfigError{Key: "name", Msg: "required"}
	}
	return nil
}

func TestLoadYAMLSettingIsNoSection(t *testing.T) {
	t.Parallel()
	type withSetting struct {
		launch.Config `yaml:",inline"`
		Cluster       *clusterSetting `yaml:"cluster" launch:"setting"`
		Web           *siteConfig     `yaml:"web"`
	}
	cfg, _, err := launch.ParseYAML[withSetting]("f.yaml", []byte("cluster: {name: web}\nweb: {url: x}\n"), env())
	require.NoError(t, err)
	require.NotNil(t, cfg.Cluster)
	assert.Equal(t, "web", cfg.Cluster.Name)

	cfg, _, err = launch.ParseYAML[withSetting]("f.yaml", []byte("web: {url: x}\n"), env())
	require.NoError(t, err)
	assert.Nil(t, cfg.Cluster, "left out: nil")

	_, _, err = launch.ParseYAML[withSetting]("f.yaml", []byte("cluster: {name: web}\n"), env())
	require.Error(t, err)
	assert.Equal(t, "config f.yaml:1: nothing to watch: the file has none of the sections web; give at least one of web", err.Error(),
		"a setting is no system to watch")

	_, _, err = launch.ParseYAML[withSetting]("f.yaml", []byte("web: {url: x}\ncluster:\n"), env())
	require.Error(t, err, "written with no value: there, with its defaults, and validated")
	assert.Contains(t, err.Error(), "cluster.name: required")

	_, _, err = launch.ParseYAML[withSetting]("f.yaml", []byte("web: {url: x}\nlogs: {levels: {cluster: debug}}\n"), env())
	require.Error(t, err, "a setting has no logger of its own")
	assert.Contains(t, err.Error(), "logs.levels.cluster: unknown part")
}
