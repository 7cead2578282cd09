package pm2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultTimeout bounds one pm2 command run by the CLI client.
const DefaultTimeout = 30 * time.Second

// CLI is the Client that runs the pm2 binary. Every call runs one command
// with an argument vector (never a shell), the caller's context bounded by a
// per-call timeout, and PM2_HOME set when a home was given.
//
// Commands that only make sense with a running daemon (List, Restart,
// Reload, Stop, Start, Save, Ping) first check that the daemon listens on
// PM2_HOME/rpc.sock and return ErrDaemonDown when it does not, because the
// pm2 binary would otherwise start a new, empty daemon and hide the outage.
// StartEcosystem and Resurrect start the daemon when needed, as pm2 does.
type CLI struct {
	bin     string
	home    string
	timeout time.Duration
	runner  Runner
	env     func() []string
	optErr  error // an option NewCLI does not take
}

var _ Client = (*CLI)(nil)

// NewCLI returns a CLI client. It takes WithBinary, WithHome, WithTimeout
// and WithRunner. Defaults: binary "pm2" on PATH, PM2_HOME from the
// environment (else $HOME/.pm2, as pm2 itself), DefaultTimeout per
// command, ExecRunner. An option NewCLI does not take makes every call
// fail with an error saying so.
func NewCLI(opts ...Option) *CLI {
	s, err := apply("NewCLI", opts, cliOptions...)
	c := &CLI{bin: s.bin, home: s.home, timeout: s.timeout, runner: s.runner, env: os.Environ, optErr: err}
	if c.bin == "" {
		c.bin = "pm2"
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.runner == nil {
		c.runner = ExecRunner{}
	}
	return c
}

// Home returns the PM2_HOME the client works on.
func (c *CLI) Home() string {
	if c.home != "" {
		return c.home
	}
	return pm2Home()
}

// pm2Home returns the PM2_HOME PM2 itself would use: $PM2_HOME, else
// $HOME/.pm2.
func pm2Home() string {
	if h := os.Getenv("PM2_HOME"); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".pm2"
	}
	return filepath.Join(home, ".pm2")
}

// List runs pm2 jlist.
func (c *CLI) List(ctx context.Context) ([]Process, error) {
	out, err := c.runDaemon(ctx, "jlist")
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(out), "Spawning PM2 daemon") {
		return nil, fmt.Errorf("pm2 jlist: %w (pm2 started a new, empty one)", ErrDaemonDown)
	}
	procs, err := decodeProcesses(out)
	if err != nil {
		return nil, fmt.Errorf("pm2 jlist: %w", err)
	}
	return procs, nil
}

// Restart runs pm2 restart nameOrID.
func (c *CLI) Restart(ctx context.Context, nameOrID string) error {
	return c.processCommand(ctx, "restart", nameOrID)
}

// Reload runs pm2 reload nameOrID.
func (c *CLI) Reload(ctx context.Context, nameOrID string) error {
	return c.processCommand(ctx, "reload", nameOrID)
}

// Stop runs pm2 stop nameOrID.
func (c *CLI) Stop(ctx context.Context, nameOrID string) error {
	return c.processCommand(ctx, "stop", nameOrID)
}

// Start runs pm2 start nameOrID for a process the daemon already knows.
func (c *CLI) Start(ctx context.Context, nameOrID string) error {
	return c.processCommand(ctx, "start", nameOrID)
}

// StartEcosystem runs pm2 start file [--only a,b], starting the daemon when
// it is not running. A missing file is an error wrapping fs.ErrNotExist;
// like pm2, names in only that the file does not declare are ignored.
func (c *CLI) StartEcosystem(ctx context.Context, file string, only ...string) error {
	if file == "" {
		return errors.New("pm2 start: empty ecosystem file name")
	}
	for _, n := range only {
		if n == "" || strings.Contains(n, ",") {
			return fmt.Errorf("pm2 start %s --only: bad app name %q", file, n)
		}
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("pm2 start %s: %w", file, err)
	}
	args := []string{"start", file}
	if len(only) > 0 {
		args = append(args, "--only", strings.Join(only, ","))
	}
	_, err := c.run(ctx, args...)
	return err
}

