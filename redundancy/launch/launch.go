package launch

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/uras-dev/uras/redundancy"
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
	// LogFile is the log file's name in Settings.LogDir; default Name+".log".
	LogFile string
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
}

func (s *Settings) fill() {
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

// app is one invocation.
type app[C any] struct {
	cmd            Command[C]
	env            []string
	red            *redundancy.Redactor
	stdout, stderr *redactWriter
	force          <-chan struct{}
	configPath     string
}

type verbFunc[C any] func(a *app[C], ctx context.Context, args []string) int

// builtins are the built-in verbs with their help lines, in help order.
var builtins = map[string]string{
	"start":        "run the monitor detached (PID file, logs to file); refuses if running",
	"stop":         "stop the detached monitor (signal, wait, remove the PID file)",
	"restart":      "stop, then start",
	"status":       "the dashboard of the running monitor (-json for machines)",
	"logs":         "print the log file (-n lines, -follow to keep reading)",
	"health-check": "check everything once: exit 0 healthy, 1 otherwise (-json)",
	"recover":      "plan and apply recoveries now (-dry-run prints the plan only, -force ignores budgets)",
	"monitor":      "run in the foreground: live dashboard, health endpoint on -listen",
}

var builtinOrder = []string{"start", "stop", "restart", "status", "logs", "health-check", "recover", "monitor"}

func (a *app[C]) verbs() map[string]verbFunc[C] {
	return map[string]verbFunc[C]{
		"start": (*app[C]).start, "stop": (*app[C]).stop, "restart": (*app[C]).restart,
		"status": (*app[C]).status, "logs": (*app[C]).logs, "health-check": (*app[C]).healthCheck,
		"recover": (*app[C]).recover, "monitor": (*app[C]).monitor,
	}
}

func (a *app[C]) run(ctx context.Context, args []string) int {
	global := flag.NewFlagSet(a.cmd.Name, flag.ContinueOnError)
	global.SetOutput(a.stderr)
	global.StringVar(&a.configPath, "config", "", "configuration `file`")
	global.Usage = func() { a.usage(a.stderr) }
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	verb, rest := "help", []string(nil)
	if global.NArg() > 0 {
		verb, rest = global.Arg(0), global.Args()[1:]
	}
	if verb == "help" || verb == "-h" || verb == "--help" {
		a.usage(a.stdout)
		return ExitOK
	}
	var fn func() int
	if b, ok := a.verbs()[verb]; ok {
		fn = func() int { return b(a, ctx, rest) }
	} else if v, ok := a.cmd.Verbs[verb]; ok {
		fn = func() int {
			return v.Run(ctx, Invocation{Command: a.cmd.Name, Verb: verb, Args: rest, ConfigPath: a.configPath, Stdout: a.stdout, Stderr: a.stderr})
		}
	} else {
		fmt.Fprintf(a.stderr, "%s: unknown verb %q\n\n", a.cmd.Name, verb)
		a.usage(a.stderr)
		return ExitUsage
	}
	if verb == "monitor" || a.force == nil {
		return fn() // the monitor answers a second signal itself
	}
	done := make(chan int, 1)
	go func() { done <- fn() }()
	select {
	case code := <-done:
		return code
	case <-a.force:
		fmt.Fprintf(a.stderr, "%s: %s: interrupted\n", a.cmd.Name, verb)
		return ExitFailure
	}
}

func (a *app[C]) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s [-config FILE] VERB [flags]\n", a.cmd.Name)
	if a.cmd.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", a.cmd.Summary)
	}
	fmt.Fprintf(w, "\nverbs:\n")
	lines := make([][2]string, 0, len(builtinOrder)+len(a.cmd.Verbs)+1)
	for _, v := range builtinOrder {
		lines = append(lines, [2]string{v, builtins[v]})
	}
	extra := make([]string, 0, len(a.cmd.Verbs))
	for v := range a.cmd.Verbs {
		extra = append(extra, v)
	}
	sort.Strings(extra)
	for _, v := range extra {
		lines = append(lines, [2]string{v, a.cmd.Verbs[v].Usage})
	}
	lines = append(lines, [2]string{"help", "this text"})
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
	if a.cmd.Help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(a.cmd.Help, "\n"))
	}
	fmt.Fprintf(w, `
Log levels: %s sets every logger's, <PART>%s one part's (DEBUG, INFO, WARN, ERROR).
Logs: <log dir>/%s (JSON, rotated). PID and status files: <state dir>/%s.pid, %s.status.json.

exit codes:
  0  success; health-check healthy
  1  failure; health-check degraded, unhealthy or unknown; recover failed
  2  usage or configuration error
  3  status: not running
  4  start/monitor: already running
`, EnvLogLevel, envPartLevelSuffix, a.logFile(), a.cmd.Name, a.cmd.Name)
}

