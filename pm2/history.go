package pm2

import (
	"strconv"
	"time"
)

// history is what the checker remembers of one process (one PM2 id of one
// name) across checks: restart samples for crash-loop detection, how long
// it has held its status, and how many checks in a row it was over its CPU
// limit.
type history struct {
	samples  []sample
	status   ProcessStatus
	since    time.Time
	cpuOver  int
	unstable int
}

type sample struct {
	at       time.Time
	restarts int
}

func historyKey(p Process) string { return p.Name + "#" + strconv.Itoa(p.ID) }

// observe records p at now and reports the restarts seen within window
// (the growth of restart_time since the oldest sample inside it; the first
// check is the baseline) and
// whether the unstable restarts grew since the last check (or are above
// zero the first time the process is seen).
func (h *history) observe(p Process, now time.Time, window time.Duration, first bool) (restarts int, unstableGrew bool) {
	if n := len(h.samples); n > 0 && p.Restarts < h.samples[n-1].restarts {
		h.samples = h.samples[:0] // the counter was reset (pm2 reset, re-created)
	}
	h.samples = append(h.samples, sample{at: now, restarts: p.Restarts})
	// Keep the samples inside the window; the oldest is the baseline.
	cut := 0
	for cut < len(h.samples)-1 && now.Sub(h.samples[cut].at) > window {
		cut++
	}
	h.samples = append(h.samples[:0], h.samples[cut:]...)
	restarts = p.Restarts - h.samples[0].restarts

	if first {
		unstableGrew = p.UnstableRestarts > 0
	} else {
		unstableGrew = p.UnstableRestarts > h.unstable
	}
	h.unstable = p.UnstableRestarts

	if first || p.Status != h.status {
		h.status, h.since = p.Status, now
	}
	return restarts, unstableGrew
}
