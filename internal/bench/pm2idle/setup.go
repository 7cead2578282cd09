package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uras-dev/uras/pm2"
)

// setup is the daemon under watch and the files of both watchers.
type setup struct {
	bin  string // pm2
	dir  string // everything lives here
	home string // PM2_HOME
	eco  string // ecosystem.config.js
	port int    // the web app's port
}

// ecosystemJS declares the apps: a JavaScript file, which only node reads.
const ecosystemJS = `module.exports = {
  apps: [
    { name: 'web', script: %q, args: [%q] },
    { name: 'worker', script: %q },
  ],
};
`

const (
	webJS    = "require('http').createServer((q, s) => s.end('ok')).listen(Number(process.argv[2]), '127.0.0.1');\n"
	workerJS = "setInterval(() => {}, 1 << 30);\n"
)

func setUp(ctx context.Context, bin string) (*setup, error) {
	dir, err := os.MkdirTemp("", "uras-pm2idle-")
	if err != nil {
		return nil, err
	}
	s := &setup{bin: bin, dir: dir, home: filepath.Join(dir, "h"), eco: filepath.Join(dir, "ecosystem.config.js")}
	if err := s.build(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *setup) build(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	web, worker := filepath.Join(s.dir, "web.js"), filepath.Join(s.dir, "worker.js")
	for path, body := range map[string]string{
		web: webJS, worker: workerJS,
		s.eco: fmt.Sprintf(ecosystemJS, web, strconv.Itoa(s.port), worker),
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return err
		}
	}
	if err := os.Mkdir(s.home, 0o755); err != nil {
		return err
	}
	cli := pm2.NewCLI(pm2.WithBinary(s.bin), pm2.WithHome(s.home), pm2.WithTimeout(time.Minute))
	if err := cli.StartEcosystem(ctx, s.eco); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, err := cli.List(ctx)
		online := 0
		for _, p := range procs {
			if p.Status == pm2.StatusOnline {
				online++
			}
		}
		if err == nil && online == 2 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("apps not online within 30s (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cli.Save(ctx) // the checker wants a dump, monit pid files
}

func (s *setup) daemonPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.home, pm2.PIDFile))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// monitrc is monit's control file: the daemon, each app's pid file, the
// server's port, once a second. The start programs are never needed while
// idle, but make the checks what a user would configure.
const monitrc = `set daemon 1
set logfile %[1]s/monit.log
set pidfile %[1]s/monit.pid
set statefile %[1]s/monit.state
set idfile %[1]s/monit.id
set eventqueue basedir %[1]s/monit-events slots 100

check process pm2 with pidfile %[2]s/pm2.pid
  start program = "/usr/bin/env PM2_HOME=%[2]s %[3]s resurrect" with timeout 30 seconds

check process web with pidfile %[2]s/pids/web-0.pid
  start program = "/usr/bin/env PM2_HOME=%[2]s %[3]s restart web"
  if failed host 127.0.0.1 port %[4]d protocol http request "/" then restart

check process worker with pidfile %[2]s/pids/worker-1.pid
  start program = "/usr/bin/env PM2_HOME=%[2]s %[3]s restart worker"
`

// startMonit runs monit in the foreground with a private control file
// (never as a system service).
func (s *setup) startMonit(monit string) (*exec.Cmd, error) {
	rc := filepath.Join(s.dir, "monitrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(monitrc, s.dir, s.home, s.bin, s.port)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(monit, "-I", "-c", rc)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// childConfig is what the uras child process is told.
type childConfig struct {
	Bin, Home, Ecosystem, State string
	Port                        int
}

const envChild = "URAS_PM2IDLE_CHILD"

// startUras runs this binary again as the uras watcher.
func (s *setup) startUras() (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(childConfig{Bin: s.bin, Home: s.home, Ecosystem: s.eco, State: filepath.Join(s.dir, "uras-state.json"), Port: s.port})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envChild+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// close kills the daemon (pm2 kill) and removes the directory.
func (s *setup) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "kill")
	cmd.Env = append(os.Environ(), "PM2_HOME="+s.home)
	_ = cmd.Run()
	_ = os.RemoveAll(s.dir)
}
