// Package logging builds the example commands' loggers: structured
// log/slog records as JSON to a rotated file (gopkg.in/natefinch/lumberjack.v2:
// 10 MB per file, 30 days, compressed) and as text to a terminal, one level
// for everything and optionally one per system ("pm2", "github",
// "netlify"). A slog ReplaceAttr redactor (Redactor) removes tokens and
// anything that looks like a secret before a record reaches either
// handler.
package logging
