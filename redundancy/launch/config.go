package launch

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// EnvEndpointToken is the default variable holding the endpoint's bearer
// token (Config.ListenTokenEnv).
const EnvEndpointToken = "URAS_ENDPOINT_TOKEN"

// Config is the part of a configuration file the launcher itself reads:
// where logs and state go, the endpoint, the default policy of every
// target and where alerts are sent. A launcher's configuration type embeds
// it inline beside its own sections, and LoadYAML reads both from one
// file:
//
//	type Config struct {
//		launch.Config `yaml:",inline"` // logs, state, listen, policy, alerts
//		PM2     *pm2.TargetConfig       `yaml:"pm2"`
//		GitHub  *ghactions.TargetConfig `yaml:"github"`
//		Mine    *MyConfig               `yaml:"mine"`
//	}
//
// After LoadYAML, the defaults given beside the fields are filled in.
type Config struct {
	Logs  LogsConfig  `yaml:"logs"`
	State StateConfig `yaml:"state"`
	// Listen is the monitor's endpoint (host:port); "" serves none.
	Listen string `yaml:"listen"`
	// HooksListen is where the monitor receives webhook deliveries
	// (host:port), on a listener of its own beside the endpoint: a
	// System's Receivers (GitHub, Netlify) are served there at
	// /hooks/<name>, and nothing else. Put it behind a reverse proxy that
	// GitHub or Netlify can reach; the deliveries are authenticated by
	// their signatures, not by the endpoint's token. "" receives none.
	HooksListen string `yaml:"hooks_listen"`
	// ListenTokenEnv names the variable holding the endpoint's bearer
	// token (default EnvEndpointToken); the token is required when Listen
	// is not a loopback address. It is never read from the file.
	ListenTokenEnv string `yaml:"listen_token_env"`
	// Policy is the default policy of every target: LoadYAML lays each
	// section's own policy over it, field by field.
	Policy redundancy.PolicyConfig `yaml:"policy"`
	// Alerts says when alerts page (the default of every section, which
	// may lay its own alerts keys over it), where they are sent, and the
	// silences set at every start.
	Alerts AlertsConfig `yaml:"alerts"`
	// Heartbeat pings a dead man's switch while the monitor is alive and
	// ready (Settings.HeartbeatURL).
	Heartbeat HeartbeatConfig `yaml:"heartbeat"`

	token     string // read from ListenTokenEnv by LoadYAML
	heartbeat string // read from Heartbeat.URLEnv by LoadYAML
}

// HeartbeatConfig says where the monitor's heartbeat goes: the URL is a
// secret, so the file names the variable that holds it.
type HeartbeatConfig struct {
	// URLEnv names the variable holding the URL; REDUNDANCY_HEARTBEAT_URL
	// overrides it.
	URLEnv string `yaml:"url_env"`
	// Every is the least time between two heartbeats (default
	// DefaultHeartbeatEvery; at least 1s).
	Every time.Duration `yaml:"every"`
}

// LogsConfig says where logs go and how much is logged.
type LogsConfig struct {
	Dir string `yaml:"dir"` // default "logs"
	// Level is DEBUG, INFO (default), WARN or ERROR; REDUNDANCY_LOG_LEVEL
	// overrides it.
	Level string `yaml:"level"`
	// Levels set one part's level, by the name of its section ("pm2");
	// <PART>_REDUNDANCY_LOG_LEVEL overrides one.
	Levels     map[string]string `yaml:"levels"`
	MaxSizeMB  int               `yaml:"max_size_mb"`  // rotate at; default 10
	MaxAgeDays int               `yaml:"max_age_days"` // keep rotated files; default 30
	Compress   *bool             `yaml:"compress"`     // gzip rotated files; default true
}

// StateConfig says where the PID file, the status file and whatever a
// launcher persists (state files, stores, reports) are kept.
type StateConfig struct {
	Dir string `yaml:"dir"` // default ".uras"
}