// Resurrect runs pm2 resurrect, starting the daemon when it is not running.
func (c *CLI) Resurrect(ctx context.Context) error {
	_, err := c.run(ctx, "resurrect")
	return err
}

// Save runs pm2 save. PM2 refuses to save an empty process list over an
// existing dump, which protects the dump from a daemon that lost its apps.
func (c *CLI) Save(ctx context.Context) error {
	_, err := c.runDaemon(ctx, "save")
	return err
}

// Ping checks that the daemon listens and answers pm2 ping, and reports its
// PID (from PM2_HOME/pm2.pid) and, where the system shows it, its version.
func (c *CLI) Ping(ctx context.Context) (DaemonInfo, error) {
	if _, err := c.runDaemon(ctx, "ping"); err != nil {
		return DaemonInfo{}, err
	}
	return daemonInfo(c.Home()), nil
}

func (c *CLI) processCommand(ctx context.Context, verb, nameOrID string) error {
	if strings.TrimSpace(nameOrID) == "" {
		return fmt.Errorf("pm2 %s: empty process name", verb)
	}
	_, err := c.runDaemon(ctx, verb, nameOrID)
	return err
}

// runDaemon runs a command that needs a running daemon.
func (c *CLI) runDaemon(ctx context.Context, args ...string) ([]byte, error) {
	if c.optErr != nil {
		return nil, c.optErr
	}
	if err := daemonListening(ctx, c.Home()); err != nil {
		return nil, fmt.Errorf("pm2 %s: %w", strings.Join(args, " "), err)
	}
	return c.run(ctx, args...)
}

// run runs pm2 with args and returns its stdout, or an error naming the
// command and its exit status.
func (c *CLI) run(ctx context.Context, args ...string) ([]byte, error) {
	if c.optErr != nil {
		return nil, c.optErr
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	env := c.env()
	if c.home != "" {
		env = append(withoutVar(env, "PM2_HOME"), "PM2_HOME="+c.home)
	}
	res, err := c.runner.Run(ctx, Command{Path: c.bin, Args: args, Env: env})
	name := "pm2 " + strings.Join(args, " ")
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w (%s)", name, ErrNotInstalled, c.bin)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case res.ExitCode == 127:
		return nil, fmt.Errorf("%s: %w (%s exited 127: its interpreter is missing)", name, ErrNotInstalled, c.bin)
	case res.ExitCode != 0:
		return nil, &CommandError{Command: name, ExitCode: res.ExitCode, Message: pm2ErrorLine(res.Stderr, res.Stdout)}
	}
	return res.Stdout, nil
}

// CommandError is a pm2 command that exited with a non-zero status.
// errors.Is matches ErrProcessNotFound when PM2 said so.
type CommandError struct {
	Command  string // "pm2 restart web"
	ExitCode int
	Message  string // PM2's "[PM2][ERROR]" line, colours removed, shortened
}

func (e *CommandError) Error() string {
	s := fmt.Sprintf("%s: exit status %d", e.Command, e.ExitCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports ErrProcessNotFound for PM2's "not found" answers.
func (e *CommandError) Is(target error) bool {
	return target == ErrProcessNotFound && isNotFound(e.Message)
}

func isNotFound(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "not found") || strings.Contains(m, "process id unknown") ||
		strings.Contains(m, "process name not found")
}

// errorMarker starts PM2's own error lines (in colour on a terminal, the
// marker itself uninterrupted).
const errorMarker = "[PM2][ERROR]"

// pm2ErrorLine returns the last "[PM2][ERROR]" line of the outputs as a
// bounded, sanitized excerpt (see excerpt): only PM2's own error text is
// quoted, never the rest of the output (which can hold a process's
// environment), and no terminal escape or control character gets through.
func pm2ErrorLine(outputs ...[]byte) string {
	for _, out := range outputs {
		i := bytes.LastIndex(out, []byte(errorMarker))
		if i < 0 {
			continue
		}
		line := out[i+len(errorMarker):]
		if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
			line = line[:j]
		}
		return excerpt(string(line[:min(len(line), maxScan)]), maxMessage)
	}
	return ""
}

func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
