package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy"
)

// monitor runs the orchestrators in the foreground until interrupted:
// a live dashboard on stdout, logs on stderr and in the log file, the
// health endpoint on -listen, the PID file and the status file.
func (a *app) monitor(ctx context.Context, args []string) int {
	fs := a.flags("monitor")
	listen := fs.String("listen", "", "health endpoint `address` (default: the config's listen, 127.0.0.1:9321)")
	detached := fs.Bool("detached", false, "run as started by start: no dashboard, no terminal logs")
	refresh := fs.Duration("refresh", 5*time.Second, "dashboard refresh `interval`")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	addr := cfg.Listen
	if *listen != "" {
		addr = *listen
	}
	release, err := a.pidFile(cfg).Acquire()
	if errors.Is(err, ErrAlreadyRunning) {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.mode.Name, err)
		return ExitAlreadyRunning
	}
	if err != nil {
		return a.fail("PID file: %v", err)
	}
	defer release()

	var termOut io.Writer = a.stderr
	if *detached {
		termOut = nil
	}
	logs, err := a.openLogs(cfg, termOut)
	if err != nil {
		return a.fail("%v", err)
	}
	defer logs.Close()
	log := logs.Logger()

	sys, err := a.build(ctx, cfg, logs, system.BuildOptions{})
	if err != nil {
		log.Error("cannot start", "err", err)
		return a.fail("%v", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sys.Close(cctx)
	}()
	for _, n := range sys.Notes {
		log.Info("not watched", "system", n.System, "note", n.Text)
	}

	var srv *http.Server
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Error("cannot listen", "addr", addr, "err", err)
			return a.fail("health endpoint: %v", err)
		}
		srv = &http.Server{Handler: a.mux(sys), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		url := "http://" + ln.Addr().String() + "/health"
		log.Info("health endpoint", "url", url)
		fmt.Fprintf(a.stdout, "%s: health endpoint %s\n", a.mode.Name, url)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	statusPath := a.statusFile(cfg)
	writeStatus := func() {
		st := sys.Status()
		st.PID = os.Getpid()
		b, err := json.MarshalIndent(st, "", "  ")
		if err == nil {
			err = fsutil.WriteFileAtomic(statusPath, b, 0o644)
		}
		if err != nil {
			log.Warn("status file not written", "path", statusPath, "err", err)
		}
	}
	defer os.Remove(statusPath)
	changed := make(chan struct{}, 1)
	cancelSub := sys.Subscribe(func(_ system.Part, e redundancy.Event) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer cancelSub()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sys.Root.Run(runCtx); err != nil {
			log.Error("orchestrator stopped", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sys.Watch(runCtx); err != nil {
			log.Warn("event sources stopped", "err", err)
		}
	}()
	log.Info("monitor started", "mode", a.mode.Name, "pid", os.Getpid())
	writeStatus()

	tty := !*detached && isTerminal(a.stdout)
	draw := func() {
		if *detached {
			return
		}
		if tty {
			fmt.Fprint(a.stdout, "\033[H\033[2J")
		}
		system.Render(a.stdout, sys.Status())
		fmt.Fprintln(a.stdout)
	}
	tick := time.NewTicker(*refresh)
	defer tick.Stop()
	save := time.NewTicker(2 * time.Second)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			writeStatus()
			log.Info("monitor stopped", "mode", a.mode.Name)
			draw()
			return ExitOK
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

// mux serves /health (application/health+json) and /status (the full
// status as JSON).
func (a *app) mux(sys *system.System) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/health", sys.Root.Handler())
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sys.Status())
	})
	return mux
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
