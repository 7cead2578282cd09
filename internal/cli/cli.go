package cli

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
	"syscall"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/logging"
	"github.com/uras-dev/uras/internal/system"
)

// Exit codes.
const (
	ExitOK             = 0
	ExitFailure        = 1
	ExitUsage          = 2
	ExitNotRunning     = 3
	ExitAlreadyRunning = 4
)

// Mode is one example command: its name and how it composes the
// orchestrators.
type Mode struct {
	// Name names the command and its files ("ultimate": ultimate.pid).
	Name string
	// Layout composes the orchestrators.
	Layout system.Layout
	// LogFile is the log file's name under the logs dir.
	LogFile string
}

// Main runs the command line of m with os.Args and returns the exit code.
func Main(m Mode) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, m, os.Args[1:], os.Stdout, os.Stderr)
}

// app is one invocation.
type app struct {
	mode           Mode
	stdout, stderr io.Writer
	configPath     string
}

// Run runs one verb with args and returns the exit code.
func Run(ctx context.Context, m Mode, args []string, stdout, stderr io.Writer) int {
	a := &app{mode: m, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet(m.Name, flag.ContinueOnError)
	global.SetOutput(stderr)
	global.StringVar(&a.configPath, "config", "", "configuration `file` (default: the embedded default)")
	global.Usage = func() { a.usage(stderr) }
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
	verbs := map[string]func(context.Context, []string) int{
		"start": a.start, "stop": a.stop, "restart": a.restart, "status": a.status,
		"logs": a.logs, "health-check": a.healthCheck, "recover": a.recover,
		"monitor": a.monitor, "demo": a.demo,
	}
	if verb == "help" || verb == "-h" || verb == "--help" {
		a.usage(stdout)
		return ExitOK
	}
	fn, ok := verbs[verb]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown verb %q\n\n", m.Name, verb)
		a.usage(stderr)
		return ExitUsage
	}
	return fn(ctx, rest)
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, `usage: %[1]s [-config FILE] VERB [flags]

%[1]s keeps PM2, GitHub Actions and Netlify automations alive (%[2]s mode).

verbs:
  start          run the monitor detached (PID file, logs to file); refuses if running
  stop           stop the detached monitor (signal, wait, remove the PID file)
  restart        stop, then start
  status         the dashboard of the running monitor (-json for machines)
  logs           print the log file (-n lines, -follow to keep reading)
  health-check   check everything once: exit 0 healthy, 1 otherwise
  recover        plan and apply recoveries now (-dry-run prints the plan only, -force ignores budgets)
  monitor        run in the foreground: live dashboard, health endpoint on -listen
  demo           run against an embedded environment, inject faults, show the recovery
  help           this text

Every verb takes -config FILE (YAML; default: the embedded default, which
watches the local PM2, ./.github/workflows and ./netlify/functions when present).
Environment: GITHUB_TOKEN, NETLIFY_AUTH_TOKEN, REDUNDANCY_LOG_LEVEL,
PM2_/GITHUB_/NETLIFY_REDUNDANCY_LOG_LEVEL (DEBUG, INFO, WARN, ERROR).
Logs: <logs dir>/%[3]s (JSON, rotated at 10 MB, kept 30 days, compressed).

exit codes:
  0  success; health-check healthy; demo recovered every fault
  1  failure; health-check degraded, unhealthy or unknown; recover failed
  2  usage or configuration error
  3  status: not running
  4  start/monitor: already running
`, a.mode.Name, a.mode.Layout, a.mode.LogFile)
}

// flags returns a verb's flag set with -config.
func (a *app) flags(verb string) *flag.FlagSet {
	fs := flag.NewFlagSet(a.mode.Name+" "+verb, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.configPath, "config", a.configPath, "configuration `file`")
	return fs
}

// parse parses a verb's flags; it returns false (and the exit code) on error.
func (a *app) parse(fs *flag.FlagSet, args []string) (int, bool) {
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

// load reads the configuration; on error it prints it and returns false.
func (a *app) load() (*config.Config, bool) {
	cfg, err := config.Load(a.configPath, os.Getenv)
	if err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.mode.Name, err)
		return nil, false
	}
	return cfg, true
}

// openLogs opens the log file, with terminal text output when term is set.
func (a *app) openLogs(cfg *config.Config, term io.Writer) (*logging.Logs, error) {
	level, _ := cfg.Logs.Level.Parse()
	levels := map[string]slog.Level{}
	for sys, l := range cfg.Logs.Levels {
		levels[sys], _ = l.Parse()
	}
	return logging.New(logging.Options{
		Dir: cfg.Logs.Dir, File: a.mode.LogFile,
		MaxSizeMB: cfg.Logs.MaxSizeMB, MaxAgeDays: cfg.Logs.MaxAgeDays, Compress: *cfg.Logs.Compress,
		Level: level, Levels: levels, Terminal: term, Secrets: cfg.Secrets(),
	})
}

// build composes the system for a verb.
func (a *app) build(ctx context.Context, cfg *config.Config, logs *logging.Logs, bo system.BuildOptions) (*system.System, error) {
	bo.Logger = logs.Logger()
	bo.Deps.Logger = logs.For
	logs.Logger().Debug("configuration", "file", cfg.File, "mode", a.mode.Name, "logs", cfg.Logs.Dir, "state", cfg.State.Dir,
		"webhooks", webhookURLs(cfg), "github_token_set", cfg.GitHub != nil && cfg.GitHub.Token != "",
		"netlify_token_set", cfg.Netlify != nil && cfg.Netlify.Token != "")
	return system.Build(ctx, cfg, a.mode.Layout, bo)
}

func webhookURLs(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.Alerts.Webhooks {
		out = append(out, w.URL)
	}
	return out
}

func (a *app) pidFile(cfg *config.Config) PIDFile {
	return PIDFile{Path: filepath.Join(cfg.State.Dir, a.mode.Name+".pid")}
}

func (a *app) statusFile(cfg *config.Config) string {
	return filepath.Join(cfg.State.Dir, a.mode.Name+".status.json")
}

func (a *app) fail(format string, args ...any) int {
	fmt.Fprintf(a.stderr, a.mode.Name+": "+format+"\n", args...)
	return ExitFailure
}
