package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// Exit codes of every verb.
const (
	// ExitOK: success; health-check: healthy.
	ExitOK = 0
	// ExitFailure: failure; health-check: degraded, unhealthy or unknown;
	// recover: an action failed or was refused; monitor: stopped by a second
	// signal before in-flight work finished.
	ExitFailure = 1
	// ExitUsage: a usage or configuration error.
	ExitUsage = 2
	// ExitNotRunning: status found no monitor (a fresh check is shown).
	ExitNotRunning = 3
	// ExitAlreadyRunning: start or monitor found a monitor running.
	ExitAlreadyRunning = 4
)

// Command describes one launcher: its name, how it reads its configuration
// and how it composes its orchestrators. The rest (verbs, PID file,
// monitor, dashboard, endpoint, logs) is the same for every launcher.
type Command[C any] struct {
	// Name names the command in messages and its files:
	// <StateDir>/<Name>.pid, <StateDir>/<Name>.status.json. Required: a
	// plain name (letters, digits, "-", "_", ".").
	Name string
	// Title heads the dashboard ("uras ultimate redundancy"); default Name.
	Title string
	// Summary is the sentence under the usage line of help.
	Summary string
	// Help is printed after the verbs in help: the configuration, the
	// environment variables the command reads.
	Help string
	// LogName names the JSON log files in Settings.LogDir, one per day:
	// <LogName>-YYYY-MM-DD.log; default Name (so "ultimate-2026-11-28.log").
	LogName string
	// Load reads the configuration at path: the -config flag, "" when it
	// was not given (the caller's default). It returns the caller's own
	// configuration and the launcher's Settings. Its error is printed as
	// it is and the verb exits 2. Nil: the command has no configuration
	// (-config is refused) and zero Settings.
	Load func(path string) (C, Settings, error)
	// Build composes the orchestrators from the configuration. Required.
	// It is called once per verb; see Build for what it is given.
	Build func(ctx context.Context, cfg C, b Build) (*System, error)
	// Verbs are extra verbs (a "demo"); a built-in verb cannot be replaced.
	Verbs map[string]Verb
	// Env is the environment the command reads (KEY=value); nil: the
	// process's (os.Environ).
	Env []string
}

// Settings are what the launcher itself needs from a configuration.
// Zero fields take the defaults.
type Settings struct {
	// LogDir holds the JSON log file (default "logs").
	LogDir string
	// StateDir holds the PID file and the status file (default ".uras").
	StateDir string
	// Listen is the monitor's endpoint address (host:port); "" serves
	// none. The monitor's -listen flag overrides it.
	Listen string
	// HooksListen is the address (host:port) of the listener that
	// receives webhook deliveries (System.Receivers at /hooks/<name>),
	// apart from the endpoint; "" receives none. The monitor's
	// -hooks-listen flag overrides it.
	HooksListen string
	// Token is the bearer token the endpoint requires. It is required
	// when Listen is not a loopback address; it is redacted everywhere.
	Token string
	// Level is the level of every logger without its own (zero: info).
	// REDUNDANCY_LOG_LEVEL overrides it.
	Level slog.Level
	// Levels are the levels of some parts' loggers, by part name;
	// <PART>_REDUNDANCY_LOG_LEVEL overrides one.
	Levels map[string]slog.Level
	// Rotation rotates the log file.
	Rotation Rotation
	// Secrets are values to redact from every output: logs, terminal,
	// JSON, the endpoint, the status file. The values of the variables
	// of redundancy.SecretEnvNames are added from the environment.
	Secrets []string
	// HeartbeatURL, when set, is pinged (GET) by the monitor while it is
	// alive and ready, at most every HeartbeatEvery: a dead man's switch
	// (Healthchecks.io, an Uptime Kuma push monitor) whose silence says
	// the monitor died or wedged. It is a secret: redacted everywhere,
	// never logged, redirects never followed. REDUNDANCY_HEARTBEAT_URL
	// overrides it.
	HeartbeatURL string
	// HeartbeatEvery is the least time between two heartbeats (default
	// DefaultHeartbeatEvery, 1m; at least 1s).
	HeartbeatEvery time.Duration
	// Alerts are where the monitor sends alert notices, and the silences
	// it sets at every start (see Compose).
	Alerts AlertSettings
}

func (s *Settings) fill() {
	if s.HeartbeatEvery <= 0 {
		s.HeartbeatEvery = DefaultHeartbeatEvery
	}
	s.HeartbeatEvery = max(s.HeartbeatEvery, time.Second)
	if s.LogDir == "" {
		s.LogDir = "logs"
	}
	if s.StateDir == "" {
		s.StateDir = ".uras"
	}
}

