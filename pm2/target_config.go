package pm2

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// TargetConfig describes the PM2 target of one PM2_HOME: what NewTargets
// builds it from, and the pm2 section of a launcher's YAML file (its yaml
// keys are given beside the fields). NewTargets turns it into the Config
// of the Checker and the Recoverer, and the client (CLI or Native) that
// Client asks for.
type TargetConfig struct {
	// Optional makes a home with nothing to watch a note instead of a
	// target: no daemon running, and none that ran and left its pid file,
	// its socket or a dump of apps to bring back (yaml: optional).
	Optional bool `yaml:"optional"`
	// Home is PM2_HOME (yaml: home; default $PM2_HOME, else ~/.pm2, as
	// pm2 itself). The dump and daemon checks look at it.
	Home string `yaml:"home"`
	// Binary is the pm2 binary (yaml: binary; default pm2 on PATH).
	Binary string `yaml:"binary"`
	// Client is auto (default), native or cli (yaml: client; see
	// OpenClient). With the native client the target follows the daemon's
	// events (Target.Source).
	Client ClientMode `yaml:"client"`
	// Ecosystem is the ecosystem file: checked, and used to start missing
	// apps (yaml: ecosystem).
	Ecosystem string `yaml:"ecosystem"`
	// Node is the node binary that loads .js ecosystem files (yaml: node;
	// default node on PATH).
	Node string `yaml:"node"`
	// CLITimeout bounds one pm2 command (yaml: cli_timeout; default
	// DefaultTimeout).
	CLITimeout time.Duration `yaml:"cli_timeout"`
	// RPCTimeout bounds one call on the daemon's socket (yaml:
	// rpc_timeout; default DefaultNativeTimeout).
	RPCTimeout time.Duration `yaml:"rpc_timeout"`
	// LogDirs are directories, besides the home, whose app logs may be
	// rotated (yaml: log_dirs; see Config.LogDirs).
	LogDirs []string `yaml:"log_dirs"`
	// Apps are the apps expected to run (yaml: apps); empty: every app the
	// daemon knows is expected online.
	Apps []AppConfig `yaml:"apps"`
	// Limits are the checks' limits (yaml: limits).
	Limits LimitsConfig `yaml:"limits"`
	// Guard tunes the guard of the process list (yaml: guard).
	Guard GuardConfig `yaml:"guard"`
	// Policy is the target's policy (yaml: policy). A launcher's loader
	// lays it over the file's default policy.
	Policy redundancy.PolicyConfig `yaml:"policy"`
	// Critical: false makes the target non-critical: its failure warns
	// but never fails the whole (yaml: critical; default true; see
	// redundancy.Target.Criticality).
	Critical *bool `yaml:"critical"`
	// Alerts says when the target's alerts page (yaml: alerts). A
	// launcher's loader lays it over the file's alerts keys.
	Alerts redundancy.AlertPolicyConfig `yaml:"alerts"`
}

// AppConfig is an app expected to run (see App).
type AppConfig struct {
	Name   string `yaml:"name"` // required
	StopOK bool   `yaml:"stop_ok"`
	// MaxMemory is the memory limit per process (yaml: max_memory, such as
	// 512MB; or max_memory_mb); unset: the limits'.
	MaxMemory     Size    `yaml:"max_memory"`
	MaxMemoryMB   uint64  `yaml:"max_memory_mb"`
	MaxCPUPercent float64 `yaml:"max_cpu_percent"`
	// Probe checks that the app really serves while PM2 says online.
	Probe *Probe `yaml:"probe"`
}

