package launch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// Timings of start and stop.
const (
	// pollEvery is how often start and stop look at the PID file and the
	// process.
	pollEvery = 50 * time.Millisecond
	// forceWait is how long stop waits after its second SIGTERM (which
	// makes the monitor stop waiting for in-flight work) before SIGKILL.
	forceWait = 10 * time.Second
	// killWait is how long stop waits for a SIGKILLed monitor to go.
	killWait = 5 * time.Second
)

// start runs the monitor detached: it re-executes this program with the
// monitor verb (an argument vector, no shell) in a new session, its
// output appended to <log dir>/<name>.out, and waits until the monitor
// holds the PID file. Of several concurrent starts exactly one monitor
// runs; the others exit 4.
func (a *app[C]) start(ctx context.Context, args []string) int {
	fs := a.flags("start")
	listen := fs.String("listen", "", "endpoint `address` (default: the configuration's)")
	hooksListen := fs.String("hooks-listen", "", "webhook deliveries' `address` (default: the configuration's hooks_listen)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the monitor to come up")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	pf := a.pidFile(c.set)
	if o, err := pf.owner(); err != nil {
		return a.fail("start: %v", err)
	} else if o.Running {
		fmt.Fprintf(a.stderr, "%s: already running (pid %d, PID file %s)\n", a.cmd.Name, o.PID, pf.path)
		return ExitAlreadyRunning
	}
	exe, err := os.Executable()
	if err != nil {
		return a.fail("start: %v", err)
	}
	argv := []string{"monitor", "-detached"}
	if a.configPath != "" {
		abs, err := filepath.Abs(a.configPath)
		if err != nil {
			return a.fail("start: %v", err)
		}
		argv = append([]string{"-config", abs}, argv...)
	}
	if *listen != "" {
		argv = append(argv, "-listen", *listen)
	}
	if *hooksListen != "" {
		argv = append(argv, "-hooks-listen", *hooksListen)
	}
	if err := os.MkdirAll(c.set.LogDir, 0o750); err != nil {
		return a.fail("start: %v", err)
	}
	outPath := filepath.Join(c.set.LogDir, a.cmd.Name+".out")
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return a.fail("start: %v", err)
	}
	defer out.Close()
	cmd := exec.Command(exe, argv...)
	cmd.Env = a.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return a.fail("start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(*wait)
	defer deadline.Stop()
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for {
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == ExitAlreadyRunning {
				o, _ := pf.owner()
				fmt.Fprintf(a.stderr, "%s: already running (pid %d, PID file %s)\n", a.cmd.Name, o.PID, pf.path)
				return ExitAlreadyRunning
			}
			return a.fail("start: the monitor exited at once (%v); see %s:\n%s", err, outPath, lastLines(outPath, 10))
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return a.fail("start: the monitor did not take the PID file within %s; see %s", *wait, outPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ExitFailure
		case <-poll.C:
			if o, err := pf.owner(); err == nil && o.Running && o.PID == cmd.Process.Pid {
				fmt.Fprintf(a.stdout, "%s: started (pid %d)\n  PID file: %s\n  logs:     %s\n", a.cmd.Name, o.PID, pf.path,
					filepath.Join(c.set.LogDir, a.logFile()))
				if c.set.Listen != "" || *listen != "" {
					fmt.Fprintf(a.stdout, "  endpoints: /health /livez /readyz /metrics /status on %s\n", cmp.Or(*listen, c.set.Listen))
				}
				return ExitOK
			}
		}
	}
}

// stop signals the monitor named by the PID file, once it is proved to be
// ours, waits for it to exit, and removes a stale PID file. A missing or
// stale PID file is not an error, and the process a stale file names is
// never signalled.
func (a *app[C]) stop(ctx context.Context, args []string) int {
	fs := a.flags("stop")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the monitor may take to finish in-flight work before it is told to stop now")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	return a.stopWith(ctx, a.pidFile(c.set), *timeout)
}

func (a *app[C]) stopWith(ctx context.Context, pf pidFile, timeout time.Duration) int {
	o, err := pf.owner()
	if err != nil {
		return a.fail("stop: %v", err)
	}
	if !o.Running {
		switch {
		case o.Stale != "" && pf.removeStale():
			fmt.Fprintf(a.stdout, "%s: not running (removed stale PID file %s: %s)\n", a.cmd.Name, pf.path, o.Stale)
		case o.Stale != "":
			fmt.Fprintf(a.stdout, "%s: not running (PID file %s: %s)\n", a.cmd.Name, pf.path, o.Stale)
		default:
			fmt.Fprintf(a.stdout, "%s: not running\n", a.cmd.Name)
		}
		return ExitOK
	}
	proc, err := os.FindProcess(o.PID) // a pidfd on Linux: it cannot come to name another process
	if err != nil {
		return a.fail("stop: pid %d: %v", o.PID, err)
	}
	defer proc.Release()
	if err := pf.signal(proc, syscall.SIGTERM); err != nil {
		if errors.Is(err, errNotOurs) || errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(a.stdout, "%s: not running (it exited meanwhile)\n", a.cmd.Name)
			return ExitOK
		}
		return a.fail("stop: signal pid %d: %v", o.PID, err)
	}
	if !waitExit(ctx, proc, timeout) {
		// A second SIGTERM makes the monitor stop waiting for in-flight
		// work; it still writes its files and releases the PID file.
		fmt.Fprintf(a.stderr, "%s: pid %d still finishing in-flight work after %s: telling it to stop now\n", a.cmd.Name, o.PID, timeout)
		_ = pf.signal(proc, syscall.SIGTERM)
		if !waitExit(ctx, proc, forceWait) {
			fmt.Fprintf(a.stderr, "%s: pid %d did not stop within %s: killing it\n", a.cmd.Name, o.PID, forceWait)
			_ = pf.signal(proc, syscall.SIGKILL)
			if !waitExit(ctx, proc, killWait) {
				return a.fail("stop: pid %d is still alive", o.PID)
			}
		}
	}
	pf.removeStale() // a killed monitor leaves its file
	fmt.Fprintf(a.stdout, "%s: stopped (pid %d)\n", a.cmd.Name, o.PID)
	return ExitOK
}

// waitExit waits until proc has exited, for at most timeout.
func waitExit(ctx context.Context, proc *os.Process, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for !exited(proc) {
		select {
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-poll.C:
		}
	}
	return true
}

// restart stops the monitor, then starts it.
func (a *app[C]) restart(ctx context.Context, args []string) int {
	fs := a.flags("restart")
	listen := fs.String("listen", "", "endpoint `address` (default: the configuration's)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	if code := a.stopWith(ctx, a.pidFile(c.set), 30*time.Second); code != ExitOK {
		return code
	}
	var startArgs []string
	if *listen != "" {
		startArgs = []string{"-listen", *listen}
	}
	return a.start(ctx, startArgs)
}

// lastLines returns the last n lines of the file at path (its last 64 KiB).
func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	const window = 64 << 10
	off := max(st.Size()-window, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil {
		return ""
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readStatus reads the running monitor's status file.
func readStatus(path string) ([]byte, error) {
	return fsutil.ReadFile(path, statusFileLimit)
}

// statusFileLimit bounds what status reads of the status file.
const statusFileLimit = 64 << 20
