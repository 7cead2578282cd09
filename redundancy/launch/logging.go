package launch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/uras-dev/uras/redundancy"
)

// Rotation says when the JSON log file is rotated and how long rotated
// files are kept. Zero fields take the defaults.
type Rotation struct {
	// MaxSizeMB rotates the file when it reaches this size (default 10).
	MaxSizeMB int
	// MaxAgeDays removes rotated files older than this (default 30).
	MaxAgeDays int
	// MaxBackups keeps at most this many rotated files (default 0: all
	// within MaxAgeDays).
	MaxBackups int
	// Compress gzips rotated files.
	Compress bool
}

// LogOptions configures OpenLogs.
type LogOptions struct {
	// Dir and Name, when both set, write one JSON log file per day:
	// <Dir>/<Name>-YYYY-MM-DD.log (local date), each rotated by size;
	// past days are gzipped (Rotation.Compress) and removed after
	// Rotation.MaxAgeDays. Dir is created.
	Dir, Name string
	// Path, when Dir and Name are not set, is the one JSON log file; ""
	// writes none. Its directory is created.
	Path string
	// Now is the clock that picks the day's file (default time.Now).
	Now func() time.Time
	// Rotation rotates the file.
	Rotation Rotation
	// Level is the level of every logger without its own (zero: info).
	Level slog.Level
	// Levels are the levels of some parts' loggers (Logs.Logger(part)).
	Levels map[string]slog.Level
	// Terminal, when set, also receives the records as text.
	Terminal io.Writer
	// Redactor removes secrets from every record before either output
	// sees it (nil: the patterns only; see redundancy.Redactor).
	Redactor *redundancy.Redactor
}

// Logs is a set of loggers sharing one rotated JSON file (lumberjack) and
// one terminal, each record passed through the redactor.
type Logs struct {
	opts  LogOptions
	base  slog.Handler
	file  *lumberjack.Logger
	daily *dailyFile
	// route maps target names to the part they belong to (SetParts):
	// their records take that part's level and name.
	route atomic.Pointer[map[string]string]
}

// logFileMode is the mode of the log file: the owner writes, the group
// (a log shipper) may read, others nothing.
const logFileMode = 0o640

// OpenLogs opens the log file and returns the loggers. It fails now, not
// at the first record, when the file cannot be written. An existing file
// readable by others is made 0640.
func OpenLogs(o LogOptions) (*Logs, error) {
	if o.Rotation.MaxSizeMB <= 0 {
		o.Rotation.MaxSizeMB = 10
	}
	if o.Rotation.MaxAgeDays <= 0 {
		o.Rotation.MaxAgeDays = 30
	}
	l := &Logs{opts: o}
	lowest := o.Level
	for _, lv := range o.Levels {
		lowest = min(lowest, lv)
	}
	hopts := &slog.HandlerOptions{Level: lowest, ReplaceAttr: o.Redactor.ReplaceAttr}
	if o.Now == nil {
		o.Now = time.Now
	}
	l.opts.Now = o.Now
	var hs []slog.Handler
	if o.Dir != "" && o.Name != "" {
		d, err := openDaily(o.Dir, o.Name, o.Rotation, o.Now)
		if err != nil {
			return nil, err
		}
		l.daily = d
		hs = append(hs, slog.NewJSONHandler(d, hopts))
	} else if o.Path != "" {
		if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
			return nil, fmt.Errorf("launch: logs: %w", err)
		}
		f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, logFileMode)
		if err != nil {
			return nil, fmt.Errorf("launch: logs: %w", err)
		}
		if st, err := f.Stat(); err == nil && st.Mode().Perm()&^logFileMode != 0 {
			_ = f.Chmod(st.Mode().Perm() & logFileMode)
		}
		_ = f.Close()
		l.file = &lumberjack.Logger{Filename: o.Path, MaxSize: o.Rotation.MaxSizeMB, MaxAge: o.Rotation.MaxAgeDays,
			MaxBackups: o.Rotation.MaxBackups, Compress: o.Rotation.Compress}
		hs = append(hs, slog.NewJSONHandler(l.file, hopts))
	}
	if o.Terminal != nil {
		hs = append(hs, slog.NewTextHandler(o.Terminal, hopts))
	}
	switch len(hs) {
	case 0:
		l.base = slog.DiscardHandler
	case 1:
		l.base = hs[0]
	default:
		l.base = slog.NewMultiHandler(hs...)
	}
	return l, nil
}

// Logger returns the logger of one part of the system ("pm2", "github"):
// its records carry part=<name> and pass the part's own level. Logger("")
// is the general logger. A record about a target (a "target" attribute)
// that SetParts placed in a part takes that part's level and name
// instead, so that one orchestrator over several systems still logs each
// system at its own level.
func (l *Logs) Logger(part string) *slog.Logger {
	return slog.New(&levelHandler{logs: l, h: l.base, part: part})
}

// levelOf returns the level of part's records.
func (l *Logs) levelOf(part string) slog.Level {
	if lv, ok := l.opts.Levels[part]; ok {
		return lv
	}
	if lv, ok := l.opts.Levels[partKey(part)]; ok {
		return lv
	}
	return l.opts.Level
}

