package launch

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// followEvery is how often logs -follow looks for new lines.
const followEvery = 250 * time.Millisecond

// tailWindow bounds what logs reads of one file to find its last lines.
const tailWindow = 32 << 20

// logs prints the end of the log (today's file, and earlier days' when
// it holds too few lines) as aligned text, or as JSON with -json, keeps
// printing what is appended with -follow (or "logs follow"), across
// rotations and days, and filters by part (-system) and level (-level).
func (a *app[C]) logs(ctx context.Context, args []string) int {
	fs := a.flags("logs")
	n := fs.Int("n", 50, "print the last `N` lines")
	follow := fs.Bool("follow", false, "keep printing new lines until interrupted (also: logs follow)")
	asJSON := fs.Bool("json", false, "print the JSON records as they are")
	systems := fs.String("system", "", "only the records of these `parts`, comma-separated (pm2,github; - for the general ones)")
	level := fs.String("level", "", "only the records at or above this `level` (DEBUG, INFO, WARN, ERROR)")
	if len(args) > 0 && args[0] == "follow" {
		*follow = true
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	switch rest := fs.Args(); {
	case len(rest) == 1 && rest[0] == "follow":
		*follow = true
	case len(rest) > 0:
		fmt.Fprintf(a.stderr, "%s: unexpected argument %q (want: logs [follow] [-n N] [-json] [-system LIST] [-level LEVEL])\n", fs.Name(), rest[0])
		return ExitUsage
	}
	if *n < 0 {
		fmt.Fprintf(a.stderr, "%s: logs: -n must not be negative\n", a.cmd.Name)
		return ExitUsage
	}
	f := logFilter{}
	if *level != "" {
		lv, err := ParseLevel(*level)
		if err != nil {
			fmt.Fprintf(a.stderr, "%s: logs: -level: %v\n", a.cmd.Name, err)
			return ExitUsage
		}
		f.level = &lv
	}
	for _, s := range strings.Split(*systems, ",") {
		switch s = strings.TrimSpace(s); s {
		case "":
		case "-":
			f.parts = append(f.parts, "-")
		default:
			f.parts = append(f.parts, partKey(s))
		}
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	p := logPrinter{w: a.stdout, json: *asJSON, filter: f}
	files := dayFiles(c.set.LogDir, a.logName())
	if len(files) == 0 && !*follow {
		return a.fail("logs: no log file %s in %s", a.logFile(), c.set.LogDir)
	}
	var lines [][]byte
	var off int64
	for i := len(files) - 1; i >= 0 && len(lines) < *n; i-- {
		got, size, err := lastRecords(files[i], *n-len(lines), p.keep)
		if err != nil {
			return a.fail("logs: %v", err)
		}
		if i == len(files)-1 {
			off = size
		}
		lines = append(got, lines...)
	}
	for _, l := range lines {
		p.print(l)
	}
	if !*follow {
		return ExitOK
	}
	cur := ""
	if len(files) > 0 {
		cur = files[len(files)-1]
	}
	a.followFiles(ctx, c.set.LogDir, cur, off, &p)
	return ExitOK
}

// lastRecords returns the last n lines of the file at path that keep
// accepts (reading at most its last tailWindow bytes), and its size.
func lastRecords(path string, n int, keep func([]byte) bool) ([][]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	start := max(size-tailWindow, 0)
	buf := make([]byte, size-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	if start > 0 { // drop the partial first line
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var out [][]byte
	for rest := bytes.TrimRight(buf, "\n"); len(rest) > 0 && len(out) < n; {
		i := bytes.LastIndexByte(rest, '\n')
		line := rest[i+1:]
		rest = rest[:max(i, 0)]
		if keep(line) {
			out = append(out, line)
		}
		if i < 0 {
			break
		}
	}
	slices.Reverse(out)
	return out, size, nil
}

// followFiles prints what is appended to the newest daily log file until
// ctx ends: it reads a file that shrank or was replaced (rotated by size)
// from its start, and moves to the next day's file when one appears.
func (a *app[C]) followFiles(ctx context.Context, dir, path string, off int64, p *logPrinter) {
	var cur os.FileInfo
	if path != "" {
		cur, _ = os.Stat(path)
	}
	var pending []byte
	read := func(path string, st os.FileInfo) {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return
		}
		b, _ := io.ReadAll(io.LimitReader(f, st.Size()-off))
		off += int64(len(b))
		pending = append(pending, b...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			if line := pending[:i]; p.keep(line) {
				p.print(line)
			}
			pending = pending[i+1:]
		}
		_ = a.stdout.Flush()
	}
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if files := dayFiles(dir, a.logName()); len(files) > 0 && files[len(files)-1] > path {
			if st, err := os.Stat(path); path != "" && err == nil && st.Size() > off {
				read(path, st) // the end of the previous day
			}
			path, cur, off, pending = files[len(files)-1], nil, 0, nil
		}
		if path == "" {
			continue
		}
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if cur != nil && (!os.SameFile(cur, st) || st.Size() < off) {
			fmt.Fprintf(a.stderr, "%s: logs: %s was rotated\n", a.cmd.Name, path)
			off, pending = 0, nil
		}
		cur = st
		if st.Size() > off {
			read(path, st)
		}
	}
}

// logFilter selects records by part and level.
type logFilter struct {
	parts []string    // partKey forms; "-" is the general part
	level *slog.Level // at or above
}

func (f logFilter) active() bool { return len(f.parts) > 0 || f.level != nil }

// logPrinter prints records as text (or JSON) through the filter.
type logPrinter struct {
	w      io.Writer
	json   bool
	filter logFilter
}

// keep reports whether line passes the filter. A line that is not a JSON
// record passes only when there is no filter.
func (p *logPrinter) keep(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return false
	}
	if !p.filter.active() {
		return true
	}
	rec, ok := parseRecord(line)
	if !ok {
		return false
	}
	if p.filter.level != nil {
		lv, err := ParseLevel(rec.level)
		if err != nil || lv < *p.filter.level {
			return false
		}
	}
	if len(p.filter.parts) > 0 {
		part := partKey(rec.part)
		if part == "" {
			part = "-"
		}
		if !slices.Contains(p.filter.parts, part) {
			return false
		}
	}
	return true
}

func (p *logPrinter) print(line []byte) {
	if p.json {
		fmt.Fprintf(p.w, "%s\n", line)
		return
	}
	rec, ok := parseRecord(line)
	if !ok {
		fmt.Fprintln(p.w, sanitize(string(line)))
		return
	}
	fmt.Fprintln(p.w, rec.text())
}
