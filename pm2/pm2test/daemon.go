package pm2test

import (
	"context"
	"embed"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uras-dev/uras/pm2"
)

//go:embed apps/*.js
var appFiles embed.FS

// The test apps StartDaemon writes beside the daemon's PM2_HOME.
const (
	AppUp     = "up.js"     // stays online
	AppCrash  = "crash.js"  // exits with status 3 after 100ms
	AppChatty = "chatty.js" // prints "line N" to stdout every 2ms
	AppHog    = "hog.js"    // holds about 64 MiB and stays online
	// AppListen listens on 127.0.0.1 at the port given as its first
	// argument (Args); when its second argument names a file that exists,
	// it deletes the file and closes its listener after 300ms but stays
	// online (PM2 says online, the port is closed). A port already taken
	// makes it crash with EADDRINUSE in its error log.
	AppListen = "listen.js"
)

// App is one app of the ecosystem file StartDaemon starts.
type App struct {
	Name        string `json:"name"`
	Script      string `json:"script"`                 // AppUp, AppCrash, ... or a path
	Instances   int    `json:"instances,omitempty"`    // > 1 with ExecMode cluster_mode
	ExecMode    string `json:"exec_mode,omitempty"`    // "fork_mode" (default) or "cluster_mode"
	MaxRestarts int    `json:"max_restarts,omitempty"` // PM2's default is 16
	// RestartDelay is in milliseconds.
	RestartDelay int `json:"restart_delay,omitempty"`
	// MinUptime is in milliseconds: a run shorter than this is unstable.
	MinUptime   int    `json:"min_uptime,omitempty"`
	Autorestart *bool  `json:"autorestart,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	// Args are the script's arguments.
	Args []string `json:"args,omitempty"`
}

// Daemon is a real PM2 daemon running in a temporary PM2_HOME, made by
// StartDaemon and killed when the test ends.
type Daemon struct {
	// Bin is the pm2 binary.
	Bin string
	// Home is the daemon's PM2_HOME (short enough for its Unix sockets).
	Home string
	// Dir holds the test apps and Ecosystem.
	Dir string
	// Ecosystem is the JSON ecosystem file the apps were started from.
	Ecosystem string
	// Client is a CLI client for this daemon.
	Client *pm2.CLI

	mu   sync.Mutex
	pids map[int]bool // app processes seen, to kill if a test orphaned them

	watchIn  io.WriteCloser // closing it (or this process ending) sets the watchdog off
	watchdog *exec.Cmd      // reaps Dir if this process dies without cleanup
}

// StartDaemon starts a PM2 daemon in a new temporary PM2_HOME with apps
// (written to an ecosystem file and started from it) and kills it, with
// every app process it started, when the test ends. It finds pm2 with
// FindPM2 and skips the test when there is none, or fails it under CI=true.
//
// It never touches the default ~/.pm2, and leaves no daemon behind even
// when the test process dies without running its cleanup (killed by go
// test's -timeout, say): a watchdog process reaps the daemon then, and the
// first StartDaemon of a later run reaps what earlier, dead runs left in
// the temporary directory (see reap.go).
func StartDaemon(t testing.TB, apps ...App) *Daemon {
	t.Helper()
	bin := FindPM2(t)
	reapOnce.Do(func() {
		for _, dir := range reapOrphans(os.TempDir()) {
			t.Logf("pm2test: reaped %s, left by a test process that is gone", dir)
		}
	})
	// t.TempDir can be too long for a Unix socket path (107 bytes).
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		t.Fatalf("pm2test: %v", err)
	}
	if err := writeOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("pm2test: %v", err)
	}
	d := &Daemon{
		Bin:       bin,
		Home:      filepath.Join(dir, "h"),
		Dir:       dir,
		Ecosystem: filepath.Join(dir, "ecosystem.json"),
		pids:      map[int]bool{},
	}
	d.Client = pm2.NewCLI(pm2.WithBinary(bin), pm2.WithHome(d.Home), pm2.WithTimeout(60*time.Second))
	d.watchIn, d.watchdog = startWatchdog(dir)
	t.Cleanup(func() { d.cleanup(t) })
	if err := os.Mkdir(d.Home, 0o755); err != nil {
		t.Fatalf("pm2test: %v", err)
	}
	if err := writeApps(dir); err != nil {
		t.Fatalf("pm2test: %v", err)
	}
	if err := d.WriteEcosystem(d.Ecosystem, apps...); err != nil {
		t.Fatalf("pm2test: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if len(apps) == 0 {
		d.run(t, ctx, "ping")
	} else {
		if err := d.Client.StartEcosystem(ctx, d.Ecosystem); err != nil {
			t.Fatalf("pm2test: start daemon: %v", err)
		}
	}
	d.remember(t)
	return d
}

// WriteEcosystem writes a JSON ecosystem file with apps to path; bare
// script names (AppUp, ...) resolve to the apps in d.Dir.
func (d *Daemon) WriteEcosystem(path string, apps ...App) error {
	out := make([]App, len(apps))
	for i, a := range apps {
		if !filepath.IsAbs(a.Script) {
			a.Script = filepath.Join(d.Dir, a.Script)
		}
		out[i] = a
	}
	b, err := json.MarshalIndent(map[string]any{"apps": out}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Env returns the environment pm2 commands for this daemon run with.
func (d *Daemon) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PM2_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "PM2_HOME="+d.Home)
}

// Run runs pm2 with args against this daemon and fails the test when it
// exits non-zero. It returns the standard output.
func (d *Daemon) Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return d.run(t, ctx, args...)
}

func (d *Daemon) run(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := d.command(ctx, args...)
	if err != nil {
		t.Fatalf("pm2test: pm2 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (d *Daemon) command(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.Env = d.Env()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// List lists the daemon's processes and fails the test on error.
func (d *Daemon) List(t testing.TB) []pm2.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	procs, err := d.Client.List(ctx)
	if err != nil {
		t.Fatalf("pm2test: list: %v", err)
	}
	d.note(procs)
	return procs
}

// Process returns the named process, failing the test when it is missing.
func (d *Daemon) Process(t testing.TB, name string) pm2.Process {
	t.Helper()
	for _, p := range d.List(t) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("pm2test: no process %q", name)
	return pm2.Process{}
}

// WaitStatus waits until every process named name has status st, failing
// the test after timeout.
func (d *Daemon) WaitStatus(t testing.TB, name string, st pm2.ProcessStatus, timeout time.Duration) pm2.Process {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []pm2.Process
	for {
		last = d.List(t)
		var match pm2.Process
		found, all := false, true
		for _, p := range last {
			if p.Name == name {
				found = true
				match = p
				all = all && p.Status == st
			}
		}
		if found && all {
			return match
		}
		if time.Now().After(deadline) {
			t.Fatalf("pm2test: %q did not reach status %s within %s; processes: %v", name, st, timeout, summary(last))
		}
		time.Sleep(50 * time.Millisecond) // polling a real daemon: no clock to inject
	}
}

func summary(ps []pm2.Process) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Name + "=" + string(p.Status) + "/" + strconv.Itoa(p.Restarts)
	}
	return strings.Join(parts, ", ")
}

// KillDaemon kills the daemon with SIGKILL, as a crash or the OOM killer
// would, and waits for it to go. Its apps keep running as orphans (as they
// do in production); they are killed when the test ends.
func (d *Daemon) KillDaemon(t testing.TB) {
	t.Helper()
	d.List(t) // remember the apps' pids
	pid := d.daemonPID()
	if pid <= 0 {
		t.Fatalf("pm2test: no daemon pid in %s", d.Home)
	}
	if err := signal(pid, sigKill); err != nil {
		t.Fatalf("pm2test: kill daemon %d: %v", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) || d.listening() {
		if time.Now().After(deadline) {
			t.Fatalf("pm2test: daemon %d (pid file: %d) still alive or listening after SIGKILL", pid, d.daemonPID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening reports whether something accepts connections on the daemon's
// RPC socket.
func (d *Daemon) listening() bool {
	conn, err := net.DialTimeout("unix", filepath.Join(d.Home, pm2.RPCSocketFile), time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// FreezeDaemon stops the daemon with SIGSTOP: it keeps its sockets but
// answers nothing, as a hung daemon does. Call the returned function (it is
// also called when the test ends) to let it go on.
func (d *Daemon) FreezeDaemon(t testing.TB) (thaw func()) {
	t.Helper()
	pid := d.daemonPID()
	if pid <= 0 || !d.ours(pid) {
		t.Fatalf("pm2test: no daemon to freeze in %s", d.Home)
	}
	if err := signal(pid, sigStop); err != nil {
		t.Fatalf("pm2test: freeze daemon %d: %v", pid, err)
	}
	var once sync.Once
	thaw = func() { once.Do(func() { _ = signal(pid, sigCont) }) }
	t.Cleanup(thaw)
	return thaw
}

// KillApp kills the named app's process with SIGKILL.
func (d *Daemon) KillApp(t testing.TB, name string) {
	t.Helper()
	p := d.Process(t, name)
	if p.PID <= 0 {
		t.Fatalf("pm2test: %q has no pid (status %s)", name, p.Status)
	}
	if err := signal(p.PID, sigKill); err != nil {
		t.Fatalf("pm2test: kill %q (%d): %v", name, p.PID, err)
	}
}

func (d *Daemon) daemonPID() int {
	b, err := os.ReadFile(filepath.Join(d.Home, pm2.PIDFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (d *Daemon) remember(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if procs, err := d.Client.List(ctx); err == nil {
		d.note(procs)
	}
}

func (d *Daemon) note(procs []pm2.Process) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range procs {
		if p.PID > 0 {
			d.pids[p.PID] = true
		}
	}
}

// cleanup kills the daemon (pm2 kill, then SIGKILL if it lingers) and any
// app process of ours still alive, then removes the directory.
func (d *Daemon) cleanup(t testing.TB) {
	if d.daemonPID() > 0 {
		d.remember(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if out, err := d.command(ctx, "kill"); err != nil {
			t.Logf("pm2test: pm2 kill: %v\n%s", err, out)
		}
		cancel()
		if pid := d.daemonPID(); pid > 0 && d.ours(pid) {
			_ = signal(pid, sigKill)
		}
	}
	d.mu.Lock()
	for pid := range d.pids {
		if d.ours(pid) {
			_ = signal(pid, sigKill)
		}
	}
	d.mu.Unlock()
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Logf("pm2test: remove %s: %v", d.Dir, err)
	}
	if d.watchdog != nil {
		_ = d.watchIn.Close() // the watchdog finds nothing left and exits
		_ = d.watchdog.Wait()
	}
}

// ours reports whether pid is alive and is this daemon (its title names
// our home, see isDaemonOf) or one of its apps (its command line names our
// directory), so a recycled pid is never killed.
func (d *Daemon) ours(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), d.Dir) || isDaemonOf(pid, d.Home)
}

func alive(pid int) bool {
	if !exists(pid) {
		return false
	}
	// A zombie is dead for our purposes.
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

func writeApps(dir string) error {
	entries, err := appFiles.ReadDir("apps")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := appFiles.ReadFile("apps/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
