package launch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// AlertsConfig is the alerts key of a configuration file: when alerts
// page (the default of every section: a section's own alerts key is laid
// over it), where they are sent, and the silences set at every start.
//
//	alerts:
//	  renotify: 4h                   # re-send an open alert at most this often
//	  page_repairs: false            # page before the repair had its chance
//	  flap: {count: 3, window: 1h}   # this often bad: one flapping alert
//	  webhooks:
//	    - {url_env: SLACK_URL, format: slack}
//	    - {url: "https://hooks.example/uras", events: true}
//	  commands:
//	    - {argv: [/usr/local/bin/page, --team, ops], timeout: 30s}
//	  silences:
//	    - {id: nightly, target: "netlify", every: "0 2 * * *", duration: 30m, time_zone: Europe/Berlin, pause_repairs: true}
type AlertsConfig struct {
	redundancy.AlertPolicyConfig `yaml:",inline"`
	// Webhooks receive the alert notices (open, update, renotify,
	// resolved), as JSON or as Slack text.
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// Commands run a program for each alert notice, the notice as JSON on
	// its standard input.
	Commands []CommandConfig `yaml:"commands"`
	// Silences are set on the root orchestrator at every start (and
	// removed from it once the file no longer gives them).
	Silences []SilenceConfig `yaml:"silences"`
}

// Webhook formats.
const (
	FormatJSON  = "json"  // redundancy.NewWebhookNotifier: the alert as JSON
	FormatSlack = "slack" // redundancy.NewSlackNotifier: {"text": ...}
)

// WebhookConfig is one alert receiver: its URL, or the variable holding it
// (a webhook URL often carries a secret). After LoadYAML, URL holds the
// variable's value.
type WebhookConfig struct {
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
	// Format is json (default) or slack.
	Format string `yaml:"format"`
	// Events also sends every raw event (status changes, actions) to it,
	// besides the alert notices ({"type":"event"} bodies; Slack: one line
	// each). Default false: alerts only.
	Events bool `yaml:"events"`
}

// CommandConfig is one program run for each alert notice
// (redundancy.NewCommandNotifier): an argument vector, never a shell
// line. It runs with the launcher's environment less every variable
// holding a secret the launcher knows.
type CommandConfig struct {
	Argv []string `yaml:"argv"`
	// Timeout bounds one run (default redundancy.DefaultCommandTimeout).
	Timeout time.Duration `yaml:"timeout"`
}

// SilenceConfig is a silence or maintenance window set from the file (see
// redundancy.Silence for the fields; duration and times are text:
// "30m", "2026-03-01T02:00:00Z"). Its ID is "config-" and its id, or its
// index in the list without one.
type SilenceConfig struct {
	ID           string        `yaml:"id"`
	Target       string        `yaml:"target"`
	Problem      string        `yaml:"problem"`
	Comment      string        `yaml:"comment"`
	Start        time.Time     `yaml:"start"`
	Until        time.Time     `yaml:"until"`
	Every        string        `yaml:"every"`
	Duration     time.Duration `yaml:"duration"`
	TimeZone     string        `yaml:"time_zone"`
	PauseRepairs bool          `yaml:"pause_repairs"`
}

// ConfigSilencePrefix starts the IDs of the silences a configuration
// file sets; the launcher removes those the file no longer gives.
const ConfigSilencePrefix = "config-"

var configIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,56}$`)

// silence returns the redundancy.Silence of the i-th configured silence.
func (c SilenceConfig) silence(i int) redundancy.Silence {
	id := c.ID
	if id == "" {
		id = fmt.Sprint(i)
	}
	return redundancy.Silence{ID: ConfigSilencePrefix + id, Target: c.Target, Problem: redundancy.Problem(c.Problem),
		Comment: c.Comment, Start: c.Start, Until: c.Until, Every: c.Every, Duration: c.Duration, TimeZone: c.TimeZone,
		PauseRepairs: c.PauseRepairs}
}

// AlertSettings are the alert routes and silences of Settings.
type AlertSettings struct {
	// Webhooks receive alert notices (URL resolved from url_env).
	Webhooks []WebhookConfig
	// Commands are run for each alert notice.
	Commands []CommandConfig
	// Silences are set on the root orchestrator at every start, with
	// IDs starting with ConfigSilencePrefix.
	Silences []redundancy.Silence
}

func (c *AlertsConfig) settings() AlertSettings {
	s := AlertSettings{Webhooks: c.Webhooks, Commands: c.Commands}
	for i, sc := range c.Silences {
		s.Silences = append(s.Silences, sc.silence(i))
	}
	return s
}

// validate checks the alert keys (keys are relative to alerts).
func (c *AlertsConfig) validate() error {
	bad := func(key, format string, args ...any) error {
		return &redundancy.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if err := c.AlertPolicyConfig.Validate(); err != nil {
		return err
	}
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("webhooks[%d]", i)
		switch {
		case w.URL == "" && w.URLEnv == "":
			return bad(key, "needs url or url_env")
		case w.URL != "" && w.URLEnv != "":
			return bad(key, "give url or url_env, not both")
		case w.URL != "" && !isHTTPURL(w.URL):
			return bad(key+".url", "want an absolute http(s) URL")
		case w.Format != "" && w.Format != FormatJSON && w.Format != FormatSlack:
			return bad(key+".format", "unknown format %q (want json or slack)", w.Format)
		}
	}
	for i, cmd := range c.Commands {
		key := fmt.Sprintf("commands[%d]", i)
		switch {
		case len(cmd.Argv) == 0 || strings.TrimSpace(cmd.Argv[0]) == "":
			return bad(key+".argv", "needs the program, then its arguments (a list, no shell)")
		case cmd.Timeout < 0:
			return bad(key+".timeout", "negative duration %s", cmd.Timeout)
		}
		for j, a := range cmd.Argv {
			if strings.IndexByte(a, 0) >= 0 {
				return bad(fmt.Sprintf("%s.argv[%d]", key, j), "holds a NUL byte")
			}
		}
	}
	seen := map[string]bool{}
	for i, sc := range c.Silences {
		key := fmt.Sprintf("silences[%d]", i)
		if sc.ID != "" && !configIDRE.MatchString(sc.ID) {
			return bad(key+".id", "want 1 to 57 letters, digits, '.', '_' or '-'")
		}
		s := sc.silence(i)
		if seen[s.ID] {
			return bad(key+".id", "duplicate silence %q", strings.TrimPrefix(s.ID, ConfigSilencePrefix))
		}
		seen[s.ID] = true
		if sc.Every == "" && sc.Duration > 0 && sc.Start.IsZero() {
			return bad(key, "give until, or start with duration: a duration alone would start again at every start of the monitor")
		}
		if err := checkSilence(s); err != nil {
			return bad(key, "%s", strings.TrimPrefix(err.Error(), "redundancy: invalid silence "+fmt.Sprintf("%q", s.ID)+": "))
		}
	}
	return nil
}

// checkSilence reports what no orchestrator would accept in s, whatever
// the time: it is set on an orchestrator whose clock stands at the Unix
// epoch, so that only a silence that has ended by now is left for the
// start to skip.
func checkSilence(s redundancy.Silence) error {
	o := redundancy.New(redundancy.WithClock(epochClock{}))
	_, err := o.Silence(s)
	return err
}

// epochClock stands at the Unix epoch.
type epochClock struct{}

func (epochClock) Now() time.Time                         { return time.Unix(0, 0).UTC() }
func (epochClock) After(d time.Duration) <-chan time.Time { return make(chan time.Time) }

// applyEnv reads the webhook URLs given by variable.
func (c *AlertsConfig) applyEnv(getenv func(string) string) error {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		if w.URLEnv == "" {
			continue
		}
		w.URL = getenv(w.URLEnv)
		if !isHTTPURL(w.URL) {
			return &envError{name: w.URLEnv, msg: fmt.Sprintf("want an absolute http(s) URL (alerts.webhooks[%d].url_env)", i)}
		}
	}
	return nil
}

// alerting is the notifiers a launcher starts from its settings.
type alerting struct {
	webhooks []*redundancy.WebhookNotifier
	commands []*lazyCommand
}

// startAlerting starts the notifiers of set, logging to log and redacting
// with red; the commands run with env less its secrets.
func startAlerting(set AlertSettings, b Build, env []string) (*alerting, error) {
	al := &alerting{}
	for i, w := range set.Webhooks {
		opts := []redundancy.WebhookOption{redundancy.WithWebhookRedactor(b.Redactor)}
		if b.Logger != nil {
			opts = append(opts, redundancy.WithWebhookLogger(b.Logger("")))
		}
		newNotifier := redundancy.NewWebhookNotifier
		if w.Format == FormatSlack {
			newNotifier = redundancy.NewSlackNotifier
		}
		n, err := newNotifier(w.URL, opts...)
		if err != nil {
			_ = al.close(context.Background()) // nothing queued yet: returns at once
			return nil, fmt.Errorf("alerts.webhooks[%d]: %w", i, err)
		}
		al.webhooks = append(al.webhooks, n)
	}
	for _, c := range set.Commands {
		opts := []redundancy.CommandOption{redundancy.WithCommandTimeout(c.Timeout), redundancy.WithCommandRedactor(b.Redactor)}
		if b.Logger != nil {
			opts = append(opts, redundancy.WithCommandLogger(b.Logger("")))
		}
		al.commands = append(al.commands, &lazyCommand{argv: c.Argv, opts: opts, env: env, red: b.Redactor})
	}
	return al, nil
}

// apply hands the notifiers to b (Build.Alerts, Build.Events) and
// exports the webhooks' queues on b.Metrics.
func (al *alerting) apply(b *Build, set AlertSettings) {
	for i, n := range al.webhooks {
		b.Alerts = append(b.Alerts, n)
		if set.Webhooks[i].Events {
			b.Events = append(b.Events, n)
		}
		if b.Metrics != nil {
			b.Metrics.Webhook(fmt.Sprintf("alerts-%d", i), n) // never the URL
		}
	}
	for _, c := range al.commands {
		b.Alerts = append(b.Alerts, c)
	}
}

// close delivers what is queued (bounded by ctx) and stops.
func (al *alerting) close(ctx context.Context) error {
	var errs []error
	for _, n := range al.webhooks {
		errs = append(errs, n.Close(ctx))
	}
	for _, c := range al.commands {
		errs = append(errs, c.close(ctx))
	}
	return errors.Join(errs...)
}

// lazyCommand is a CommandNotifier started at its first notice, so that
// its environment leaves out every secret the launcher registered by then
// (the tokens Build reads with Build.Secret come after the notifiers are
// made).
type lazyCommand struct {
	argv []string
	opts []redundancy.CommandOption
	env  []string
	red  *redundancy.Redactor

	mu     sync.Mutex
	n      *redundancy.CommandNotifier
	closed bool
}

var _ redundancy.AlertNotifier = (*lazyCommand)(nil)

// NotifyAlert starts the notifier if need be and queues a.
func (c *lazyCommand) NotifyAlert(ctx context.Context, a redundancy.Alert) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("launch: command notifier closed")
	}
	if c.n == nil {
		n, err := redundancy.NewCommandNotifier(c.argv, append(c.opts, redundancy.WithCommandEnv(withoutSecrets(c.env, c.red)))...)
		if err != nil {
			c.mu.Unlock()
			return err
		}
		c.n = n
	}
	n := c.n
	c.mu.Unlock()
	return n.NotifyAlert(ctx, a)
}

func (c *lazyCommand) close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	n := c.n
	c.mu.Unlock()
	if n == nil {
		return nil
	}
	return n.Close(ctx)
}

// withoutSecrets returns env less the variables of
// redundancy.SecretEnvNames and those whose value holds a secret red
// knows.
func withoutSecrets(env []string, red *redundancy.Redactor) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, v, _ := strings.Cut(kv, "=")
		secret := red != nil && v != "" && red.String(v) != v
		for _, s := range redundancy.SecretEnvNames {
			secret = secret || strings.EqualFold(s, name)
		}
		if !secret {
			out = append(out, kv)
		}
	}
	return out
}