// LimitsConfig are the checks' limits; zero takes Config's defaults. Sizes
// take a unit (10MB, 512KiB, 1G); each *_mb key is the older way to give
// the size beside it, in MiB.
type LimitsConfig struct {
	MaxMemory         Size          `yaml:"max_memory"` // per process; unset: none
	MaxMemoryMB       uint64        `yaml:"max_memory_mb"`
	MaxCPUPercent     float64       `yaml:"max_cpu_percent"`
	CPUChecks         int           `yaml:"cpu_checks"` // consecutive checks over the CPU limit
	CrashLoopRestarts int           `yaml:"crash_loop_restarts"`
	CrashLoopWindow   time.Duration `yaml:"crash_loop_window"`
	StuckAfter        time.Duration `yaml:"stuck_after"`
	LogMax            Size          `yaml:"log_max"` // each app log; "off": not checked
	LogMaxMB          int64         `yaml:"log_max_mb"`
	MinFree           Size          `yaml:"min_free"` // free space on the log volume; "off": not checked
	MinFreeMB         int64         `yaml:"min_free_mb"`
	DaemonLogMax      Size          `yaml:"daemon_log_max"`    // PM2_HOME/pm2.log; "off": not checked
	DaemonMaxMemory   Size          `yaml:"daemon_max_memory"` // the daemon's resident memory; unset: not watched
	LogKeep           int           `yaml:"log_keep"`          // rotated files kept per log
	LogKeepFor        time.Duration `yaml:"log_keep_for"`      // drop rotated files older
}

// GuardConfig tunes the guard of the process list (see Config).
type GuardConfig struct {
	KnownGoodHistory int           `yaml:"known_good_history"`
	DaemonTimeout    time.Duration `yaml:"daemon_timeout"`
	SaveSettle       time.Duration `yaml:"save_settle"` // negative: no wait
	RestartTries     int           `yaml:"restart_tries"`
	LadderReset      time.Duration `yaml:"ladder_reset"`
}

// Validate reports the first bad value: an unknown client mode, an app
// without a name or given twice, a size given both with a unit and in MiB,
// "off" where it means nothing, a negative count or duration, an empty log
// directory, a bad probe, a bad policy or alerts key. The error wraps a
// *redundancy.ConfigError naming the key ("apps[0].probe").
func (c *TargetConfig) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("pm2: %w", &redundancy.ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if _, err := ParseClientMode(string(c.Client)); err != nil {
		return bad("client", "unknown client %q (want auto, native or cli)", c.Client)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"cli_timeout", c.CLITimeout}, {"rpc_timeout", c.RPCTimeout}, {"limits.crash_loop_window", c.Limits.CrashLoopWindow},
		{"limits.stuck_after", c.Limits.StuckAfter}, {"limits.log_keep_for", c.Limits.LogKeepFor},
		{"guard.daemon_timeout", c.Guard.DaemonTimeout}, {"guard.ladder_reset", c.Guard.LadderReset},
	} {
		if d.v < 0 {
			return bad(d.key, "negative duration %s", d.v)
		}
	}
	l := c.Limits
	for _, pair := range []struct {
		key, old string
		size     Size
		mb       int64
		offOK    bool
	}{
		{"limits.log_max", "log_max_mb", l.LogMax, l.LogMaxMB, true},
		{"limits.min_free", "min_free_mb", l.MinFree, l.MinFreeMB, true},
		{"limits.max_memory", "max_memory_mb", l.MaxMemory, int64(min(l.MaxMemoryMB, math.MaxInt64>>20)), false},
		{"limits.daemon_log_max", "", l.DaemonLogMax, 0, true},
		{"limits.daemon_max_memory", "", l.DaemonMaxMemory, 0, false},
	} {
		if pair.size != 0 && pair.mb != 0 { // a negative *_mb (off, as before) counts as given
			return bad(pair.key, "give %s or %s, not both", pair.key[strings.LastIndexByte(pair.key, '.')+1:], pair.old)
		}
		if pair.size == SizeOff && !pair.offOK {
			return bad(pair.key, `"off" is not allowed here (leave it out for no limit)`)
		}
		if pair.size < SizeOff {
			return bad(pair.key, "may not be negative")
		}
	}
	for _, f := range []struct {
		key string
		v   int
	}{
		{"limits.log_keep", l.LogKeep}, {"limits.cpu_checks", l.CPUChecks}, {"limits.crash_loop_restarts", l.CrashLoopRestarts},
		{"guard.known_good_history", c.Guard.KnownGoodHistory}, {"guard.restart_tries", c.Guard.RestartTries},
	} {
		if f.v < 0 {
			return bad(f.key, "may not be negative")
		}
	}
	if l.MaxCPUPercent < 0 {
		return bad("limits.max_cpu_percent", "may not be negative")
	}
	for i, d := range c.LogDirs {
		if strings.TrimSpace(d) == "" {
			return bad(fmt.Sprintf("log_dirs[%d]", i), "empty directory")
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Apps {
		key := fmt.Sprintf("apps[%d]", i)
		switch {
		case strings.TrimSpace(a.Name) == "":
			return bad(key+".name", "required")
		case seen[a.Name]:
			return bad(key+".name", "duplicate app %q", a.Name)
		case a.MaxMemory != 0 && a.MaxMemoryMB != 0:
			return bad(key+".max_memory", "give max_memory or max_memory_mb, not both")
		case a.MaxMemory < 0:
			return bad(key+".max_memory", `"off" is not allowed here (leave it out for no limit)`)
		case a.MaxCPUPercent < 0:
			return bad(key+".max_cpu_percent", "may not be negative")
		}
		seen[a.Name] = true
		if a.Probe != nil {
			if err := a.Probe.Validate(); err != nil {
				return bad(key+".probe", "%s", strings.TrimPrefix(err.Error(), "pm2: probe: "))
			}
		}
	}
	if err := c.Policy.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("pm2: %w", ce.Under("policy"))
		}
		return fmt.Errorf("pm2: policy: %w", err)
	}
	if err := c.Alerts.Validate(); err != nil {
		if ce, ok := err.(*redundancy.ConfigError); ok {
			return fmt.Errorf("pm2: %w", ce.Under("alerts"))
		}
		return fmt.Errorf("pm2: alerts: %w", err)
	}
	return nil
}

