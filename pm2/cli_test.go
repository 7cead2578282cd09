package pm2

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDaemonHome returns a short PM2_HOME with a listener on rpc.sock, so
// the CLI's liveness check passes without a real daemon.
func fakeDaemonHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "uras-cli-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, RPCSocketFile))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	require.NoError(t, os.WriteFile(filepath.Join(dir, PIDFile), []byte(fmt.Sprint(os.Getpid())), 0o644))
	return dir
}

// scriptRunner answers each command with a canned result and records it.
type scriptRunner struct {
	mu    sync.Mutex
	calls []Command
	res   Result
	err   error
	block bool // wait for ctx to end
}

func (r *scriptRunner) Run(ctx context.Context, c Command) (Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if r.block {
		<-ctx.Done()
		return Result{}, ctx.Err()
	}
	return r.res, r.err
}

func (r *scriptRunner) last(t *testing.T) Command {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.calls)
	return r.calls[len(r.calls)-1]
}

func envValue(env []string, name string) (string, int) {
	val, n := "", 0
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			val, n = v, n+1
		}
	}
	return val, n
}

func TestCLICommandsArgv(t *testing.T) {
	t.Parallel()
	home := fakeDaemonHome(t)
	tests := []struct {
		name string
		call func(c *CLI) error
		want []string
	}{
		{"restart", func(c *CLI) error { return c.Restart(context.Background(), "web") }, []string{"restart", "web"}},
		{"reload", func(c *CLI) error { return c.Reload(context.Background(), "3") }, []string{"reload", "3"}},
		{"stop", func(c *CLI) error { return c.Stop(context.Background(), "web") }, []string{"stop", "web"}},
		{"start", func(c *CLI) error { return c.Start(context.Background(), "web") }, []string{"start", "web"}},
		{"ecosystem", func(c *CLI) error { return c.StartEcosystem(context.Background(), ecoPath("ecosystem.json")) }, []string{"start", ecoPath("ecosystem.json")}},
		{"ecosystem only", func(c *CLI) error { return c.StartEcosystem(context.Background(), ecoPath("ecosystem.yaml"), "a", "b") },
			[]string{"start", ecoPath("ecosystem.yaml"), "--only", "a,b"}},
		{"resurrect", func(c *CLI) error { return c.Resurrect(context.Background()) }, []string{"resurrect"}},
		{"save", func(c *CLI) error { return c.Save(context.Background()) }, []string{"save"}},
		{"ping", func(c *CLI) error { _, err := c.Ping(context.Background()); return err }, []string{"ping"}},
		{"list", func(c *CLI) error { _, err := c.List(context.Background()); return err }, []string{"jlist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &scriptRunner{res: Result{Stdout: []byte("[]")}}
			c := NewCLI(WithBinary("/opt/pm2/bin/pm2"), WithHome(home), WithRunner(r))
			c.env = func() []string { return []string{"PATH=/bin", "PM2_HOME=/elsewhere"} }
			require.NoError(t, tt.call(c))
			got := r.last(t)
			assert.Equal(t, "/opt/pm2/bin/pm2", got.Path)
			assert.Equal(t, tt.want, got.Args)
			v, n := envValue(got.Env, "PM2_HOME")
			assert.Equal(t, home, v)
			assert.Equal(t, 1, n, "PM2_HOME must be set exactly once")
		})
	}
}

func TestCLIRejectsBadArguments(t *testing.T) {
	t.Parallel()
	r := &scriptRunner{}
	c := NewCLI(WithHome(fakeDaemonHome(t)), WithRunner(r))
	assert.ErrorContains(t, c.Restart(context.Background(), " "), "empty process name")
	assert.ErrorContains(t, c.StartEcosystem(context.Background(), ""), "empty ecosystem file")
	assert.ErrorContains(t, c.StartEcosystem(context.Background(), "e.json", "a,b"), `bad app name "a,b"`)
	assert.Empty(t, r.calls)
}

