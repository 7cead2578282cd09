//go:build unix

package pm2

import (
	"fmt"
	"syscall"
	"time"
)

// pauseWait bounds how long PauseDaemon waits for the daemon to stop.
const pauseWait = time.Second

// PauseDaemon returns a RotateOptions.Pause that stops the PM2 daemon of
// home (SIGSTOP) for the instant RotateLog reads a log's last bytes and
// truncates it, then lets it go on (SIGCONT). The daemon writes every
// process's log and its own, so nothing is lost; the apps meanwhile block
// at most on a full pipe. The PID comes from home/pm2.pid and, on Linux,
// is proven to be the daemon of home first (elsewhere the pause fails). When the daemon is not running the
// pause does nothing.
func PauseDaemon(home string) func() (func(), error) {
	return func() (func(), error) {
		pid, err := daemonPID(home)
		if err != nil {
			return nil, fmt.Errorf("pause pm2 daemon: %w", err)
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return nil, fmt.Errorf("pause pm2 daemon %d: %w", pid, err)
		}
		resume := func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
		// SIGSTOP lands asynchronously: a write the daemon has under way
		// when kill returns still reaches the log. Wait until it is stopped.
		if !waitStopped(pid, pauseWait) {
			resume()
			return nil, fmt.Errorf("pause pm2 daemon %d: not stopped within %s", pid, pauseWait)
		}
		return resume, nil
	}
}

// continueDaemon sends SIGCONT to the PM2 daemon of home, which wakes it if
// it was left stopped (by a pause cut short, or by hand) and does nothing
// to a running one.
func continueDaemon(home string) error {
	pid, err := daemonPID(home)
	if err != nil {
		return fmt.Errorf("continue pm2 daemon: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		return fmt.Errorf("continue pm2 daemon %d: %w", pid, err)
	}
	return nil
}

// daemonPID is the pid in home/pm2.pid once proven to be the PM2 daemon
// of home (on Linux: its title names home and it started before the pid
// file was written; elsewhere nothing proves it, and nothing is
// signalled), so that a stale pid file never gets a stranger signalled.
func daemonPID(home string) (int, error) {
	return provenDaemonPID(home)
}
