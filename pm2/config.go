package pm2

import (
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// App is an app the checker expects PM2 to run, with its own limits.
type App struct {
	// Name is the PM2 app name (every instance of a cluster shares it).
	Name string
	// StopOK declares that the app may be stopped: no finding then.
	StopOK bool
	// MaxMemoryBytes is the memory limit per process; 0 takes
	// Config.MaxMemoryBytes.
	MaxMemoryBytes uint64
	// MaxCPUPercent is the CPU limit per process; 0 takes Config.MaxCPUPercent.
	MaxCPUPercent float64
	// Probe, when set, checks that the app really serves while PM2 says it
	// is online (a TCP port or an HTTP URL), and finds who holds its port
	// when it cannot bind it. Nil: PM2's word is taken.
	Probe *Probe
}

// Config configures the Checker and the Recoverer; give both the same one.
// Zero fields take the defaults given beside them.
type Config struct {
	// Apps are the apps expected to run. When empty, every process the
	// daemon lists is checked and none can be missing.
	Apps []App
	// Home is PM2_HOME, for the dump and daemon log checks and for
	// restoring the dump. Empty: those checks are skipped.
	Home string
	// Ecosystem is the ecosystem file (.json, .yaml, .yml, .js, .cjs) that
	// declares the apps: checked when set, and used to start missing apps.
	Ecosystem string
	// Node is the node binary used to load .js ecosystem files. Default "node".
	Node string
	// Runner runs node for .js ecosystem files. Default ExecRunner.
	Runner Runner

	// CrashLoopRestarts restarts within CrashLoopWindow make a crash loop.
	// Default 5.
	CrashLoopRestarts int
	// CrashLoopWindow, default 5m.
	CrashLoopWindow time.Duration
	// StuckAfter bounds launching, stopping and waiting restart. Default 1m.
	StuckAfter time.Duration
	// MaxMemoryBytes is the default memory limit per process; 0: none.
	MaxMemoryBytes uint64
	// MaxCPUPercent is the default CPU limit per process; 0: none.
	MaxCPUPercent float64
	// CPUChecks is how many consecutive checks over the CPU limit make a
	// finding. Default 3.
	CPUChecks int

	// LogMaxBytes limits each process's out and error log. Default 10 MiB;
	// negative: no log size check.
	LogMaxBytes int64
	// DaemonLogMaxBytes limits PM2_HOME/pm2.log. Default 10 MiB; negative: none.
	DaemonLogMaxBytes int64
	// MinFreeBytes is the floor of free space on the log volume. Default
	// 256 MiB; negative: no disk check.
	MinFreeBytes int64
	// LogKeep and LogKeepFor bound the rotated logs kept beside each log:
	// at most LogKeep files (default 30), none older than LogKeepFor
	// (default 30 days).
	LogKeep    int
	LogKeepFor time.Duration
	// LogDirs are directories, besides Home, under which the apps' logs
	// may be rotated. A log the daemon reports outside Home and LogDirs is
	// never rotated: when it is too large the finding is
	// ProblemLogOutsideDirs, for people to act on.
	LogDirs []string

	// DaemonMaxMemoryBytes bounds the PM2 daemon's own resident memory
	// (its God process leaks over weeks): above it, a
	// ProblemDaemonMemoryHigh finding. 0: not watched. Needs Home.
	DaemonMaxMemoryBytes uint64
	// MaintenanceWindow says whether a moment is inside a maintenance
	// window. A daemon above DaemonMaxMemoryBytes is replaced (pm2 update,
	// which restarts the daemon and resurrects its apps) only inside one,
	// and only while every expected app is fine. Nil: alert only.
	MaintenanceWindow func(time.Time) bool

	// Clock tells the time (crash-loop windows, stuck bounds, rotated log
	// names). Default the real clock.
	Clock redundancy.Clock

	// The guard (see Guard in guard.go and the ladders in ladder.go).

	// Store keeps the known-good process list (KnownGoodList) and the
	// repair ladders' progress. Give the Checker and the Recoverer the same
	// Store: the Checker records the list, the Recoverer restores from it.
	// Nil: each keeps its own in memory, which the other does not see and
	// which does not outlive the process.
	Store redundancy.Store
	// KnownGoodHistory is how many versions of the known-good list are
	// kept. Default DefaultKnownGoodHistory.
	KnownGoodHistory int
	// DaemonTimeout bounds the daemon's answer to a ping, apart from the
	// check's own timeout: a daemon that does not answer within it is
	// hung. Default DefaultDaemonTimeout.
	DaemonTimeout time.Duration
	// SaveSettle is how long a guarded save waits for the expected apps to
	// come online before it refuses. Default DefaultSaveSettle; negative:
	// no wait.
	SaveSettle time.Duration
	// RestartTries is how many recovery attempts restart an app before
	// the ladder deletes and re-adds it. Default DefaultRestartTries.
	RestartTries int
	// LadderReset forgets a ladder rung tried longer ago than this.
	// Default DefaultLadderReset.
	LadderReset time.Duration
}

// The defaults zero Config fields take.
const (
	DefaultCrashLoopRestarts = 5
	DefaultCrashLoopWindow   = 5 * time.Minute
	DefaultStuckAfter        = time.Minute
	DefaultCPUChecks         = 3
	DefaultLogMaxBytes       = 10 << 20
	DefaultDaemonLogMaxBytes = 10 << 20
	DefaultMinFreeBytes      = 256 << 20
	DefaultLogKeep           = 30
	DefaultLogKeepFor        = 30 * 24 * time.Hour
	DefaultEcosystemTimeout  = 10 * time.Second
	DefaultDaemonTimeout     = 3 * time.Second
	DefaultSaveSettle        = 5 * time.Second
	DefaultRestartTries      = 3
	DefaultLadderReset       = 30 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.Node == "" {
		c.Node = "node"
	}
	if c.Runner == nil {
		c.Runner = ExecRunner{}
	}
	if c.CrashLoopRestarts <= 0 {
		c.CrashLoopRestarts = DefaultCrashLoopRestarts
	}
	if c.CrashLoopWindow <= 0 {
		c.CrashLoopWindow = DefaultCrashLoopWindow
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = DefaultStuckAfter
	}
	if c.CPUChecks <= 0 {
		c.CPUChecks = DefaultCPUChecks
	}
	if c.LogMaxBytes == 0 {
		c.LogMaxBytes = DefaultLogMaxBytes
	}
	if c.DaemonLogMaxBytes == 0 {
		c.DaemonLogMaxBytes = DefaultDaemonLogMaxBytes
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = DefaultMinFreeBytes
	}
	if c.LogKeep <= 0 {
		c.LogKeep = DefaultLogKeep
	}
	if c.LogKeepFor <= 0 {
		c.LogKeepFor = DefaultLogKeepFor
	}
	if c.Clock == nil {
		c.Clock = redundancy.RealClock{}
	}
	if c.Store == nil {
		c.Store = redundancy.NewMemoryStore()
	}
	if c.KnownGoodHistory <= 0 {
		c.KnownGoodHistory = DefaultKnownGoodHistory
	}
	if c.DaemonTimeout <= 0 {
		c.DaemonTimeout = DefaultDaemonTimeout
	}
	if c.SaveSettle == 0 {
		c.SaveSettle = DefaultSaveSettle
	}
	if c.RestartTries <= 0 {
		c.RestartTries = DefaultRestartTries
	}
	if c.LadderReset <= 0 {
		c.LadderReset = DefaultLadderReset
	}
	return c
}

// app returns the expected app named name.
func (c Config) app(name string) (App, bool) {
	for _, a := range c.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// appNames returns the expected apps' names.
func (c Config) appNames() []string {
	names := make([]string, len(c.Apps))
	for i, a := range c.Apps {
		names[i] = a.Name
	}
	return names
}