// LaunchConfig returns c. A configuration type that embeds Config gets
// this method, which is how LoadYAML finds the launcher's part in it.
func (c *Config) LaunchConfig() *Config { return c }

// Settings returns what the launcher needs from c (after LoadYAML): the
// directories, the endpoint and its token, the hooks listener, the
// levels, the rotation, the alert notifiers and silences, and the secrets
// to redact (the token and the webhook URLs).
func (c *Config) Settings() Settings {
	s := Settings{
		LogDir: c.Logs.Dir, StateDir: c.State.Dir, Listen: c.Listen, HooksListen: c.HooksListen, Token: c.token,
		Alerts:   c.Alerts.settings(),
		Rotation: Rotation{MaxSizeMB: c.Logs.MaxSizeMB, MaxAgeDays: c.Logs.MaxAgeDays, Compress: c.Logs.Compress == nil || *c.Logs.Compress},
	}
	s.Level, _ = parseLevel(c.Logs.Level)
	for part, l := range c.Logs.Levels {
		if s.Levels == nil {
			s.Levels = map[string]slog.Level{}
		}
		s.Levels[part], _ = parseLevel(l)
	}
	s.HeartbeatURL, s.HeartbeatEvery = c.heartbeat, c.Heartbeat.Every
	for _, v := range []string{c.token, c.heartbeat} {
		if v != "" {
			s.Secrets = append(s.Secrets, v)
		}
	}
	for _, w := range c.Alerts.Webhooks {
		if w.URL != "" {
			s.Secrets = append(s.Secrets, w.URL)
		}
	}
	return s
}

func parseLevel(s string) (slog.Level, error) {
	if strings.TrimSpace(s) == "" {
		return slog.LevelInfo, nil
	}
	return ParseLevel(s)
}

// validate checks c's own keys; parts are the names logs.levels may use
// (nil: any plain name).
func (c *Config) validate(parts []string) error {
	bad := func(key, format string, args ...any) error {
		return &redundancy.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if _, err := parseLevel(c.Logs.Level); err != nil {
		return bad("logs.level", "%v", err)
	}
	for part, l := range c.Logs.Levels {
		if parts != nil && !contains(parts, part) {
			return bad("logs.levels."+part, "unknown part (want one of %s)", strings.Join(parts, ", "))
		}
		if _, err := parseLevel(l); err != nil {
			return bad("logs.levels."+part, "%v", err)
		}
	}
	if c.Logs.MaxSizeMB < 0 || c.Logs.MaxAgeDays < 0 {
		return bad("logs", "max_size_mb and max_age_days may not be negative")
	}
	for _, l := range []struct{ key, addr string }{{"listen", c.Listen}, {"hooks_listen", c.HooksListen}} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			return bad(l.key, "want host:port, such as 127.0.0.1:9321 (%v)", err)
		}
	}
	if c.Listen != "" && c.Listen == c.HooksListen && !strings.HasSuffix(c.Listen, ":0") {
		return bad("hooks_listen", "%s is the endpoint's address (listen): give the webhooks a listener of their own", c.HooksListen)
	}
	if err := c.Policy.Validate(); err != nil {
		return under(err, "policy")
	}
	if e := c.Heartbeat.Every; e != 0 && e < time.Second {
		return bad("heartbeat.every", "%s is below the minimum 1s", e)
	}
	if err := c.Alerts.validate(); err != nil {
		return under(err, "alerts")
	}
	return nil
}

// applyEnv reads the endpoint token and the webhook URLs given by variable.
func (c *Config) applyEnv(getenv func(string) string) error {
	if c.ListenTokenEnv == "" {
		c.ListenTokenEnv = EnvEndpointToken
	}
	c.token = getenv(c.ListenTokenEnv)
	if name := c.Heartbeat.URLEnv; name != "" {
		c.heartbeat = getenv(name)
		if c.heartbeat != "" && !isHTTPURL(c.heartbeat) {
			return &envError{name: name, msg: "want an absolute http(s) URL (heartbeat.url_env)"}
		}
	}
	return c.Alerts.applyEnv(getenv)
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
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
