package pm2_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// holderMarker is on the command line of the port-holding helper.
const holderMarker = "uras-port-holder-marker"

// startHolder starts this test binary as a process outside PM2 that
// listens on a TCP port, and returns it with its port. It exits when the
// test ends (its stdin closes) if nothing killed it before.
func startHolder(t *testing.T) (*exec.Cmd, int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("port holders are found through /proc")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, "-test.run=^TestRunnerHelperProcess$", holderMarker)
	cmd.Env = append(os.Environ(), "URAS_RUNNER_HELPER=listen")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = stdin.Close(); <-waited })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "port ")))
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return cmd, port
}

// addrInUseLog writes an error log ending with Node's EADDRINUSE error.
func addrInUseLog(t *testing.T, port int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "web-error.log")
	msg := fmt.Sprintf("old line\nError: listen EADDRINUSE: address already in use 127.0.0.1:%d\n    at Server.setupListenHandle [as _listen2] (node:net:1908:16)\n", port)
	require.NoError(t, os.WriteFile(path, []byte(msg), 0o644))
	return path
}

func TestPortHeldOutsidePM2(t *testing.T) {
	t.Parallel()
	holder, port := startHolder(t)
	errLog := addrInUseLog(t, port)
	procs := []pm2.Process{{Name: "web", Status: pm2.StatusErrored, ErrLogPath: errLog, StartedAt: t0}}

	check := func(probe pm2.Probe, procs []pm2.Process) redundancy.Report {
		client := fixedList{pm2test.NewFakeClient(), procs}
		return pm2.NewChecker(client, pm2.Config{Apps: []pm2.App{{Name: "web", Probe: &probe}},
			Clock: redundancytest.NewFakeClock(t0.Add(time.Hour)), LogMaxBytes: -1, MinFreeBytes: -1}).Check(context.Background())
	}

	r := check(pm2.Probe{Port: port}, procs)
	assert.Equal(t, []string{"web pm2.errored", "web pm2.port-held"}, problems(r))
	d := details(r)
	assert.Contains(t, d, fmt.Sprintf("port %d is held by pid %d (%s", port, holder.Process.Pid, holder.Path))
	assert.Contains(t, d, holderMarker)
	assert.Contains(t, d, "outside PM2")
	assert.Contains(t, d, "left alone")

	// The holder's parent (this test) is a PM2 process: the holder is in PM2.
	inside := []pm2.Process{{Name: "web", Status: pm2.StatusErrored, ErrLogPath: errLog}, {Name: "other", PID: os.Getpid()}}
	assert.Equal(t, []string{"web pm2.errored"}, problems(check(pm2.Probe{Port: port}, inside)))

	// No EADDRINUSE in the log: nothing is looked up.
	quiet := filepath.Join(t.TempDir(), "quiet.log")
	require.NoError(t, os.WriteFile(quiet, []byte("all good\n"), 0o644))
	assert.Equal(t, []string{"web pm2.errored"}, problems(check(pm2.Probe{Port: port},
		[]pm2.Process{{Name: "web", Status: pm2.StatusErrored, ErrLogPath: quiet}})))

	// Declared ours: the finding says so.
	r = check(pm2.Probe{Port: port, OwnHolders: []string{holderMarker}}, procs)
	assert.Contains(t, details(r), "declared ours: the recoverer may stop it")
}

func TestPortHolderDeclaredOursIsStopped(t *testing.T) {
	t.Parallel()
	holder, port := startHolder(t)
	errLog := addrInUseLog(t, port)
	fake := pm2test.NewFakeClient(pm2.Process{Name: "web", Status: pm2.StatusErrored, ErrLogPath: errLog, StartedAt: t0})
	rep := redundancy.NewReport("", redundancy.Finding{Subject: "web", Problem: pm2.ProblemPortHeld, Status: redundancy.StatusUnhealthy})

	// Not declared ours: nothing is planned, nothing signalled.
	cfg := pm2.Config{Apps: []pm2.App{{Name: "web", Probe: &pm2.Probe{Port: port}}}}
	assert.Empty(t, pm2.PlanOps(context.Background(), pm2.NewRecoverer(fake, cfg), rep))
	cfg.Apps[0].Probe.OwnHolders = []string{"some-other-program"}
	assert.Empty(t, pm2.PlanOps(context.Background(), pm2.NewRecoverer(fake, cfg), rep))
	require.NoError(t, syscall.Kill(holder.Process.Pid, 0), "the holder still runs")

	cfg.Apps[0].Probe.OwnHolders = []string{holderMarker}
	actions := pm2.PlanOps(context.Background(), pm2.NewRecoverer(fake, cfg), rep)
	require.Len(t, actions, 2)
	assert.Equal(t, pm2.VerbStopPortHolder, actions[0].Verb)
	assert.Contains(t, actions[0].Reason, strconv.Itoa(holder.Process.Pid))
	assert.Equal(t, pm2.VerbRestart, actions[1].Verb)
	require.NoError(t, actions[0].Do(context.Background()))
	require.Eventually(t, func() bool { return syscall.Kill(holder.Process.Pid, 0) != nil }, // exited and reaped
		10*time.Second, 10*time.Millisecond)

	// Done already: doing it again signals nothing and succeeds.
	require.NoError(t, actions[0].Do(context.Background()))
	require.NoError(t, actions[1].Do(context.Background()))
}
