package launch

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
)

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
	"logs":         "print the log as text (-n lines; follow or -follow; -system pm2,github; -level warn; -json raw)",
	"health-check": "check everything once: exit 0 healthy, 1 otherwise (-json)",
	"recover":      "plan and apply recoveries now (-dry-run prints the plan only, -force ignores budgets)",
	"monitor":      "run in the foreground: live dashboard, endpoints on -listen (below)",
	"silence":      "add|list|remove silences and maintenance windows (silence help)",
}

var builtinOrder = []string{"start", "stop", "restart", "status", "logs", "health-check", "recover", "monitor", "silence"}

func (a *app[C]) verbs() map[string]verbFunc[C] {
	return map[string]verbFunc[C]{
		"start": (*app[C]).start, "stop": (*app[C]).stop, "restart": (*app[C]).restart,
		"status": (*app[C]).status, "logs": (*app[C]).logs, "health-check": (*app[C]).healthCheck,
		"recover": (*app[C]).recover, "monitor": (*app[C]).monitor, "silence": (*app[C]).silence,
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
Log levels: %s sets every logger's, <PART>%s one part's (DEBUG, INFO, WARN, ERROR);
at DEBUG every check and every decision not to recover is logged.
Logs: <log dir>/%s, one JSON file per day (rotated at 10 MB, gzipped, kept 30 days).
PID and status files: <state dir>/%s.pid, %s.status.json.

endpoints (monitor -listen ADDR, or the configuration's; a bearer token beyond loopback):
  /health   the root's health as application/health+json: 200 pass or warn, 503 fail
  /livez    liveness: 503 when the loop is wedged (checks overdue, work past its timeout)
  /readyz   readiness: 503 while a critical target fails or was never checked
  /metrics  Prometheus metrics (uras_*), text format
  /status   the dashboard as JSON
  /silences the silences (GET); POST sets one, DELETE ?id= removes one: bearer token required
webhook deliveries (monitor -hooks-listen ADDR, or hooks_listen; a listener of their own):
  /hooks/<system>  a system's signed deliveries (GitHub, Netlify) when its webhook secret
                   is set; 401 for a bad signature

Under systemd (Type=notify): READY=1 once running, WATCHDOG=1 at half of WatchdogSec while
the loop makes progress, STOPPING=1. %s: a dead man's switch pinged while
alive and ready (Healthchecks.io, an Uptime Kuma push URL).

exit codes:
  0  success; health-check healthy
  1  failure; health-check degraded, unhealthy or unknown; recover failed
  2  usage or configuration error
  3  status: not running
  4  start/monitor: already running
`, EnvLogLevel, envPartLevelSuffix, a.logFile(), a.cmd.Name, a.cmd.Name, EnvHeartbeatURL)
}

// logName is the stem of the daily log files.
func (a *app[C]) logName() string {
	if a.cmd.LogName != "" {
		return a.cmd.LogName
	}
	return a.cmd.Name
}

// logFile is the pattern of the daily log files' names, for people.
func (a *app[C]) logFile() string { return a.logName() + "-YYYY-MM-DD.log" }

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
	if u := lookupEnv(a.env, EnvHeartbeatURL); u != "" {
		c.set.HeartbeatURL = u
	}
	a.red.Add(c.set.HeartbeatURL)
	if c.set.HeartbeatURL != "" {
		if err := checkHeartbeatURL(c.set.HeartbeatURL); err != nil {
			fmt.Fprintf(a.stderr, "%s: %v (Settings.HeartbeatURL or %s)\n", a.cmd.Name, err, EnvHeartbeatURL)
			return c, false
		}
	}
	c.set.fill()
	a.red.Add(c.set.Secrets...)
	a.red.Add(c.set.Token)
	return c, true
}

func (a *app[C]) openLogs(set Settings, term io.Writer) (*Logs, error) {
	return OpenLogs(LogOptions{Dir: set.LogDir, Name: a.logName(), Rotation: set.Rotation,
		Level: set.Level, Levels: set.Levels, Terminal: term, Redactor: a.red})
}

// build composes the system and checks what it returned.
func (a *app[C]) build(ctx context.Context, c config[C], logs *Logs, b Build) (*System, error) {
	b.Logger, b.Redactor = logs.Logger, a.red
	b.Getenv = func(name string) string { return lookupEnv(a.env, name) }
	if b.Metrics == nil {
		b.Metrics = metrics.New()
	}
	logs.Logger("").Debug("configuration", "command", a.cmd.Name, "config", a.configPath, "logs", logs.Path(),
		"state", c.set.StateDir, "listen", c.set.Listen, "endpoint_token_set", c.set.Token != "",
		"secrets", len(c.set.Secrets), "one_shot", b.OneShot, "dry_run", b.DryRun)
	sys, err := Compose(ctx, a.cmd, c.cfg, c.set, b)
	if err != nil {
		return nil, err
	}
	if len(sys.Parts) > 0 {
		logs.SetParts(sys.Parts) // one orchestrator over several parts: each logs at its part's level
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
