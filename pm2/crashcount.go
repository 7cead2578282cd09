package pm2

// Counting crashes from the daemon's events.
//
// PM2's own counters are not to be trusted for crash loops: restart_time
// also counts the restarts a person or uras asked for, unstable_restarts
// only counts runs shorter than min_uptime, and a memory restart resets
// it. The daemon's event socket says each time a process exits, and in
// what state it was: an exit while the process was being stopped (pm2
// stop, pm2 delete, pm2 restart, pm2 kill, which stops every app before
// the daemon exits) comes with status "stopping", followed by one with
// "stopped" once the stop is done; a crash comes with "stopped" (or
// "errored" when PM2 gives up) and no stop before it.

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// stopGrace bounds how long after a "stopping" exit the "stopped" exit that
// ends the same stop may come (PM2's kill_timeout is 1.6 s by default).
const stopGrace = 5 * time.Minute

// crashCounter counts the crash exits the daemon announces, per app, over
// a window. It is safe for concurrent use.
type crashCounter struct {
	window time.Duration

	mu       sync.Mutex
	stopping map[int]time.Time      // pm id -> its "stopping" exit
	exits    map[string][]time.Time // app name -> its crash exits, oldest first
}

func newCrashCounter(window time.Duration) *crashCounter {
	return &crashCounter{window: window, stopping: map[int]time.Time{}, exits: map[string][]time.Time{}}
}

// observe folds one event in.
func (c *crashCounter) observe(e Event) {
	if e.Kind != EventExit || !e.IsProcess() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Status == StatusStopping {
		c.stopping[e.ID] = e.Time
		return
	}
	if at, ok := c.stopping[e.ID]; ok {
		delete(c.stopping, e.ID)
		if e.Time.Sub(at) <= stopGrace {
			return // the end of a stop, not a crash
		}
	}
	c.exits[e.Name] = append(c.exits[e.Name], e.Time)
}

// counts returns the crash exits of each app within the window before now,
// forgetting older ones.
func (c *crashCounter) counts(now time.Time) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for name, ts := range c.exits {
		cut := 0
		for cut < len(ts) && now.Sub(ts[cut]) > c.window {
			cut++
		}
		ts = ts[cut:]
		if len(ts) == 0 {
			delete(c.exits, name)
			continue
		}
		c.exits[name] = ts
		out[name] = len(ts)
	}
	for id, at := range c.stopping {
		if now.Sub(at) > stopGrace {
			delete(c.stopping, id)
		}
	}
	return out
}

// crashLoops replaces the crash-loop findings of rep (which come from
// PM2's counters) with those the events show: an app of apps (every app
// when empty) with at least limit crash exits within the window.
func (c *crashCounter) crashLoops(rep redundancy.Report, now time.Time, limit int, apps []string) redundancy.Report {
	if rep.Err != nil {
		return rep
	}
	var findings []redundancy.Finding
	for _, f := range rep.Findings {
		if f.Problem != ProblemCrashLoop {
			findings = append(findings, f)
		}
	}
	counts := c.counts(now)
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if n := counts[name]; n >= limit && (len(apps) == 0 || contains(apps, name)) {
			findings = append(findings, redundancy.Finding{Subject: name, Problem: ProblemCrashLoop, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("%d crash exits within %s (limit %d; from the daemon's events: stops, deletes and pm2 kill do not count)", n, c.window, limit)})
		}
	}
	summary := rep.Summary
	if i := strings.Index(summary, "; "); i >= 0 {
		summary = summary[:i]
	}
	return redundancy.NewReport(summary+findingsSuffix(findings), findings...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
