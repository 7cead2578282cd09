package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errLocked is tryLock's error for a lock held elsewhere.
var errLocked = errors.New("locked")

// errAlreadyRunning is wrapped by pidFile.lock's error when a monitor
// holds the file.
var errAlreadyRunning = errors.New("already running")

// pidFile is the monitor's PID file. The monitor holds an exclusive
// flock(2) on it for its whole life, so of several monitors started at
// once exactly one runs; the file holds its pid. A reader believes the
// file only when the process it names can be proved to be that monitor:
// on Linux, the process has this very file open (/proc/<pid>/fd), which
// no stranger that merely reused the pid has, and the file is locked (a
// stranger reading the file has it open too, but holds no lock);
// elsewhere, the lock is held. A stale file (the monitor died) never leads to a signal.
type pidFile struct {
	path string
}

// pidFileLimit bounds what is read of a PID file.
const pidFileLimit = 64

// lockPatience is how long lock waits for a brief holder of the lock (a
// stale-file cleanup) before concluding that a monitor holds it.
const lockPatience = 200 * time.Millisecond

// maxPID is the largest pid Linux hands out (PID_MAX_LIMIT on 64 bits).
const maxPID = 1 << 22

// parsePID reads the content of a PID file: a decimal pid, optionally
// surrounded by white space.
func parsePID(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || pid > maxPID || s[0] == '+' {
		return 0, fmt.Errorf("garbled content %q", clip(string(b), 20))
	}
	return pid, nil
}

// owner is what a PID file says.
type owner struct {
	// PID is the monitor's pid when Running; else the pid the file names (0 if none).
	PID int
	// Running: the file names a live process proved to be our monitor.
	Running bool
	// Stale says why an existing file does not name a running monitor;
	// "" when there is no file, or it is Running.
	Stale string
}

// owner reads the file and proves (or not) that it names our monitor.
func (p pidFile) owner() (owner, error) {
	f, err := os.OpenFile(p.path, os.O_RDONLY|openFlags, 0)
	if errors.Is(err, os.ErrNotExist) {
		return owner{}, nil
	}
	if err != nil {
		return owner{}, fmt.Errorf("PID file %s: %w", p.path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return owner{}, fmt.Errorf("PID file %s: %w", p.path, err)
	}
	if !st.Mode().IsRegular() {
		return owner{Stale: fmt.Sprintf("not a regular file (%s)", st.Mode().Type())}, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, pidFileLimit))
	if err != nil {
		return owner{}, fmt.Errorf("PID file %s: %w", p.path, err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		// A monitor that has just taken the lock writes its pid next.
		if locked(f) {
			return owner{Stale: "being written"}, nil
		}
		return owner{Stale: "empty"}, nil
	}
	pid, err := parsePID(b)
	if err != nil {
		return owner{Stale: err.Error()}, nil
	}
	ok, why := ownedBy(pid, f, st)
	if !ok {
		return owner{PID: pid, Stale: why}, nil
	}
	return owner{PID: pid, Running: true}, nil
}

// lock makes this process the monitor: it takes the exclusive lock
// (without waiting for a monitor: errAlreadyRunning, naming its pid;
// a brief holder such as a stale-file cleanup is waited for) and writes
// its pid. The lock is held until release.
func (p pidFile) lock() (*pidLock, error) {
	if err := os.MkdirAll(filepath.Dir(p.path), 0o750); err != nil {
		return nil, fmt.Errorf("PID file: %w", err)
	}
	deadline := time.Now().Add(lockPatience)
	for {
		f, err := os.OpenFile(p.path, os.O_RDWR|os.O_CREATE|openFlags, 0o644)
		if err != nil {
			return nil, fmt.Errorf("PID file %s: %w", p.path, err)
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			_ = f.Close()
			return nil, fmt.Errorf("PID file %s: not a regular file", p.path)
		}
		err = tryLock(f, true)
		if errors.Is(err, errLocked) {
			_ = f.Close()
			if time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			o, _ := p.owner()
			if o.PID > 0 {
				return nil, fmt.Errorf("%w (pid %d, PID file %s)", errAlreadyRunning, o.PID, p.path)
			}
			return nil, fmt.Errorf("%w (PID file %s is locked)", errAlreadyRunning, p.path)
		}
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("PID file %s: lock: %w", p.path, err)
		}
		// The file may have been removed (by the monitor that held it) or
		// replaced between open and lock: then this lock guards nothing.
		if !samePath(f, p.path) {
			_ = f.Close()
			continue
		}
		if err := f.Truncate(0); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("PID file %s: %w", p.path, err)
		}
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("PID file %s: %w", p.path, err)
		}
		_ = f.Sync()
		return &pidLock{f: f, path: p.path}, nil
	}
}

