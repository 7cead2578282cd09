//go:build !unix

package launch

import (
	"errors"
	"os"
	"syscall"
)

const openFlags = 0

var errNoLock = errors.New("launch: PID file locking is not supported on this system")

func tryLock(*os.File, bool) error { return errNoLock }

func unlock(*os.File) {}

func processExists(int) bool { return false }

func detached() *syscall.SysProcAttr { return nil }
