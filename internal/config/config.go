package config

import (
	"fmt"
	"log/slog"
	"strings"
)

// Config is the whole configuration. Paths are relative to the current
// directory. A nil provider section is not watched.
type Config struct {
	// File is where the configuration was read from; "" for the embedded
	// default.
	File string `yaml:"-"`

	Logs   Logs   `yaml:"logs"`
	State  State  `yaml:"state"`
	Listen string `yaml:"listen"` // the health endpoint of monitor (host:port)
	// ListenTokenEnv names the variable holding the endpoint's bearer
	// token (default URAS_ENDPOINT_TOKEN); required when listen is not a
	// loopback address.
	ListenTokenEnv string `yaml:"listen_token_env"`
	// ListenToken is read from the environment (ListenTokenEnv), never
	// from the file.
	ListenToken string `yaml:"-"`
	// Policy is the default policy of every target; each section's policy
	// overrides it field by field.
	Policy Policy `yaml:"policy"`

	PM2     *PM2     `yaml:"pm2"`
	GitHub  *GitHub  `yaml:"github"`
	Netlify *Netlify `yaml:"netlify"`
	Alerts  Alerts   `yaml:"alerts"`
}

// Logs says where logs go and how much is logged.
type Logs struct {
	Dir   string `yaml:"dir"`   // default "logs"
	Level Level  `yaml:"level"` // default info; REDUNDANCY_LOG_LEVEL overrides
	// Levels sets one system's level ("pm2", "github", "netlify");
	// <SYSTEM>_REDUNDANCY_LOG_LEVEL overrides.
	Levels     map[string]Level `yaml:"levels"`
	MaxSizeMB  int              `yaml:"max_size_mb"`  // rotate at; default 10
	MaxAgeDays int              `yaml:"max_age_days"` // keep rotated files; default 30
	Compress   *bool            `yaml:"compress"`     // gzip rotated files; default true
}

// State says where the PID file, the persisted orchestrator state, the
// status file and escalation reports are kept.
type State struct {
	Dir string `yaml:"dir"` // default ".uras"
}

// PM2 configures the PM2 target.
type PM2 struct {
	// Optional makes an absent pm2 binary or daemon a note instead of a
	// failure (the embedded default is optional).
	Optional  bool      `yaml:"optional"`
	Home      string    `yaml:"home"`      // PM2_HOME; default $PM2_HOME, else ~/.pm2
	Binary    string    `yaml:"binary"`    // default: pm2 on PATH
	Client    string    `yaml:"client"`    // auto (default), native or cli
	Ecosystem string    `yaml:"ecosystem"` // ecosystem file: checked, and used to start missing apps
	Apps      []PM2App  `yaml:"apps"`      // empty: every app the daemon knows is expected online
	Limits    PM2Limits `yaml:"limits"`
	Policy    *Policy   `yaml:"policy"`
	// Node is the node binary that loads .js ecosystem files; default node on PATH.
	Node string `yaml:"node"`
	// CLITimeout bounds one pm2 command; default 30s.
	CLITimeout Duration `yaml:"cli_timeout"`
	// RPCTimeout bounds one call on the daemon's socket; default 10s.
	RPCTimeout Duration `yaml:"rpc_timeout"`
	// LogDirs are directories, besides the home, whose app logs may be
	// rotated; a log elsewhere is reported, never rotated.
	LogDirs []string `yaml:"log_dirs"`
}

// PM2App is an app expected to run.
type PM2App struct {
	Name          string  `yaml:"name"` // required
	StopOK        bool    `yaml:"stop_ok"`
	MaxMemoryMB   uint64  `yaml:"max_memory_mb"`
	MaxCPUPercent float64 `yaml:"max_cpu_percent"`
	MaxMemory     Size    `yaml:"max_memory"` // 512MB; instead of max_memory_mb
	// Probe checks that the app really serves while PM2 says online.
	Probe *PM2Probe `yaml:"probe"`
}