// criticality returns the target's criticality: NonCritical for
// critical: false.
func (c *TargetConfig) criticality() redundancy.Criticality {
	if c.Critical != nil && !*c.Critical {
		return redundancy.NonCritical
	}
	return redundancy.Critical
}

// config returns the Config of the Checker and the Recoverer for home.
func (c *TargetConfig) config(home string) Config {
	l := c.Limits
	pc := Config{
		Home:                 home,
		Ecosystem:            c.Ecosystem,
		Node:                 c.Node,
		LogDirs:              c.LogDirs,
		CrashLoopRestarts:    l.CrashLoopRestarts,
		CrashLoopWindow:      l.CrashLoopWindow,
		StuckAfter:           l.StuckAfter,
		MaxMemoryBytes:       uint64(max(l.MaxMemory.bytes(int64(min(l.MaxMemoryMB, math.MaxInt64>>20))), 0)),
		MaxCPUPercent:        l.MaxCPUPercent,
		CPUChecks:            l.CPUChecks,
		LogMaxBytes:          l.LogMax.bytes(l.LogMaxMB),
		DaemonLogMaxBytes:    l.DaemonLogMax.bytes(0),
		MinFreeBytes:         l.MinFree.bytes(l.MinFreeMB),
		LogKeep:              l.LogKeep,
		LogKeepFor:           l.LogKeepFor,
		DaemonMaxMemoryBytes: uint64(max(l.DaemonMaxMemory.bytes(0), 0)),
		KnownGoodHistory:     c.Guard.KnownGoodHistory,
		DaemonTimeout:        c.Guard.DaemonTimeout,
		SaveSettle:           c.Guard.SaveSettle,
		RestartTries:         c.Guard.RestartTries,
		LadderReset:          c.Guard.LadderReset,
	}
	for _, a := range c.Apps {
		pc.Apps = append(pc.Apps, App{Name: a.Name, StopOK: a.StopOK, MaxCPUPercent: a.MaxCPUPercent, Probe: a.Probe,
			MaxMemoryBytes: uint64(max(a.MaxMemory.bytes(int64(min(a.MaxMemoryMB, math.MaxInt64>>20))), 0))})
	}
	return pc
}
