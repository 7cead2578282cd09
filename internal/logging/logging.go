package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// The log file names of the three modes.
const (
	FileUltimate = "ultimate-redundancy.log"
	FileMaster   = "master-orchestrator.log"
	FileLauncher = "comprehensive-launcher.log"
)

// Options configures New.
type Options struct {
	// Dir and File locate the JSON log file; an empty File writes none.
	Dir, File string
	// MaxSizeMB rotates the file at this size (default 10), MaxAgeDays
	// removes rotated files older than this (default 30), Compress gzips them.
	MaxSizeMB, MaxAgeDays int
	Compress              bool
	// Level is the level of everything without its own (default info).
	Level slog.Level
	// Levels are per-system levels, keyed "pm2", "github", "netlify".
	Levels map[string]slog.Level
	// Terminal, when set, receives the records as text.
	Terminal io.Writer
	// Secrets are values to redact wherever they appear.
	Secrets []string
}

// Logs is a set of loggers sharing one file and one terminal.
type Logs struct {
	base   slog.Handler
	opts   Options
	file   *lumberjack.Logger
	path   string
	red    *Redactor
	logger *slog.Logger
}

// New opens the log file (creating its directory) and returns the loggers.
func New(o Options) (*Logs, error) {
	if o.MaxSizeMB == 0 {
		o.MaxSizeMB = 10
	}
	if o.MaxAgeDays == 0 {
		o.MaxAgeDays = 30
	}
	l := &Logs{opts: o, red: NewRedactor(o.Secrets...)}
	min := o.Level
	for _, lv := range o.Levels {
		if lv < min {
			min = lv
		}
	}
	hopts := &slog.HandlerOptions{Level: min, ReplaceAttr: l.red.ReplaceAttr}
	var hs []slog.Handler
	if o.File != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		l.path = filepath.Join(o.Dir, o.File)
		// Fail now, not at the first record, when the file cannot be written.
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		_ = f.Close()
		l.file = &lumberjack.Logger{Filename: l.path, MaxSize: o.MaxSizeMB, MaxAge: o.MaxAgeDays, Compress: o.Compress, LocalTime: false}
		hs = append(hs, slog.NewJSONHandler(l.file, hopts))
	}
	if o.Terminal != nil {
		hs = append(hs, slog.NewTextHandler(o.Terminal, hopts))
	}
	if len(hs) == 0 {
		l.base = slog.DiscardHandler
	} else {
		l.base = slog.NewMultiHandler(hs...)
	}
	l.logger = slog.New(&levelHandler{h: l.base, level: o.Level})
	return l, nil
}

// Logger returns the logger at the general level.
func (l *Logs) Logger() *slog.Logger { return l.logger }

// For returns the logger of one system: records carry system=<name> and
// pass its own level.
func (l *Logs) For(system string) *slog.Logger {
	lv, ok := l.opts.Levels[system]
	if !ok {
		lv = l.opts.Level
	}
	return slog.New(&levelHandler{h: l.base, level: lv}).With("system", system)
}

// Redactor returns the redactor the handlers use.
func (l *Logs) Redactor() *Redactor { return l.red }

// Path returns the log file's path ("" when there is none).
func (l *Logs) Path() string { return l.path }

// Close closes the log file.
func (l *Logs) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

// levelHandler passes records at or above level to h.
type levelHandler struct {
	h     slog.Handler
	level slog.Leveler
}

func (h *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= h.level.Level() && h.h.Enabled(ctx, lv)
}
func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }
func (h *levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &levelHandler{h: h.h.WithAttrs(as), level: h.level}
}
func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{h: h.h.WithGroup(name), level: h.level}
}
