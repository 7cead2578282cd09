//go:build unix

package pm2test

import (
	"errors"
	"syscall"
)

const (
	sigKill = syscall.SIGKILL
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
)

func signal(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// exists reports whether a process with pid exists (zombies included).
func exists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || !errors.Is(err, syscall.ESRCH)
}
