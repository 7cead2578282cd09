//go:build linux

package pm2test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

// reapInfo is what the helper test process tells about its daemon.
type reapInfo struct {
	Dir      string `json:"dir"`
	Daemon   int    `json:"daemon"`
	App      int    `json:"app"`
	Watchdog int    `json:"watchdog"`
}

// TestReapHelperProcess is the test process that dies: it starts a daemon
// and waits to be killed.
func TestReapHelperProcess(t *testing.T) {
	if os.Getenv("URAS_PM2TEST_REAP_HELPER") == "" {
		t.Skip("helper process for the reaper tests")
	}
	d := StartDaemon(t, App{Name: "web", Script: AppUp})
	web := d.WaitStatus(t, "web", pm2.StatusOnline, 30*time.Second)
	b, _ := json.Marshal(reapInfo{Dir: d.Dir, Daemon: d.daemonPID(), App: web.PID, Watchdog: d.watchdog.Process.Pid})
	fmt.Println(string(b))
	_, _ = io.Copy(io.Discard, os.Stdin) // until killed (or the parent goes)
}

// startDoomed runs TestReapHelperProcess with its temporary directory in
// tmp and returns it with what it started.
func startDoomed(t *testing.T, tmp string, flags ...string) (*exec.Cmd, reapInfo) {
	t.Helper()
	FindPM2(t)
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, append([]string{"-test.run=^TestReapHelperProcess$", "-test.v"}, flags...)...)
	cmd.Env = append(os.Environ(), "URAS_PM2TEST_REAP_HELPER=1", "TMPDIR="+tmp)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	var info reapInfo
	for sc.Scan() {
		if json.Unmarshal(sc.Bytes(), &info) == nil && info.Dir != "" {
			break
		}
	}
	require.NotEmpty(t, info.Dir, "the helper told nothing (%v)", sc.Err())
	go func() { _, _ = io.Copy(io.Discard, out) }()
	require.True(t, alive(info.Daemon) && alive(info.App) && alive(info.Watchdog), "%+v", info)
	return cmd, info
}

// privateTemp returns a short temporary directory of the test's own, so
// that reaping never looks at other tests' daemons.
func privateTemp(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "uras-reap-")
	require.NoError(t, err)
	t.Cleanup(func() {
		reapOrphans(tmp) // whatever a failed test left
		_ = os.RemoveAll(tmp)
	})
	return tmp
}

func requireReaped(t *testing.T, info reapInfo) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := os.Stat(info.Dir)
		return !alive(info.Daemon) && !alive(info.App) && os.IsNotExist(err)
	}, 60*time.Second, 50*time.Millisecond, "daemon %d or app %d still alive, or %s still there", info.Daemon, info.App, info.Dir)
}

// TestWatchdogReapsKilledTestsDaemon: the test process is SIGKILLed (no
// cleanup runs); its watchdog kills the daemon and the app and removes the
// directory.
func TestWatchdogReapsKilledTestsDaemon(t *testing.T) {
	t.Parallel()
	cmd, info := startDoomed(t, privateTemp(t))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	requireReaped(t, info)
	require.Eventually(t, func() bool { return !alive(info.Watchdog) }, 10*time.Second, 20*time.Millisecond)
}

// TestWatchdogReapsTimedOutTestsDaemon: go test's -timeout panics the
// test binary, which exits without running any cleanup (the case the
// issue saw leave a daemon for 70 minutes).
func TestWatchdogReapsTimedOutTestsDaemon(t *testing.T) {
	t.Parallel()
	cmd, info := startDoomed(t, privateTemp(t), "-test.timeout=10s")
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode(), "the test binary panicked on its timeout")
	requireReaped(t, info)
}

// TestStartDaemonReapsOrphans: the watchdog is gone too (killed with the
// test process); the next run's reap finds the directory's owner dead and
// reaps it, and leaves alone what it cannot prove is an orphan of ours.
func TestStartDaemonReapsOrphans(t *testing.T) {
	t.Parallel()
	tmp := privateTemp(t)
	cmd, info := startDoomed(t, tmp)
	require.NoError(t, syscall.Kill(info.Watchdog, syscall.SIGKILL))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.True(t, alive(info.Daemon), "the daemon outlived its test: the case to reap")

	// Beside it: a directory whose owner lives (this process), one with no
	// owner file, and an orphan whose pid file names a process that is not
	// a PM2 daemon.
	live, err := os.MkdirTemp(tmp, dirPrefix)
	require.NoError(t, err)
	require.NoError(t, writeOwner(live))
	noOwner, err := os.MkdirTemp(tmp, dirPrefix)
	require.NoError(t, err)
	stranger := exec.Command("sleep", "60")
	require.NoError(t, stranger.Start())
	t.Cleanup(func() { _ = stranger.Process.Kill(); _ = stranger.Wait() })
	fake, err := os.MkdirTemp(tmp, dirPrefix)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(fake, ownerFile), []byte("1 1\n"), 0o600)) // pid 1 started later: gone
	require.NoError(t, os.Mkdir(filepath.Join(fake, "h"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(fake, "h", pm2PIDFile), []byte(strconv.Itoa(stranger.Process.Pid)), 0o600))

	reaped := reapOrphans(tmp)
	assert.ElementsMatch(t, []string{info.Dir, fake}, reaped)
	requireReaped(t, info)
	assert.True(t, alive(stranger.Process.Pid), "a process that is not the daemon is never signalled")
	assert.DirExists(t, live)
	assert.DirExists(t, noOwner)
}
