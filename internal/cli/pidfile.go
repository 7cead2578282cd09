package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/uras-dev/uras/internal/fsutil"
)

// ErrAlreadyRunning is returned by Acquire when the PID file names a live
// process.
var ErrAlreadyRunning = errors.New("already running")

// PIDFile is the file holding the process id of the running monitor.
type PIDFile struct {
	Path string
}

// Read returns the pid in the file; a missing file is an error wrapping
// os.ErrNotExist, a garbled one an error naming it.
func (p PIDFile) Read() (int, error) {
	b, err := os.ReadFile(p.Path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("PID file %s: garbled content %q", p.Path, clip(string(b), 20))
	}
	return pid, nil
}

// Running returns the pid of the live process the file names, or 0 and
// whether the file was stale (names a dead process or is garbled).
func (p PIDFile) Running() (pid int, stale bool) {
	pid, err := p.Read()
	if errors.Is(err, os.ErrNotExist) {
		return 0, false
	}
	if err != nil || !Alive(pid) {
		return 0, true
	}
	return pid, false
}

// Acquire writes the current pid to the file. It refuses, with an error
// wrapping ErrAlreadyRunning, when the file names another live process;
// a stale file (dead process, garbled content) is replaced. The returned
// function removes the file if it still holds this pid.
func (p PIDFile) Acquire() (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o755); err != nil {
		return nil, err
	}
	self := os.Getpid()
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(p.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, werr := f.WriteString(strconv.Itoa(self) + "\n")
			cerr := f.Close()
			if err := errors.Join(werr, cerr); err != nil {
				_ = os.Remove(p.Path)
				return nil, err
			}
			return func() { p.removeIf(self) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		pid, stale := p.Running()
		if pid == self {
			return func() { p.removeIf(self) }, nil
		}
		if pid > 0 {
			return nil, fmt.Errorf("%w (pid %d, PID file %s)", ErrAlreadyRunning, pid, p.Path)
		}
		if stale {
			_ = os.Remove(p.Path)
		}
	}
	// Lost a race with another starter: rewrite atomically only if still free.
	if pid, _ := p.Running(); pid > 0 {
		return nil, fmt.Errorf("%w (pid %d, PID file %s)", ErrAlreadyRunning, pid, p.Path)
	}
	if err := fsutil.WriteFileAtomic(p.Path, []byte(strconv.Itoa(self)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return func() { p.removeIf(self) }, nil
}

func (p PIDFile) removeIf(pid int) {
	if got, err := p.Read(); err == nil && got == pid {
		_ = os.Remove(p.Path)
	}
}

// Alive reports whether pid is a live process (a zombie is not).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true // no /proc: trust kill(0)
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
