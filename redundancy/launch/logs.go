package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// followEvery is how often logs -follow looks for new lines.
const followEvery = 250 * time.Millisecond

// logs prints the end of the log file, and with -follow keeps printing
// what is appended (across rotations) until interrupted.
func (a *app[C]) logs(ctx context.Context, args []string) int {
	fs := a.flags("logs")
	n := fs.Int("n", 50, "print the last `N` lines")
	follow := fs.Bool("follow", false, "keep printing new lines until interrupted")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *n < 0 {
		fmt.Fprintf(a.stderr, "%s: logs: -n must not be negative\n", a.cmd.Name)
		return ExitUsage
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	path := filepath.Join(c.set.LogDir, a.logFile())
	f, err := os.Open(path)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && *follow) {
		return a.fail("logs: %v", err)
	}
	var off int64
	if f != nil {
		off, err = tail(f, a.stdout, *n)
		_ = f.Close()
		if err != nil {
			return a.fail("logs: %v", err)
		}
	}
	if !*follow {
		return ExitOK
	}
	a.followFile(ctx, path, off)
	return ExitOK
}

// tail writes the last n lines of f and returns the offset after them.
func tail(f *os.File, w io.Writer, n int) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file", f.Name())
	}
	size := st.Size()
	const chunk = 64 << 10
	start := size
	lines := 0
	buf := make([]byte, chunk)
	for start > 0 && lines <= n {
		step := min(int64(chunk), start)
		start -= step
		if _, err := f.ReadAt(buf[:step], start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := step - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				lines++
				if lines > n {
					start += i + 1
					break
				}
			}
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := io.CopyN(w, f, size-start); err != nil {
		return 0, err
	}
	return size, nil
}

// followFile polls path for new data until ctx ends; a file that shrank
// or was replaced (rotation) is read from its start.
func (a *app[C]) followFile(ctx context.Context, path string, off int64) {
	var cur os.FileInfo
	if st, err := os.Stat(path); err == nil {
		cur = st
	}
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if cur == nil || !os.SameFile(cur, st) || st.Size() < off {
			if cur != nil {
				fmt.Fprintf(a.stderr, "%s: logs: %s was rotated\n", a.cmd.Name, path)
			}
			off = 0
		}
		cur = st
		if st.Size() == off {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if _, err := f.Seek(off, io.SeekStart); err == nil {
			nw, _ := io.Copy(a.stdout, io.LimitReader(f, st.Size()-off))
			off += nw
		}
		_ = f.Close()
		_ = a.stdout.Flush()
	}
}
