package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// Timings of the monitor.
const (
	// minRefresh is the shortest dashboard refresh -refresh accepts.
	minRefresh = 100 * time.Millisecond
	// statusEvery is how often the status file is rewritten besides on
	// every event (its times move on).
	statusEvery = 2 * time.Second
	// watchWait bounds the wait for event sources after Run has returned.
	watchWait = 5 * time.Second
	// endpointShutdown bounds the endpoint's graceful shutdown.
	endpointShutdown = 5 * time.Second
)

// statusFileMode is the mode of the status file (it may quote errors).
const statusFileMode = 0o600

// monitor runs the orchestrators in the foreground until stopped: a live
// dashboard on stdout, logs on stderr and in the log file, the endpoint
// on -listen, the PID file (locked for the monitor's life) and the status
// file.
//
// Stopping: the first signal (ctx ends) stops Run from starting work; the
// monitor waits for Run to return (in-flight actions finish or time out,
// their results are recorded and the state saved), then closes the
// system and exits 0. A second signal cuts that wait short: the monitor
// writes its files, gives Close two seconds and exits 1.
func (a *app[C]) monitor(ctx context.Context, args []string) int {
	fs := a.flags("monitor")
	listen := fs.String("listen", "", "endpoint `address` (default: the configuration's)")
	hooksListen := fs.String("hooks-listen", "", "webhook deliveries' `address` (default: the configuration's hooks_listen)")
	detached := fs.Bool("detached", false, "run as started by start: no dashboard, no terminal logs")
	refresh := fs.Duration("refresh", 5*time.Second, "dashboard refresh `interval`")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *refresh < minRefresh {
		fmt.Fprintf(a.stderr, "%s: monitor: -refresh %s: want at least %s\n", a.cmd.Name, *refresh, minRefresh)
		return ExitUsage
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	addr := c.set.Listen
	if *listen != "" {
		addr = *listen
	}
	exposed := false
	if addr != "" {
		var err error
		if exposed, err = checkListen(addr, c.set.Token); err != nil {
			fmt.Fprintf(a.stderr, "%s: %v\n", a.cmd.Name, err)
			return ExitUsage
		}
	}
	hooksAddr := c.set.HooksListen
	if *hooksListen != "" {
		hooksAddr = *hooksListen
	}
	if hooksAddr != "" {
		if _, err := loopback(hooksAddr); err != nil {
			fmt.Fprintf(a.stderr, "%s: hooks %v\n", a.cmd.Name, err)
			return ExitUsage
		}
		if hooksAddr == addr && !strings.HasSuffix(addr, ":0") {
			fmt.Fprintf(a.stderr, "%s: the webhooks' address %s is the endpoint's: give them a listener of their own\n", a.cmd.Name, addr)
			return ExitUsage
		}
	}
	pf := a.pidFile(c.set)
	lock, err := pf.lock()
	if errors.Is(err, errAlreadyRunning) {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.cmd.Name, err)
		return ExitAlreadyRunning
	}
	if err != nil {
		return a.fail("%v", err)
	}
	defer lock.release()

	var term io.Writer = a.stderr
	if *detached {
		term = nil
	}
	logs, err := a.openLogs(c.set, term)
	if err != nil {
		return a.fail("%v", err)
	}
	defer logs.Close()
	log := logs.Logger("")

	sd, err := newSDNotifier(a.env)
	if err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.cmd.Name, err)
		return ExitUsage
	}
	watchdog, err := watchdogEvery(a.env, os.Getpid())
	if err != nil {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.cmd.Name, err)
		return ExitUsage
	}
	m := metrics.New()
	sys, err := a.build(ctx, c, logs, Build{Metrics: m})
	if err != nil {
		log.Error("cannot start", "err", err)
		return a.buildFailed(err)
	}
	reg := registry(sys, m)
	drain := monitorDrain
	defer func() {
		if err := sys.close(drain); err != nil {
			log.Warn("close", "err", err)
		}
	}()
	for _, n := range sys.Notes {
		log.Info("not watched", "note", n)
	}

	endpointURL := ""
	status := func() Status {
		st := a.statusOf(sys)
		st.PID, st.Endpoint = os.Getpid(), endpointURL
		return st
	}
	stopHooks, code := a.serveHooks(log, sys, m, hooksAddr)
	if code != ExitOK {
		return code
	}
	defer stopHooks()
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("cannot listen", "addr", addr, "err", err)
			return a.fail("endpoint: %v", err)
		}
		srv, cl := newServer(endpointHandler(sys, status, reg, a.red, c.set.Token), ln)
		go func() { _ = srv.Serve(cl) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), endpointShutdown)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		endpointURL = "http://" + ln.Addr().String()
		url := endpointURL + "/health"
		log.Info("endpoint", "url", url, "token_required", c.set.Token != "", "paths", "/health /livez /readyz /metrics /status /silences")
		fmt.Fprintf(a.stdout, "%s: health endpoint %s (also /livez /readyz /metrics /status /silences)\n", a.cmd.Name, url)
		if exposed {
			log.Warn("the endpoint listens beyond loopback: every request must bear the token", "addr", addr)
			fmt.Fprintf(a.stderr, "%s: warning: the endpoint %s is reachable from other hosts; it requires the bearer token\n", a.cmd.Name, addr)
		}
	}

	statusPath := a.statusFile(c.set)
	writeStatus := func() {
		b, err := redactJSON(status(), a.red)
		if err == nil {
			err = fsutil.WriteFileAtomic(statusPath, b, statusFileMode)
		}
		if err != nil {
			log.Warn("status file not written", "path", statusPath, "err", err)
		}
	}
	defer os.Remove(statusPath)
	changed := make(chan struct{}, 1)
	for _, o := range sys.orchestrators() {
		defer o.Subscribe(func(redundancy.Event) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})()
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	runDone, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(runDone)
		if err := sys.Root.Run(runCtx); err != nil {
			log.Error("orchestrator stopped", "err", err)
		}
	}()
	go func() {
		defer close(watchDone)
		if sys.Watch == nil {
			return
		}
		if err := sys.Watch(runCtx); err != nil && runCtx.Err() == nil {
			log.Warn("event sources stopped", "err", err)
		}
	}()
	log.Info("monitor started", "command", a.cmd.Name, "pid", os.Getpid())
	writeStatus()
	if sd != nil {
		if err := sd.notify("READY=1\n" + sdStatus(status())); err != nil {
			log.Warn("systemd notify", "err", err)
		}
		log.Info("systemd notified", "watchdog", watchdog.String())
	}
	var hb *heartbeat
	if c.set.HeartbeatURL != "" {
		hb = newHeartbeat(c.set.HeartbeatURL)
		log.Info("heartbeat", "every", c.set.HeartbeatEvery.String())
	}
	keepDone := make(chan struct{})
	go func() {
		defer close(keepDone)
		keepAlive(runCtx, log, sys, sd, watchdog, hb, c.set.HeartbeatEvery)
	}()
	defer func() { stopRun(); <-keepDone }()

	tty := !*detached && isTerminal(a.stdout.w)
	draw := func() {
		if *detached {
			return
		}
		if tty {
			fmt.Fprint(a.stdout, "\033[H\033[2J")
		}
		Render(a.stdout, status())
		fmt.Fprintln(a.stdout)
	}
	tick := time.NewTicker(*refresh)
	defer tick.Stop()
	save := time.NewTicker(statusEvery)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := sd.notify("STOPPING=1"); err != nil {
				log.Warn("systemd notify", "err", err)
			}
			forced := a.shutdown(log, *detached, stopRun, runDone, watchDone, changed, save.C, writeStatus)
			writeStatus()
			draw()
			if forced {
				drain = forcedDrain
				return ExitFailure
			}
			log.Info("monitor stopped", "command", a.cmd.Name)
			return ExitOK
		case <-runDone:
			log.Error("monitor stopped: the orchestrator's run ended")
			return a.fail("monitor: the orchestrator's run ended; see %s", logs.Path())
		case <-changed:
			writeStatus()
			if !tty {
				draw()
			}
		case <-save.C:
			writeStatus()
		case <-tick.C:
			draw()
		}
	}
}

// shutdown stops Run and waits for it to return (in-flight work finishes,
// results are recorded, state is saved), keeping the status file current
// meanwhile; a second signal (a.force) ends the wait. It reports whether
// the wait was cut short.
func (a *app[C]) shutdown(log *slog.Logger, detached bool, stopRun func(), runDone, watchDone <-chan struct{},
	changed <-chan struct{}, save <-chan time.Time, writeStatus func()) (forced bool) {
	log.Info("stopping: no new work; waiting for in-flight work to finish (signal again to stop now)")
	if !detached {
		fmt.Fprintf(a.stderr, "%s: stopping: waiting for in-flight work to finish (signal again to stop now)\n", a.cmd.Name)
	}
	stopRun()
	for {
		select {
		case <-runDone:
			select {
			case <-watchDone:
			case <-time.After(watchWait):
				log.Warn("event sources did not stop in time", "waited", watchWait)
			}
			return false
		case <-a.force:
			log.Warn("second signal: stopping now; in-flight work is abandoned and its result not recorded")
			if !detached {
				fmt.Fprintf(a.stderr, "%s: stopping now: in-flight work abandoned\n", a.cmd.Name)
			}
			return true
		case <-changed:
			writeStatus()
		case <-save:
			writeStatus()
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
