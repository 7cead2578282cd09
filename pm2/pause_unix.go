//go:build unix

package pm2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// PauseDaemon returns a RotateOptions.Pause that stops the PM2 daemon of
// home (SIGSTOP) for the instant RotateLog reads a log's last bytes and
// truncates it, then lets it go on (SIGCONT). The daemon writes every
// process's log and its own, so nothing is lost; the apps meanwhile block
// at most on a full pipe. The PID comes from home/pm2.pid and, on Linux,
// is checked to be a PM2 daemon first. When the daemon is not running the
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
		return func() { _ = syscall.Kill(pid, syscall.SIGCONT) }, nil
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

// daemonPID reads home/pm2.pid and, on Linux, checks that the process is a
// PM2 daemon (its title names PM2), so a recycled pid is never signalled.
func daemonPID(home string) (int, error) {
	path := filepath.Join(home, PIDFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad pid file %s", path)
	}
	if runtime.GOOS == "linux" {
		title, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !strings.Contains(string(title), "PM2") {
			return 0, errors.New("pid " + strconv.Itoa(pid) + " is not a running PM2 daemon")
		}
	}
	return pid, nil
}