// pidLock is a held PID file.
type pidLock struct {
	f    *os.File
	path string
}

// release removes the file (while still holding the lock, so that no
// other monitor can be holding a lock on it) and then releases the lock.
func (l *pidLock) release() {
	if samePath(l.f, l.path) {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
}

// removeStale removes a file no monitor holds. It reports whether it did.
func (p pidFile) removeStale() bool {
	f, err := os.OpenFile(p.path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if tryLock(f, true) != nil {
		return false // a monitor holds it, or is taking it
	}
	if !samePath(f, p.path) {
		return false
	}
	return os.Remove(p.path) == nil
}

// samePath reports whether path still names the file f has open.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// locked reports whether another open file holds a lock on f's file.
func locked(f *os.File) bool {
	g, err := os.OpenFile(f.Name(), os.O_RDONLY|openFlags, 0)
	if err != nil {
		return false
	}
	defer g.Close()
	if !samePath(g, f.Name()) {
		return false
	}
	err = tryLock(g, false)
	if err == nil {
		unlock(g)
		return false
	}
	return errors.Is(err, errLocked)
}

// ownedBy reports whether pid is the monitor holding the PID file f (whose
// stat is st), and if not, why.
func ownedBy(pid int, f *os.File, st os.FileInfo) (bool, string) {
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(fds)
	switch {
	case err == nil:
		for _, e := range entries {
			if fst, err := os.Stat(filepath.Join(fds, e.Name())); err == nil && os.SameFile(fst, st) {
				// Having the file open is not enough (a `tail -f` of it
				// has it open too): the monitor also holds its lock.
				if locked(f) {
					return true, ""
				}
				return false, fmt.Sprintf("pid %d is another process (it has the PID file open but does not hold the lock)", pid)
			}
		}
		if zombie(pid) {
			return false, fmt.Sprintf("pid %d has exited", pid)
		}
		return false, fmt.Sprintf("pid %d is another process (it does not hold the PID file)", pid)
	case errors.Is(err, os.ErrNotExist):
		if _, perr := os.Stat("/proc/self/fd"); perr == nil {
			return false, fmt.Sprintf("pid %d is not running", pid)
		}
	case errors.Is(err, os.ErrPermission):
		return false, fmt.Sprintf("pid %d is another user's process", pid)
	}
	// No /proc: the lock says whether a monitor runs; trust the pid it wrote.
	if locked(f) && processExists(pid) {
		return true, ""
	}
	return false, fmt.Sprintf("pid %d does not hold the lock", pid)
}

// zombie reports whether pid has exited and not been reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] == 'Z' || b[i+2] == 'X'
	}
	return false
}

// errNotOurs is returned by signal when the process is not our monitor.
var errNotOurs = errors.New("the process is not this monitor")

// signal sends sig to the monitor pid after proving, on a handle that
// cannot be redirected to another process (a pidfd on Linux), that pid
// is the process holding the PID file.
func (p pidFile) signal(proc *os.Process, sig syscall.Signal) error {
	o, err := p.owner()
	if err != nil {
		return err
	}
	if !o.Running || o.PID != proc.Pid {
		return errNotOurs
	}
	return proc.Signal(sig)
}

// exited reports whether the process of proc has ended (or is a zombie).
func exited(proc *os.Process) bool {
	err := proc.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) || zombie(proc.Pid)
}
