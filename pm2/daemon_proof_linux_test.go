//go:build linux

package pm2_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

// impostor starts a process whose whole command line is title (cat on a
// pipe that stays open), the way PM2's daemon shows its title, and stops
// it with the test.
func impostor(t *testing.T, title string) int {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cat, err := exec.LookPath("cat")
	require.NoError(t, err)
	cmd := &exec.Cmd{Path: cat, Args: []string{title}, Stdin: r}
	require.NoError(t, cmd.Start())
	_ = r.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = w.Close()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		return strings.TrimRight(string(b), "\x00") == title
	}, 5*time.Second, 5*time.Millisecond, "the impostor shows its title")
	return pid
}

// procState is the state letter of /proc/<pid>/stat (R, S, T, Z, ...).
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	require.NoError(t, err)
	i := strings.LastIndexByte(string(b), ')')
	require.Greater(t, len(b), i+2)
	return b[i+2]
}

// A pm2.pid left by a daemon that died (kill -9 leaves it) names a pid
// that was given to another process since: even one titled as this home's
// daemon is never signalled (no SIGSTOP to pause it, no SIGCONT, no
// SIGKILL), because it started after the pid file was written.
func TestStalePIDFileNeverSignalsAProcessStartedAfterIt(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	pid := impostor(t, "PM2 v7.0.4: God Daemon ("+home+")")
	pidFile := filepath.Join(home, pm2.PIDFile)
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(pid)), 0o600))
	old := time.Now().Add(-time.Hour) // written by a daemon an hour ago
	require.NoError(t, os.Chtimes(pidFile, old, old))

	resume, err := pm2.PauseDaemon(home)()
	if resume != nil {
		resume()
	}
	require.Error(t, err, "no pause of a process started after pm2.pid")
	assert.NotEqual(t, byte('T'), procState(t, pid), "not stopped")

	// Stopped by someone else: the hung-daemon ladder neither wakes it
	// (SIGCONT) nor kills it.
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	require.Eventually(t, func() bool { return procState(t, pid) == 'T' }, 5*time.Second, 5*time.Millisecond)
	err = killRung(t, home)
	require.ErrorContains(t, err, "started after")
	assert.True(t, processAlive(pid))
	assert.Equal(t, byte('T'), procState(t, pid), "no SIGCONT either")
}

// PauseDaemon stops only the daemon of its own home: a process titled as
// the PM2 daemon of another home (its pid in this home's pm2.pid) is not
// stopped, and the hung-daemon ladder does not wake it.
func TestPauseDaemonNeedsTheDaemonOfItsHome(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	pid := impostor(t, "PM2 v7.0.4: God Daemon (/elsewhere/.pm2)")
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.PIDFile), []byte(strconv.Itoa(pid)), 0o600))

	resume, err := pm2.PauseDaemon(home)()
	if resume != nil {
		resume()
	}
	require.Error(t, err)
	assert.NotEqual(t, byte('T'), procState(t, pid), "the other home's daemon is not stopped")

	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	require.Eventually(t, func() bool { return procState(t, pid) == 'T' }, 5*time.Second, 5*time.Millisecond)
	err = killRung(t, home)
	require.ErrorContains(t, err, "is not the PM2 daemon of "+home)
	assert.Equal(t, byte('T'), procState(t, pid), "no SIGCONT to another home's daemon")
}