// PM2Limits are the PM2 checker's limits; zero takes pm2's defaults.
type PM2Limits struct {
	MaxMemoryMB       uint64   `yaml:"max_memory_mb"`
	MaxCPUPercent     float64  `yaml:"max_cpu_percent"`
	CrashLoopRestarts int      `yaml:"crash_loop_restarts"`
	CrashLoopWindow   Duration `yaml:"crash_loop_window"`
	StuckAfter        Duration `yaml:"stuck_after"`
	LogMaxMB          int64    `yaml:"log_max_mb"`
	MinFreeMB         int64    `yaml:"min_free_mb"`
	// Sizes in any unit (10MB, 512KiB, 1G); each instead of its *_mb key.
	MaxMemory Size `yaml:"max_memory"`
	LogMax    Size `yaml:"log_max"`  // each app log; "off": not checked
	MinFree   Size `yaml:"min_free"` // free space on the log volume; "off": not checked
	// DaemonLogMax bounds PM2_HOME/pm2.log; default 10MiB; "off": not checked.
	DaemonLogMax Size `yaml:"daemon_log_max"`
	// DaemonMaxMemory bounds the PM2 daemon's resident memory; unset: not watched.
	DaemonMaxMemory Size     `yaml:"daemon_max_memory"`
	LogKeep         int      `yaml:"log_keep"`     // rotated files kept per log; default 30
	LogKeepFor      Duration `yaml:"log_keep_for"` // drop rotated files older; default 720h
	CPUChecks       int      `yaml:"cpu_checks"`   // consecutive checks over the CPU limit; default 3
}

// GitHub configures the GitHub Actions targets: the local workflow files
// of a checkout, and each repository through the API.
type GitHub struct {
	Optional bool `yaml:"optional"`
	// Checkout is the directory whose .github/workflows files are
	// validated and restored from backups; "" skips the file check.
	Checkout  string  `yaml:"checkout"`
	BackupDir string  `yaml:"backup_dir"` // default <state dir>/workflow-backup
	TokenEnv  string  `yaml:"token_env"`  // default GITHUB_TOKEN
	APIURL    string  `yaml:"api_url"`    // default https://api.github.com/
	Repos     []Repo  `yaml:"repos"`
	Policy    *Policy `yaml:"policy"`

	// Token is read from the environment (TokenEnv), never from the file.
	Token string `yaml:"-"`
}

// Repo is one repository watched through the API.
type Repo struct {
	Owner                  string   `yaml:"owner"`  // required
	Name                   string   `yaml:"name"`   // required
	Branch                 string   `yaml:"branch"` // required
	Workflows              []string `yaml:"workflows"`
	BackupWorkflow         string   `yaml:"backup_workflow"`
	MaxReruns              int      `yaml:"max_reruns"`
	EnableManuallyDisabled bool     `yaml:"enable_manually_disabled"`
}

// Netlify configures the Netlify target of one site.
type Netlify struct {
	Optional     bool    `yaml:"optional"`
	SiteID       string  `yaml:"site_id"`        // deploy checks and recovery need it (and a token)
	SiteURL      string  `yaml:"site_url"`       // probes are relative to it
	FunctionsDir string  `yaml:"functions_dir"`  // manifest checks and regeneration
	Manifest     string  `yaml:"manifest"`       // default .netlify/functions/manifest.json
	BuildHookEnv string  `yaml:"build_hook_env"` // variable holding the build hook URL (a credential)
	TokenEnv     string  `yaml:"token_env"`      // default NETLIFY_AUTH_TOKEN
	APIURL       string  `yaml:"api_url"`        // default https://api.netlify.com/api/v1
	MaxRebuilds  int     `yaml:"max_rebuilds"`
	Probes       []Probe `yaml:"probes"`
	Policy       *Policy `yaml:"policy"`

	// Token and BuildHookURL are read from the environment, never from the file.
	Token        string `yaml:"-"`
	BuildHookURL string `yaml:"-"`
}

// Probe is one function endpoint to probe.
type Probe struct {
	Name         string   `yaml:"name"` // required
	Path         string   `yaml:"path"`
	URL          string   `yaml:"url"`
	Method       string   `yaml:"method"`
	ExpectStatus int      `yaml:"expect_status"`
	BodyContains string   `yaml:"body_contains"`
	Timeout      Duration `yaml:"timeout"`
}

// Alerts configures where events are sent (ultimate mode).
type Alerts struct {
	Webhooks []Webhook `yaml:"webhooks"`
}

// Webhook is one alert receiver: its URL, or the variable holding it
// (webhook URLs often carry a secret).
type Webhook struct {
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
}

// Level is a log level name: debug, info, warn or error (any case).
type Level string

// Parse returns the slog level; "" is info.
func (l Level) Parse() (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(string(l))) {
	case "", "INFO":
		return slog.LevelInfo, nil
	case "DEBUG":
		return slog.LevelDebug, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("bad log level %q (want DEBUG, INFO, WARN or ERROR)", string(l))
}

// Systems are the names of the watched systems, as used by Logs.Levels.
var Systems = []string{"pm2", "github", "netlify"}
