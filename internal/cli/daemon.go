package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// start runs the monitor detached: it re-executes this program with the
// monitor verb (an argument vector, no shell) in a new session, its
// output appended to <logs dir>/<mode>.out, and waits until the monitor
// holds the PID file.
func (a *app) start(ctx context.Context, args []string) int {
	fs := a.flags("start")
	listen := fs.String("listen", "", "health endpoint `address` (default: the config's listen)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the monitor to come up")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	pf := a.pidFile(cfg)
	if pid, _ := pf.Running(); pid > 0 {
		fmt.Fprintf(a.stderr, "%s: already running (pid %d, PID file %s)\n", a.mode.Name, pid, pf.Path)
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
	if err := os.MkdirAll(cfg.Logs.Dir, 0o755); err != nil {
		return a.fail("start: %v", err)
	}
	outPath := filepath.Join(cfg.Logs.Dir, a.mode.Name+".out")
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return a.fail("start: %v", err)
	}
	defer out.Close()
	cmd := exec.Command(exe, argv...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return a.fail("start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(*wait)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case err := <-exited:
			return a.fail("start: the monitor exited at once (%v); see %s:\n%s", err, outPath, lastLines(outPath, 10))
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return a.fail("start: the monitor did not take the PID file within %s; see %s", *wait, outPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ExitFailure
		case <-poll.C:
			if pid, err := pf.Read(); err == nil && pid == cmd.Process.Pid {
				fmt.Fprintf(a.stdout, "%s: started (pid %d)\n  PID file: %s\n  logs:     %s\n", a.mode.Name, pid, pf.Path,
					filepath.Join(cfg.Logs.Dir, a.mode.LogFile))
				_ = cmd.Process.Release()
				return ExitOK
			}
		}
	}
}

// stop signals the monitor named by the PID file, waits for it to exit and
// removes the PID file. A missing or stale PID file is not an error.
func (a *app) stop(ctx context.Context, args []string) int {
	fs := a.flags("stop")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait before killing")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	return a.stopWith(ctx, a.pidFile(cfg), *timeout)
}

func (a *app) stopWith(ctx context.Context, pf PIDFile, timeout time.Duration) int {
	pid, stale := pf.Running()
	if pid == 0 {
		if stale {
			_ = os.Remove(pf.Path)
			fmt.Fprintf(a.stdout, "%s: not running (removed stale PID file %s)\n", a.mode.Name, pf.Path)
		} else {
			fmt.Fprintf(a.stdout, "%s: not running\n", a.mode.Name)
		}
		return ExitOK
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return a.fail("stop: signal pid %d: %v", pid, err)
	}
	if !waitExit(ctx, pid, timeout) {
		fmt.Fprintf(a.stderr, "%s: pid %d did not stop within %s: killing it\n", a.mode.Name, pid, timeout)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if !waitExit(ctx, pid, 5*time.Second) {
			return a.fail("stop: pid %d is still alive", pid)
		}
	}
	if got, err := pf.Read(); err == nil && got == pid {
		_ = os.Remove(pf.Path)
	}
	fmt.Fprintf(a.stdout, "%s: stopped (pid %d)\n", a.mode.Name, pid)
	return ExitOK
}

func waitExit(ctx context.Context, pid int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for Alive(pid) {
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
func (a *app) restart(ctx context.Context, args []string) int {
	fs := a.flags("restart")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	if code := a.stopWith(ctx, a.pidFile(cfg), 30*time.Second); code != ExitOK {
		return code
	}
	return a.start(ctx, nil)
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
