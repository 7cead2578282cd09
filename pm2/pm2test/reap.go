package pm2test

// Leaving no daemon behind.
//
// A test that ends normally kills its daemon in t.Cleanup. A test binary
// that dies first (killed by go test's -timeout, a panic elsewhere, a
// SIGKILL) runs no cleanup, and its PM2 daemon and apps would run on. Two
// nets catch them:
//
//   - a watchdog: StartDaemon starts this test binary again as a small
//     process (in its own process group, deaf to SIGINT, SIGTERM and
//     SIGHUP) that holds the read end of a pipe whose write end only the
//     test process holds. When the test process ends, however it ends, the
//     pipe closes and the watchdog reaps the daemon's directory, then exits;
//   - at the first StartDaemon of a process, the temporary directory is
//     scanned for directories of earlier runs whose owner (the pid and
//     start time recorded in the directory) is gone, and they are reaped.
//
// Reaping signals only processes proven to belong to the directory: the
// daemon named by its pm2.pid whose title is "PM2 ...: God Daemon (<home>)"
// (or as much of it as Node could write) and whose environment holds
// PM2_HOME=<home>, and processes whose command line names the directory or whose
// environment holds PM2_HOME=<home>.

import (
	"io"
	"os"
	"os/exec"
	ossignal "os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

const (
	// dirPrefix starts the name of every directory StartDaemon makes.
	dirPrefix = "uras-pm2-"
	// ownerFile, in that directory, records the test process: "pid start".
	ownerFile = "owner"
	// envWatchdog, set to a directory, makes this package's init run the
	// watchdog of that directory instead of the program.
	envWatchdog = "URAS_PM2TEST_WATCHDOG"
)

func init() {
	if dir := os.Getenv(envWatchdog); dir != "" {
		watchdog(dir)
		os.Exit(0)
	}
}

// watchdog waits for its stdin to close (the test process is gone), then
// reaps dir.
func watchdog(dir string) {
	ossignal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	_, _ = io.Copy(io.Discard, os.Stdin)
	reapDir(dir)
}

// startWatchdog starts the watchdog of dir and returns the pipe end whose
// closing sets it off, and the watchdog to wait for. It returns nil, nil
// when it cannot start (the reap at the next StartDaemon remains).
func startWatchdog(dir string) (io.WriteCloser, *exec.Cmd) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil
	}
	cmd := exec.Command(self, "-test.run=^$") // the flag only matters if init is skipped
	cmd.Env = append(os.Environ(), envWatchdog+"="+dir)
	cmd.SysProcAttr = newGroup()
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil
	}
	if err := cmd.Start(); err != nil {
		return nil, nil
	}
	return w, cmd
}

// writeOwner records this process as dir's owner.
func writeOwner(dir string) error {
	start, ok := startTime(os.Getpid())
	if !ok {
		return nil // no /proc: only the watchdog guards the directory
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+" "+strconv.FormatUint(start, 10)+"\n"), 0o600)
}

// ownerGone reports whether dir records an owner that no longer runs (no
// such pid, or a pid now used by another process). A directory without an
// owner file is not known to be ours: false.
func ownerGone(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return false
	}
	now, ok := startTime(pid)
	return !ok || now != start
}

var reapOnce sync.Once

// reapOrphans reaps the directories in tmp left by test processes that
// are gone.
func reapOrphans(tmp string) (reaped []string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		dir := filepath.Join(tmp, e.Name())
		if e.IsDir() && strings.HasPrefix(e.Name(), dirPrefix) && ownerGone(dir) {
			reapDir(dir)
			reaped = append(reaped, dir)
		}
	}
	return reaped
}

// reapDir kills the PM2 daemon and the apps of dir (only processes proven
// to be them) and removes dir.
func reapDir(dir string) {
	home := filepath.Join(dir, "h")
	if pid := pidFromFile(filepath.Join(home, pm2PIDFile)); pid > 0 && isDaemonOf(pid, home) && hasHome(pid, home) {
		_ = signal(pid, sigKill)
	}
	for _, pid := range processesOf(dir, home) {
		_ = signal(pid, sigKill)
	}
	_ = os.RemoveAll(dir)
}

const pm2PIDFile = "pm2.pid"

func pidFromFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// isDaemonOf reports whether pid runs the PM2 daemon of home: its title is
// "PM2 v7.0.4: God Daemon (<home>)", cut short when longer than the
// daemon's original command line (Node cannot write more), so what it
// shows after the parenthesis must be a prefix of "<home>)".
func isDaemonOf(pid int, home string) bool {
	_, shown, ok := strings.Cut(cmdline(pid), "God Daemon (")
	shown = strings.TrimRight(shown, " ")
	return ok && shown != "" && strings.HasPrefix(home+")", shown)
}
