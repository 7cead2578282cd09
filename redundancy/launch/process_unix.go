//go:build unix

package launch

import (
	"errors"
	"os"
	"syscall"
)

// openFlags are added to every open of the PID file: never block on a
// FIFO, never leak the descriptor (and the lock) to a child.
const openFlags = syscall.O_NONBLOCK | syscall.O_CLOEXEC

// tryLock takes an exclusive (or shared) flock on f without waiting; a
// lock held elsewhere is errLocked.
func tryLock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlock releases f's flock.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// processExists reports whether a process pid exists (kill -0).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// detached is how start runs the monitor: in a session of its own, so
// the terminal's signals and hang-up do not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
