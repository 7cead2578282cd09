package launch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/uras-dev/uras/redundancy/metrics"
)

// keepAliveEvery is how often the monitor looks at its own liveness and
// readiness for the heartbeat.
const keepAliveEvery = time.Second

// registry returns the monitor's metrics registry: m watching every part
// (and the root, when it is not a part, as system "root"), with the Go
// runtime and process collectors.
func registry(sys *System, m *metrics.Metrics) *prometheus.Registry {
	rootIsPart := false
	for _, p := range sys.Parts {
		if p.Orch == nil {
			continue
		}
		m.Watch(p.Orch, p.Name, p.Targets...)
		rootIsPart = rootIsPart || p.Orch == sys.Root
	}
	if !rootIsPart {
		name := "root"
		if len(sys.Parts) == 0 {
			name = "all"
		}
		m.Watch(sys.Root, name)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// keepAlive tells the world the monitor is alive until ctx ends: it
// sends systemd WATCHDOG=1 every watchdog (half of WATCHDOG_USEC) while
// the system's loop makes progress, so that systemd restarts a wedged
// monitor, and pings the heartbeat URL after a turn that found the loop
// alive and the system ready, at most every hbEvery.
func keepAlive(ctx context.Context, log *slog.Logger, sys *System, sd *sdNotifier, watchdog time.Duration,
	hb *heartbeat, hbEvery time.Duration) {
	if (sd == nil || watchdog <= 0) && hb == nil {
		return
	}
	poll := keepAliveEvery
	if sd != nil && watchdog > 0 {
		poll = min(poll, watchdog)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var lastDog, lastBeat time.Time
	wasAlive := true
	for {
		now := time.Now()
		l := sys.Liveness()
		if l.Alive != wasAlive {
			if l.Alive {
				log.Info("the loop makes progress again")
			} else {
				log.Error("the loop is wedged: no watchdog ping, no heartbeat", "problems", l.Problems)
			}
			wasAlive = l.Alive
		}
		if sd != nil && watchdog > 0 && l.Alive && now.Sub(lastDog) >= watchdog {
			if err := sd.notify("WATCHDOG=1"); err != nil {
				log.Warn("systemd watchdog", "err", err)
			}
			lastDog = now
		}
		if hb != nil && l.Alive && now.Sub(lastBeat) >= hbEvery {
			if r := sys.Readiness(); r.Ready {
				pctx, cancel := context.WithTimeout(ctx, heartbeatTimeout)
				err := hb.ping(pctx)
				cancel()
				lastBeat = now
				if err != nil {
					log.Warn("heartbeat not delivered", "err", err)
				} else {
					log.Debug("heartbeat sent")
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sdStatus is the STATUS= line systemctl status shows.
func sdStatus(st Status) string {
	n := 0
	for _, p := range st.Parts {
		n += len(p.Targets)
	}
	return fmt.Sprintf("STATUS=watching %d targets: %s", n, st.Status)
}