func (a *app[C]) logFile() string {
	if a.cmd.LogFile != "" {
		return a.cmd.LogFile
	}
	return a.cmd.Name + ".log"
}

// flags returns a verb's flag set with -config.
func (a *app[C]) flags(verb string) *flag.FlagSet {
	fs := flag.NewFlagSet(a.cmd.Name+" "+verb, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.configPath, "config", a.configPath, "configuration `file`")
	return fs
}

// parse parses a verb's flags; it returns false (and the exit code) on error.
func (a *app[C]) parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return ExitUsage, false
	}
	return 0, true
}

// config is a loaded configuration and the launcher's settings.
type config[C any] struct {
	cfg C
	set Settings
}

// load reads the configuration; on error it prints it and returns false.
func (a *app[C]) load() (config[C], bool) {
	var c config[C]
	if a.cmd.Load == nil {
		if a.configPath != "" {
			fmt.Fprintf(a.stderr, "%s: this command takes no configuration file (-config %s)\n", a.cmd.Name, a.configPath)
			return c, false
		}
	} else {
		var err error
		c.cfg, c.set, err = a.cmd.Load(a.configPath)
		if err != nil {
			fmt.Fprintf(a.stderr, "%s: %s\n", a.cmd.Name, oneLine(err.Error()))
			return c, false
		}
	}
	if err := levelsFromEnv(a.env, &c.set); err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.cmd.Name, err)
		return c, false
	}
	c.set.fill()
	a.red.Add(c.set.Secrets...)
	a.red.Add(c.set.Token)
	return c, true
}

func (a *app[C]) openLogs(set Settings, term io.Writer) (*Logs, error) {
	return OpenLogs(LogOptions{Path: filepath.Join(set.LogDir, a.logFile()), Rotation: set.Rotation,
		Level: set.Level, Levels: set.Levels, Terminal: term, Redactor: a.red})
}

// build composes the system and checks what it returned.
func (a *app[C]) build(ctx context.Context, c config[C], logs *Logs, b Build) (*System, error) {
	b.Logger, b.Redactor = logs.Logger, a.red
	logs.Logger("").Debug("configuration", "command", a.cmd.Name, "config", a.configPath, "logs", logs.Path(),
		"state", c.set.StateDir, "listen", c.set.Listen, "endpoint_token_set", c.set.Token != "",
		"secrets", len(c.set.Secrets), "one_shot", b.OneShot, "dry_run", b.DryRun)
	sys, err := a.cmd.Build(ctx, c.cfg, b)
	if err != nil {
		return nil, err
	}
	if sys == nil || sys.Root == nil {
		if sys != nil {
			sys.close(0)
		}
		return nil, errors.New("launch: Build returned no root orchestrator")
	}
	if len(sys.Root.Names()) == 0 && len(sys.Notes) == 0 {
		sys.close(0)
		return nil, fmt.Errorf("%w: the configuration gives no target (and no note saying why)", errNothingToWatch)
	}
	return sys, nil
}

func (a *app[C]) pidFile(set Settings) pidFile {
	return pidFile{path: filepath.Join(set.StateDir, a.cmd.Name+".pid")}
}

func (a *app[C]) statusFile(set Settings) string {
	return filepath.Join(set.StateDir, a.cmd.Name+".status.json")
}

func (a *app[C]) fail(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "%s: %s\n", a.cmd.Name, fmt.Sprintf(format, args...))
	return ExitFailure
}

// parts returns the system's parts, Root alone when none are given.
func (s *System) parts() []Part {
	if len(s.Parts) > 0 {
		return s.Parts
	}
	return []Part{{Name: "all", Orch: s.Root}}
}

// orchestrators returns the distinct orchestrators of the system.
func (s *System) orchestrators() []*redundancy.Orchestrator {
	out := []*redundancy.Orchestrator{s.Root}
	for _, p := range s.parts() {
		if p.Orch != nil && !slices.Contains(out, p.Orch) {
			out = append(out, p.Orch)
		}
	}
	return out
}
