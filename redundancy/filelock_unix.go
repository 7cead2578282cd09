//go:build unix

package redundancy

import (
	"errors"
	"os"
	"syscall"
)

// lockOpenFlags are added to every open of a lock file: never block on a
// FIFO, never leak the descriptor (and the lock) to a child.
const lockOpenFlags = syscall.O_NONBLOCK | syscall.O_CLOEXEC

var errWouldBlock = errors.New("lock held elsewhere")

// flock takes an exclusive (or shared) flock on f without waiting.
func flock(f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errWouldBlock
	}
	return err
}

func funlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
