package pm2

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/uras-dev/uras/redundancy"
)

// opsState is what the checks of PM2's word against reality keep between
// checks: the probes' HTTP client and the daemon's memory samples.
type opsState struct {
	once   sync.Once
	client *http.Client

	mu     sync.Mutex
	daemon memoryTrack
}

func (s *opsState) httpClient() *http.Client {
	s.once.Do(func() { s.client = newProbeClient() })
	return s.client
}

// maxParallelProbes bounds the probes run at once.
const maxParallelProbes = 8

// opsFindings checks what PM2 says against what runs: each app with a
// probe (online and dead, online and not serving, its port held outside
// PM2) and the daemon's own memory.
func (c *Checker) opsFindings(ctx context.Context, procs []Process, daemonUp bool) []redundancy.Finding {
	if !daemonUp {
		return nil
	}
	out := c.probeFindings(ctx, procs)
	if c.cfg.Home != "" && c.cfg.DaemonMaxMemoryBytes > 0 {
		out = append(out, c.daemonMemoryFindings(c.cfg.Clock.Now())...)
	}
	return out
}

// probeJob is one app's probe in a check.
type probeJob struct {
	app   App
	probe Probe
	procs []Process // the app's instances
	run   bool      // probed this check (all online, past the grace)
	err   error     // the probe's answer
}

func (c *Checker) probeFindings(ctx context.Context, procs []Process) []redundancy.Finding {
	now := c.cfg.Clock.Now()
	var (
		fs   findingSet
		jobs []*probeJob
	)
	for _, app := range c.cfg.Apps {
		if app.Probe == nil {
			continue
		}
		if err := app.Probe.Validate(); err != nil {
			fs.findings = append(fs.findings, redundancy.Finding{Subject: app.Name, Problem: ProblemProbeInvalid,
				Status: redundancy.StatusDegraded, Detail: err.Error()})
			continue
		}
		j := &probeJob{app: app, probe: app.Probe.withDefaults()}
		for _, p := range procs {
			if p.Name == app.Name {
				j.procs = append(j.procs, p)
			}
		}
		if len(j.procs) == 0 {
			continue // ProblemMissing says it
		}
		allOnline, newest := true, time.Time{}
		for _, p := range j.procs {
			if p.Status != StatusOnline {
				allOnline = false
				continue
			}
			if !procAlive(p.PID) {
				allOnline = false
				fs.add(p, ProblemOnlineDead, redundancy.StatusUnhealthy,
					fmt.Sprintf("PM2 says online, but pid %d does not run", p.PID))
			}
			if p.StartedAt.After(newest) {
				newest = p.StartedAt
			}
		}
		j.run = allOnline && now.Sub(newest) >= j.probe.Grace
		jobs = append(jobs, j)
	}
	var g errgroup.Group
	g.SetLimit(maxParallelProbes)
	for _, j := range jobs {
		if j.run {
			g.Go(func() error { j.err = j.probe.run(ctx, c.ops.httpClient()); return nil })
		}
	}
	_ = g.Wait()
	var pm2pids map[int]bool
	for _, j := range jobs {
		if j.run && j.err != nil {
			p := j.procs[0]
			fs.add(p, ProblemProbeFailed, redundancy.StatusUnhealthy,
				fmt.Sprintf("PM2 says online, but %s", j.err))
		}
		if j.run && j.err == nil {
			continue // serving: whatever an old log line says
		}
		port := j.probe.port()
		if port == 0 || !j.logSaysAddrInUse(port) {
			continue
		}
		if pm2pids == nil {
			pm2pids = c.pm2PIDs(procs)
		}
		holders, err := portHolders(port, pm2pids, j.probe.OwnHolders)
		if err != nil {
			continue
		}
		for _, h := range holders {
			if h.InPM2 {
				continue
			}
			d := fmt.Sprintf("the error log says EADDRINUSE and port %d is held by %s, outside PM2", port, h)
			if h.Ours {
				d += "; declared ours: the recoverer may stop it"
			} else {
				d += "; not declared ours (probe own_holders): left alone"
			}
			fs.add(j.procs[0], ProblemPortHeld, redundancy.StatusUnhealthy, d)
		}
	}
	return fs.findings
}

// logSaysAddrInUse reports whether one of the app's error logs ends with
// an EADDRINUSE error for port.
func (j *probeJob) logSaysAddrInUse(port int) bool {
	seen := map[string]bool{}
	for _, p := range j.procs {
		if !seen[p.ErrLogPath] {
			seen[p.ErrLogPath] = true
			if saysAddrInUse(p.ErrLogPath, port) {
				return true
			}
		}
	}
	return false
}

// pm2PIDs returns the daemon's pid (when its title proves it is the PM2
// daemon of Home) and the pids of the processes it lists.
func (c *Checker) pm2PIDs(procs []Process) map[int]bool {
	pids := map[int]bool{}
	for _, p := range procs {
		if p.PID > 0 {
			pids[p.PID] = true
		}
	}
	if pid := godPID(c.cfg.Home); pid > 0 {
		pids[pid] = true
	}
	return pids
}

// godTitle is in the process title of every PM2 daemon ("PM2 v7.0.4: God
// Daemon (/home/app/.pm2)").
const godTitle = "God Daemon"

// godPID returns the pid in home/pm2.pid when that process runs and its
// title names it the PM2 daemon of home; 0 otherwise.
func godPID(home string) int {
	if home == "" {
		return 0
	}
	info := daemonInfo(home)
	if info.PID <= 0 || !procAlive(info.PID) {
		return 0
	}
	title := procCmdline(info.PID)
	abs, err := filepath.Abs(home)
	if err != nil || !titleNamesHome(title, abs) && !titleNamesHome(title, home) {
		return 0
	}
	return info.PID
}

// titleNamesHome reports whether a daemon's title names home: "PM2
// v7.0.4: God Daemon (<home>)". Node can only write a title as long as the
// daemon's original command line, so a long home is cut short: what the
// title shows after the parenthesis must then be a prefix of "<home>)".
func titleNamesHome(title, home string) bool {
	_, shown, ok := strings.Cut(title, godTitle+" (")
	shown = strings.TrimRight(shown, " ")
	return ok && shown != "" && strings.HasPrefix(home+")", shown)
}
