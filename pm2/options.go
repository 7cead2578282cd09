package pm2

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Option tunes NewCLI or NewTargets. Each option says which constructors
// take it; giving a constructor an option it does not take is an error,
// not a silent no-op.
type Option struct {
	name  string
	apply func(*settings)
}

type settings struct {
	// the CLI's
	bin     string
	home    string
	timeout time.Duration
	runner  Runner

	// NewTargets'
	client Client
	logger *slog.Logger
	clock  redundancy.Clock
	store  redundancy.Store
	name   string
	window func(time.Time) bool
}

// cliOptions are the options NewCLI takes.
var cliOptions = []string{"WithBinary", "WithHome", "WithTimeout", "WithRunner"}

// apply applies opts for constructor ctor, which takes the options named
// in allowed; the first option it does not take is the error.
func apply(ctor string, opts []Option, allowed ...string) (settings, error) {
	var s settings
	var err error
	for _, o := range opts {
		if o.apply == nil {
			if err == nil {
				err = fmt.Errorf("pm2: %s: zero Option given", ctor)
			}
			continue
		}
		if !slices.Contains(allowed, o.name) && err == nil {
			err = fmt.Errorf("pm2: %s does not take option %s", ctor, o.name)
		}
		o.apply(&s)
	}
	return s, err
}

// WithBinary sets the pm2 binary: a path, or a name looked up on PATH
// (NewCLI; NewTargets reads TargetConfig.Binary). Default "pm2".
func WithBinary(path string) Option { return Option{"WithBinary", func(s *settings) { s.bin = path }} }

// WithHome sets PM2_HOME for every command (NewCLI; NewTargets reads
// TargetConfig.Home). Default: the PM2_HOME of the environment, else PM2's
// own default $HOME/.pm2.
func WithHome(dir string) Option { return Option{"WithHome", func(s *settings) { s.home = dir }} }

// WithTimeout bounds each command (NewCLI; NewTargets reads
// TargetConfig.CLITimeout). Default DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return Option{"WithTimeout", func(s *settings) { s.timeout = d }}
}

// WithRunner replaces the ExecRunner that runs commands (NewCLI,
// NewTargets: the pm2 commands and node for .js ecosystem files).
func WithRunner(r Runner) Option { return Option{"WithRunner", func(s *settings) { s.runner = r }} }

// WithClient makes NewTargets talk to PM2 through c instead of the client
// the TargetConfig describes (a pm2test.FakeClient in tests and demos).
// TargetConfig.Home is then only used for the dump and daemon checks, and
// only when it is given.
func WithClient(c Client) Option { return Option{"WithClient", func(s *settings) { s.client = c }} }

// WithLogger makes NewTargets log, at debug level, what it builds and what
// it leaves out (NewTargets; default: nothing is logged).
func WithLogger(l *slog.Logger) Option {
	return Option{"WithLogger", func(s *settings) { s.logger = l }}
}

// WithClock sets the clock of the checks and repairs: crash-loop windows,
// stuck bounds, rotated log names, the guard's records (NewTargets;
// default the real clock).
func WithClock(c redundancy.Clock) Option {
	return Option{"WithClock", func(s *settings) { s.clock = c }}
}

// WithStore keeps the known-good process list and the repair ladders'
// progress in store, so that they outlive the process and a one-shot
// recover sees what the monitor recorded (NewTargets; default: a
// MemoryStore shared by the target's checker and recoverer).
func WithStore(store redundancy.Store) Option {
	return Option{"WithStore", func(s *settings) { s.store = store }}
}

// WithName names the system NewTargets builds for (default "pm2"): the
// Group's name, its target's name and the prefix of its notes. Give each
// of several PM2 homes its own.
func WithName(name string) Option { return Option{"WithName", func(s *settings) { s.name = name }} }

// WithMaintenanceWindow says when a daemon above
// TargetConfig.Limits.DaemonMaxMemory may be replaced (NewTargets; see
// Config.MaintenanceWindow). Default: never (alert only).
func WithMaintenanceWindow(inside func(time.Time) bool) Option {
	return Option{"WithMaintenanceWindow", func(s *settings) { s.window = inside }}
}
