package pm2

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// logDirs returns the directories whose logs may be rotated: Home and
// LogDirs, the ones that exist, with symbolic links resolved.
func (c Config) logDirs() []string {
	var out []string
	for _, d := range append([]string{c.Home}, c.LogDirs...) {
		if d == "" {
			continue
		}
		if r, err := filepath.EvalSymlinks(d); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// within resolves path's symbolic links and reports whether the file lies
// strictly under one of dirs (which must be resolved already), and the
// resolved path.
func within(path string, dirs []string) (string, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", false
	}
	for _, d := range dirs {
		rel, err := filepath.Rel(d, real)
		if err == nil && rel != "." && !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return real, true
		}
	}
	return real, false
}

// openWithin opens path for RotateLog, refusing a file outside dirs; with
// no dirs it opens path as it is. The file opened is checked to be the one
// that was resolved, so a symbolic link swapped in between is refused.
func openWithin(path string, dirs []string) (*os.File, error) {
	if len(dirs) == 0 {
		return os.OpenFile(path, os.O_RDWR, 0)
	}
	var resolved []string
	for _, d := range dirs {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			if r, err = filepath.Abs(r); err == nil {
				resolved = append(resolved, r)
			}
		}
	}
	real, ok := within(path, resolved)
	if !ok {
		return nil, fmt.Errorf("%w: outside %s", ErrLogOutsideDirs, strings.Join(dirs, ", "))
	}
	before, err := os.Lstat(real)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(real, os.O_RDWR|noFollow, 0)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s changed while being opened", ErrLogOutsideDirs, real)
	}
	return f, nil
}

// ErrLogOutsideDirs is wrapped by RotateLog's error for a log that lies
// outside RotateOptions.Within.
var ErrLogOutsideDirs = fmt.Errorf("pm2: log outside the directories it may be rotated in")

// rotateWithin returns RotateOptions.Within for the logs of this
// configuration: Home and LogDirs (none set: nil, and RotateLog checks
// nothing, so callers rotate only what the checker reported as
// ProblemLogLarge or ProblemDaemonLogLarge).
func (c Config) rotateWithin() []string {
	var out []string
	for _, d := range append([]string{c.Home}, c.LogDirs...) {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}