// SetParts tells the loggers which part each target belongs to: the
// targets of every part that names its targets (Part.Targets), and every
// target of a part's orchestrator otherwise. A target in several parts
// keeps the first.
func (l *Logs) SetParts(parts []Part) {
	m := map[string]string{}
	for _, p := range parts {
		names := p.Targets
		if names == nil && p.Orch != nil {
			names = p.Orch.Names()
		}
		for _, n := range names {
			if _, ok := m[n]; !ok {
				m[n] = p.Name
			}
		}
	}
	l.route.Store(&m)
}

// Path returns the log file's path: today's file when there is one per
// day ("" when there is none).
func (l *Logs) Path() string {
	if l.daily != nil {
		return l.daily.Path()
	}
	return l.opts.Path
}

// Close closes the log file.
func (l *Logs) Close() error {
	switch {
	case l.daily != nil:
		return l.daily.Close()
	case l.file != nil:
		return l.file.Close()
	}
	return nil
}

// levelHandler passes the records at or above its part's level to h,
// adding part=<name> (see Logs.Logger).
type levelHandler struct {
	logs   *Logs
	h      slog.Handler
	part   string
	target string // a "target" bound with With
}

func (h *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	if !h.h.Enabled(ctx, lv) {
		return false
	}
	if lv >= h.logs.levelOf(h.part) {
		return true
	}
	// A routed target's part may log lower: Handle decides.
	route := h.logs.route.Load()
	if route == nil {
		return false
	}
	if h.target != "" {
		p, ok := (*route)[h.target]
		return ok && lv >= h.logs.levelOf(p)
	}
	for _, p := range *route {
		if lv >= h.logs.levelOf(p) {
			return true
		}
	}
	return false
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	part := h.part
	if route := h.logs.route.Load(); route != nil {
		target := h.target
		if target == "" {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "target" {
					target = a.Value.String()
					return false
				}
				return true
			})
		}
		if p, ok := (*route)[target]; ok && target != "" {
			part = p
		}
	}
	if r.Level < h.logs.levelOf(part) {
		return nil
	}
	if part != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("part", part))
	}
	return h.h.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.h = h.h.WithAttrs(as)
	for _, a := range as {
		if a.Key == "target" {
			c.target = a.Value.String()
		}
	}
	return &c
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.h = h.h.WithGroup(name)
	return &c
}

// The environment variables of the log levels.
const (
	// EnvLogLevel sets the level of every logger: DEBUG, INFO, WARN or ERROR.
	EnvLogLevel = "REDUNDANCY_LOG_LEVEL"
	// envPartLevelSuffix ends the variable of one part's level:
	// PM2_REDUNDANCY_LOG_LEVEL sets the level of Logger("pm2").
	envPartLevelSuffix = "_" + EnvLogLevel
)

// PartLevelEnv returns the environment variable that sets one part's log
// level: PM2_REDUNDANCY_LOG_LEVEL for "pm2", MY_APP_REDUNDANCY_LOG_LEVEL
// for "my-app".
func PartLevelEnv(part string) string {
	return strings.ToUpper(partKey(part)) + envPartLevelSuffix
}

// partKey is the form of a part name that levels are kept under: lower
// case, "-" and "." as "_", as an environment variable can spell it.
func partKey(part string) string {
	return strings.ToLower(strings.NewReplacer("-", "_", ".", "_").Replace(part))
}

// ParseLevel reads a level name: DEBUG, INFO, WARN (or WARNING) or ERROR,
// in any case, optionally with an offset (INFO+2).
func ParseLevel(s string) (slog.Level, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if strings.HasPrefix(t, "WARNING") {
		t = "WARN" + strings.TrimPrefix(t, "WARNING")
	}
	var lv slog.Level
	if t == "" || lv.UnmarshalText([]byte(t)) != nil {
		return 0, fmt.Errorf("bad log level %q (want DEBUG, INFO, WARN or ERROR)", s)
	}
	return lv, nil
}

// levelsFromEnv applies REDUNDANCY_LOG_LEVEL and every
// <PART>_REDUNDANCY_LOG_LEVEL of env over the settings' levels, keyed by
// partKey. A bad value is an error naming the variable.
func levelsFromEnv(env []string, s *Settings) error {
	levels := make(map[string]slog.Level, len(s.Levels))
	for part, lv := range s.Levels {
		levels[partKey(part)] = lv
	}
	s.Levels = levels
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || val == "" {
			continue
		}
		switch {
		case name == EnvLogLevel:
			lv, err := ParseLevel(val)
			if err != nil {
				return fmt.Errorf("environment %s: %w", name, err)
			}
			s.Level = lv
		case strings.HasSuffix(name, envPartLevelSuffix) && len(name) > len(envPartLevelSuffix):
			lv, err := ParseLevel(val)
			if err != nil {
				return fmt.Errorf("environment %s: %w", name, err)
			}
			s.Levels[partKey(strings.TrimSuffix(name, envPartLevelSuffix))] = lv
		}
	}
	return nil
}