// Build is what a Command's Build function is given besides the
// configuration.
type Build struct {
	// Logger returns the logger of one part ("pm2"): records carry
	// part=<name> and pass the part's level. Logger("") is the general
	// logger. All of them write to the log file (and, in the foreground
	// monitor, to the terminal) through the Redactor.
	Logger func(part string) *slog.Logger
	// Redactor redacts every output of the launcher. Build may register
	// more secrets with Add (a token it reads itself) and hand it to
	// notifiers and reporters that write outside the process.
	Redactor *redundancy.Redactor
	// DryRun is set for recover -dry-run: build orchestrators that plan
	// without acting (redundancy.WithDryRun).
	DryRun bool
	// OneShot is set for the verbs that run once (health-check, status,
	// recover): do not use state files, which belong to a running monitor.
	OneShot bool
	// Metrics is where Build registers what the launcher cannot see in
	// the orchestrators: webhook notifiers (Metrics.Webhook), API rate
	// limits (Metrics.RateLimit), event sources run beside them
	// (Metrics.EventSource). The launcher watches the System's parts
	// itself. The monitor serves it at /metrics; never nil.
	Metrics *metrics.Metrics
	// Getenv reads the command's environment (Command.Env, else the
	// process's); Secret reads through it. Nil: os.Getenv.
	Getenv func(name string) string
	// StateDir is the launcher's state directory (Settings.StateDir):
	// Options gives each orchestrator its state file there, except in a
	// one-shot verb. "": no state files.
	StateDir string
	// Alerts receive the alert notices of every orchestrator built with
	// Options: the configuration's webhooks and commands (Compose starts
	// them in the monitor; one-shot verbs page nobody).
	Alerts []redundancy.AlertNotifier
	// Events receive every raw event of those orchestrators: the webhooks
	// configured with events: true.
	Events []redundancy.Notifier
}

// System is what a Command's Build returns: the orchestrators to run and
// show, and what to start and stop beside them.
type System struct {
	// Root is what runs: the only orchestrator, or the one the others are
	// nested under. Required.
	Root *redundancy.Orchestrator
	// Parts are the orchestrators that hold the targets, for the
	// dashboard and recover; nil: Root alone, as one part named "all".
	Parts []Part
	// Watch, when set, follows event sources (a PM2 event socket, a
	// webhook receiver) beside Root.Run in the monitor, until its context
	// ends.
	Watch func(ctx context.Context) error
	// Receivers are the handlers of webhook deliveries by name ("github"):
	// the monitor serves each at /hooks/<name> on Settings.HooksListen,
	// counted on Build.Metrics (AddGroup adds a Group's Receiver).
	Receivers map[string]http.Handler
	// Close, when set, is called when the verb ends, with a bounded
	// context: deliver queued alerts, close clients. It must return when
	// the context ends.
	Close func(ctx context.Context) error
	// Notes say what is not watched and why ("github: no .github/workflows
	// here"). A system with no target must have notes: an empty system
	// without a word is refused.
	Notes []string
}

// Part is one orchestrator of a System under a name ("pm2").
type Part struct {
	Name string
	Orch *redundancy.Orchestrator
	// Targets are the part's targets in Orch; nil: all of them. Several
	// parts may share one orchestrator with different targets.
	Targets []string
}

// Verb is an extra verb of a Command.
type Verb struct {
	// Usage is its line in help, after the verb's name ("run against an
	// embedded environment").
	Usage string
	// Run runs it and returns the exit code.
	Run func(ctx context.Context, inv Invocation) int
}

// Invocation is one call of an extra verb.
type Invocation struct {
	// Command and Verb are the names of the command and of the verb.
	Command, Verb string
	// Args are the arguments after the verb.
	Args []string
	// ConfigPath is the -config flag given before the verb ("" if none).
	ConfigPath string
	// Stdout and Stderr are the outputs, redacted of the secrets the
	// environment names.
	Stdout, Stderr io.Writer
}

// errNothingToWatch is the error of a Build that returned neither a
// target nor a note: a launcher that would watch nothing and report
// healthy.
var errNothingToWatch = errors.New("nothing to watch")

type forceKey struct{}

// Main runs the command line of c with os.Args, the process environment
// and os.Stdout/os.Stderr, and returns the exit code for os.Exit. The
// first SIGINT or SIGTERM stops the verb gracefully (a monitor stops
// starting work, lets in-flight actions finish or time out, saves its
// state and exits 0); a second one cuts the wait short (the monitor exits
// 1 within seconds); a third one kills the process.
func Main[C any](c Command[C]) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	force := make(chan struct{})
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		stop()
		if _, ok := <-sigs; !ok {
			return
		}
		close(force)
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	}()
	return Run(context.WithValue(ctx, forceKey{}, (<-chan struct{})(force)), c, os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs one command line of c (args without the program name) and
// returns its exit code. Cancelling ctx stops the verb as a first signal
// does in Main. Tests and programs that handle signals themselves call it
// instead of Main.
func Run[C any](ctx context.Context, c Command[C], args []string, stdout, stderr io.Writer) int {
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	red := redundancy.NewRedactor()
	for _, name := range redundancy.SecretEnvNames {
		red.Add(lookupEnv(env, name))
	}
	out, errw := newRedactWriter(stdout, red), newRedactWriter(stderr, red)
	defer func() { _ = out.Flush(); _ = errw.Flush() }()
	if err := c.validate(); err != nil {
		fmt.Fprintf(errw, "%v\n", err)
		return ExitUsage
	}
	a := &app[C]{cmd: c, env: env, red: red, stdout: out, stderr: errw}
	if f, ok := ctx.Value(forceKey{}).(<-chan struct{}); ok {
		a.force = f
	}
	return a.run(ctx, args)
}

func (c Command[C]) validate() error {
	if c.Name == "" || strings.ContainsFunc(c.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) || c.Name[0] == '.' {
		return fmt.Errorf("launch: Command.Name %q: want a plain name (letters, digits, -, _, .)", c.Name)
	}
	if c.Build == nil {
		return errors.New("launch: Command.Build is nil")
	}
	for name, v := range c.Verbs {
		if _, ok := builtins[name]; ok || name == "help" {
			return fmt.Errorf("launch: Command.Verbs: %q is a built-in verb", name)
		}
		if v.Run == nil {
			return fmt.Errorf("launch: Command.Verbs: %q has no Run", name)
		}
	}
	return nil
}

func lookupEnv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}