func TestCLIDaemonDownDoesNotRunPM2(t *testing.T) {
	t.Parallel()
	r := &scriptRunner{res: Result{Stdout: []byte("[]")}}
	c := NewCLI(WithHome(t.TempDir()), WithRunner(r))
	_, err := c.List(context.Background())
	require.ErrorIs(t, err, ErrDaemonDown)
	assert.Contains(t, err.Error(), "pm2 jlist")
	require.ErrorIs(t, c.Restart(context.Background(), "web"), ErrDaemonDown)
	_, err = c.Ping(context.Background())
	require.ErrorIs(t, err, ErrDaemonDown)
	assert.Empty(t, r.calls, "pm2 would have started a new daemon")

	// Resurrect and StartEcosystem are meant to start it.
	require.NoError(t, c.Resurrect(context.Background()))
	require.NoError(t, c.StartEcosystem(context.Background(), ecoPath("ecosystem.json")))
	require.ErrorIs(t, c.StartEcosystem(context.Background(), "no-such-ecosystem.json"), fs.ErrNotExist)
	assert.Len(t, r.calls, 2)
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	home := fakeDaemonHome(t)
	tests := []struct {
		name    string
		res     Result
		err     error
		is      error
		wantMsg string
	}{
		{"not installed", Result{}, fmt.Errorf("wrap: %w", exec.ErrNotFound), ErrNotInstalled, "pm2 restart web"},
		{"missing path", Result{}, os.ErrNotExist, ErrNotInstalled, "not installed"},
		{"no node", Result{ExitCode: 127, Stderr: []byte("/usr/bin/env: 'node': No such file or directory")}, nil, ErrNotInstalled, "exited 127"},
		{"not found", Result{ExitCode: 1, Stderr: []byte("Use --update-env\n\x1b[31m[PM2][ERROR] \x1b[39mProcess or Namespace web not found\n")}, nil, ErrProcessNotFound,
			"pm2 restart web: exit status 1: Process or Namespace web not found"},
		{"unknown id", Result{ExitCode: 1, Stderr: []byte("[PM2][ERROR] God db process id unknown")}, nil, ErrProcessNotFound, "process id unknown"},
		{"other failure", Result{ExitCode: 2, Stderr: []byte("boom\nTOKEN=hunter2")}, nil, nil, "pm2 restart web: exit status 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewCLI(WithHome(home), WithRunner(&scriptRunner{res: tt.res, err: tt.err}))
			err := c.Restart(context.Background(), "web")
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			} else {
				assert.NotErrorIs(t, err, ErrProcessNotFound)
				assert.NotErrorIs(t, err, ErrNotInstalled)
			}
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), "hunter2", "only PM2's error line is quoted")
			assert.NotContains(t, err.Error(), "\x1b")
		})
	}
}

func TestCLIListErrors(t *testing.T) {
	t.Parallel()
	home := fakeDaemonHome(t)
	secret := `[{"pm_id":0,"name":"w","pm2_env":{"env":{"TOKEN":"hunter2"`
	tests := []struct {
		name string
		out  string
		is   error
	}{
		{"truncated", secret, ErrBadOutput},
		{"empty", "", ErrBadOutput},
		{"warning first", "[PM2][WARN] something\n[]", ErrBadOutput},
		{"spawned a daemon", "[PM2] Spawning PM2 daemon with pm2_home=/x\n[PM2] PM2 Successfully daemonized\n[]", ErrDaemonDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewCLI(WithHome(home), WithRunner(&scriptRunner{res: Result{Stdout: []byte(tt.out)}}))
			_, err := c.List(context.Background())
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), "pm2 jlist")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestCLITimeout(t *testing.T) {
	t.Parallel()
	r := &scriptRunner{block: true}
	c := NewCLI(WithHome(fakeDaemonHome(t)), WithRunner(r), WithTimeout(20*time.Millisecond))
	start := time.Now()
	err := c.Restart(context.Background(), "web")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = NewCLI(WithHome(fakeDaemonHome(t)), WithRunner(r))
	require.ErrorIs(t, c.Restart(ctx, "web"), context.Canceled)
}

func TestCLIPingReadsPID(t *testing.T) {
	t.Parallel()
	home := fakeDaemonHome(t)
	c := NewCLI(WithHome(home), WithRunner(&scriptRunner{res: Result{Stdout: []byte("{ msg: 'pong' }")}}))
	info, err := c.Ping(context.Background())
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), info.PID)
}

func TestCLIHomeDefault(t *testing.T) {
	t.Setenv("PM2_HOME", "/srv/pm2home")
	assert.Equal(t, "/srv/pm2home", NewCLI().Home())
	assert.Equal(t, "/x", NewCLI(WithHome("/x")).Home())
}

// TestExecRunner runs this test binary as the child (os/exec's helper
// process pattern).
func TestExecRunner(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := func(mode string) Command {
		return Command{Path: self, Args: []string{"-test.run=^TestHelperProcess$"},
			Env: append(os.Environ(), "URAS_HELPER_PROCESS="+mode)}
	}

	res, err := ExecRunner{}.Run(context.Background(), cmd("ok"))
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Stdout), "out-line")
	assert.Contains(t, string(res.Stderr), "err-line")

	res, err = ExecRunner{}.Run(context.Background(), cmd("fail"))
	require.NoError(t, err)
	assert.Equal(t, 4, res.ExitCode)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ExecRunner{WaitDelay: 100 * time.Millisecond}.Run(ctx, cmd("hang"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)

	_, err = ExecRunner{}.Run(context.Background(), Command{Path: filepath.Join(t.TempDir(), "no-pm2")})
	require.True(t, errors.Is(err, os.ErrNotExist) || errors.Is(err, exec.ErrNotFound), "got %v", err)
	c := NewCLI(WithBinary(filepath.Join(t.TempDir(), "no-pm2")))
	require.ErrorIs(t, c.Resurrect(context.Background()), ErrNotInstalled)
	c = NewCLI(WithBinary("uras-no-such-pm2-binary"))
	require.ErrorIs(t, c.Resurrect(context.Background()), ErrNotInstalled)
}

func TestHelperProcess(t *testing.T) {
	switch os.Getenv("URAS_HELPER_PROCESS") {
	case "":
		t.Skip("helper process for TestExecRunner")
	case "ok":
		fmt.Println("out-line")
		fmt.Fprintln(os.Stderr, "err-line")
		os.Exit(0)
	case "fail":
		os.Exit(4)
	case "hang":
		time.Sleep(time.Minute) // killed by the runner's context
		os.Exit(0)
	}
}
