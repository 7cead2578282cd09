package pm2

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Checker checks PM2: the daemon, the expected apps' processes, the dump
// file, the log sizes and the ecosystem file, in one Check. It keeps each
// process's restart history between checks (crash loops, stuck states and
// CPU streaks need it), so use one Checker per PM2 target, for as long as
// the target lives.
type Checker struct {
	client  Client
	cfg     Config
	guard   *guard
	ladders *ladders

	mu   sync.Mutex
	hist map[string]*history

	eco ecosystemCache // the last load of cfg.Ecosystem
	ops opsState       // probes and the daemon's memory
}

var _ redundancy.Checker = (*Checker)(nil)

// NewChecker returns a checker that asks client and judges by cfg (see
// Config for the defaults).
func NewChecker(client Client, cfg Config) *Checker {
	cfg = cfg.withDefaults()
	return &Checker{client: client, cfg: cfg, guard: newGuard(client, cfg), ladders: newLadders(cfg), hist: map[string]*history{}}
}

// Check lists the processes and evaluates them, then checks the dump, the
// logs and the ecosystem file as configured.
//
// A daemon that is down or does not answer is an unhealthy finding (so the
// recoverer can act on it), not a check error. The report carries an error
// (and StatusUnknown) only when nothing could be learnt: pm2 is not
// installed, its output could not be read, or ctx ended.
func (c *Checker) Check(ctx context.Context) redundancy.Report {
	if c.client == nil {
		return redundancy.ErrorReport(errors.New("pm2 checker: nil Client"))
	}
	procs, err := c.list(ctx)
	daemonUp := err == nil
	var findings []redundancy.Finding
	switch {
	case err == nil:
		findings = c.evaluate(procs, c.cfg.Clock.Now())
	case errors.Is(err, ErrDaemonDown):
		findings = append(findings, redundancy.Finding{Subject: SubjectDaemon, Problem: ProblemDaemonDown,
			Status: redundancy.StatusUnhealthy, Detail: err.Error()})
	case errors.Is(err, errDaemonSlow):
		findings = append(findings, redundancy.Finding{Subject: SubjectDaemon, Problem: ProblemDaemonUnresponsive,
			Status: redundancy.StatusUnhealthy, Detail: err.Error()})
	case ctx.Err() != nil, errors.Is(err, ErrNotInstalled), errors.Is(err, ErrBadOutput):
		return redundancy.ErrorReport(fmt.Errorf("pm2 check: %w", err))
	default:
		findings = append(findings, redundancy.Finding{Subject: SubjectDaemon, Problem: ProblemDaemonUnresponsive,
			Status: redundancy.StatusUnhealthy, Detail: err.Error()})
	}
	findings = append(findings, c.guardFindings(ctx, c.guard.view(ctx), procs, daemonUp, findings)...)
	findings = append(findings, c.logFindings(procs)...)
	findings = append(findings, c.opsFindings(ctx, procs, daemonUp)...)
	if c.cfg.Ecosystem != "" {
		findings = append(findings, c.ecosystemFindings(ctx)...)
	}
	return redundancy.NewReport(summarize(procs, daemonUp, findings), findings...)
}

// listShare is the part of the check's remaining time List may take, so
// that a daemon that does not answer is reported as such before the
// orchestrator's check timeout turns the whole report unknown.
const listShare = 0.8

// list pings the daemon (see pingDaemon), then lists the processes within
// listShare of ctx's remaining time; an overrun of either inner deadline
// (ctx itself still alive) wraps errDaemonSlow.
func (c *Checker) list(ctx context.Context) ([]Process, error) {
	if err := c.pingDaemon(ctx); err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return c.client.List(ctx)
	}
	inner := time.Duration(float64(time.Until(deadline)) * listShare)
	lctx, cancel := context.WithTimeout(ctx, inner)
	defer cancel()
	procs, err := c.client.List(lctx)
	if err != nil && ctx.Err() == nil && lctx.Err() != nil {
		return nil, fmt.Errorf("%w within %s: %w", errDaemonSlow, inner.Round(time.Millisecond), err)
	}
	return procs, err
}

var errDaemonSlow = errors.New("pm2 daemon did not answer")

// evaluate judges the processes at now and updates their history.
func (c *Checker) evaluate(procs []Process, now time.Time) []redundancy.Finding {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := c.cfg
	var fs findingSet
	seen := make(map[string]bool, len(procs))
	present := make(map[string]bool, len(procs))
	for _, p := range procs {
		present[p.Name] = true
		app, expected := cfg.app(p.Name)
		if len(cfg.Apps) > 0 && !expected {
			continue
		}
		key := historyKey(p)
		h, known := c.hist[key]
		if !known {
			h = &history{}
			c.hist[key] = h
		}
		seen[key] = true
		restarts, unstableGrew := h.observe(p, now, cfg.CrashLoopWindow, !known)

		switch p.Status {
		case StatusErrored:
			d := "errored"
			if p.ExitCode != nil {
				d += fmt.Sprintf(" (last exit code %d)", *p.ExitCode)
			}
			fs.add(p, ProblemErrored, redundancy.StatusUnhealthy, fmt.Sprintf("%s after %d restarts", d, p.Restarts))
		case StatusStopped:
			if !app.StopOK {
				fs.add(p, ProblemStopped, redundancy.StatusUnhealthy, "stopped")
			}
		case StatusLaunching, StatusWaitingRestart, StatusStopping:
			if d := now.Sub(h.since); d > cfg.StuckAfter {
				fs.add(p, ProblemStuck, redundancy.StatusUnhealthy, fmt.Sprintf("%s for %s (bound %s)", p.Status, d.Round(time.Second), cfg.StuckAfter))
			}
		}
		switch {
		case restarts >= cfg.CrashLoopRestarts:
			fs.add(p, ProblemCrashLoop, redundancy.StatusUnhealthy,
				fmt.Sprintf("%d restarts within %s (limit %d)", restarts, cfg.CrashLoopWindow, cfg.CrashLoopRestarts))
		case unstableGrew:
			fs.add(p, ProblemCrashLoop, redundancy.StatusUnhealthy,
				fmt.Sprintf("%d unstable restarts (runs shorter than min_uptime)", p.UnstableRestarts))
		}
		if limit := cmp(app.MaxMemoryBytes, cfg.MaxMemoryBytes); limit > 0 && p.MemoryBytes > limit {
			fs.add(p, ProblemMemoryHigh, redundancy.StatusDegraded,
				fmt.Sprintf("memory %s above limit %s", bytesString(int64(p.MemoryBytes)), bytesString(int64(limit))))
		}
		limit := cmp(app.MaxCPUPercent, cfg.MaxCPUPercent)
		if limit > 0 && p.CPUPercent > limit {
			h.cpuOver++
		} else {
			h.cpuOver = 0
		}
		if h.cpuOver >= cfg.CPUChecks {
			fs.add(p, ProblemCPUHigh, redundancy.StatusDegraded,
				fmt.Sprintf("CPU %.0f%% above limit %.0f%% for %d checks", p.CPUPercent, limit, h.cpuOver))
		}
	}
	for key := range c.hist {
		if !seen[key] {
			delete(c.hist, key)
		}
	}
	for _, a := range cfg.Apps {
		if !present[a.Name] {
			fs.findings = append(fs.findings, redundancy.Finding{Subject: a.Name, Problem: ProblemMissing,
				Status: redundancy.StatusUnhealthy, Detail: "not known to the PM2 daemon"})
		}
	}
	return fs.findings
}

// cmp returns own when set, else def.
func cmp[T uint64 | float64](own, def T) T {
	if own > 0 {
		return own
	}
	return def
}

// findingSet merges the findings of the instances of one app: one finding
// per app and problem, naming each instance.
type findingSet struct {
	findings []redundancy.Finding
	index    map[string]int
}

func (s *findingSet) add(p Process, problem redundancy.Problem, st redundancy.Status, detail string) {
	if s.index == nil {
		s.index = map[string]int{}
	}
	detail = fmt.Sprintf("id %d: %s", p.ID, detail)
	key := p.Name + "\x00" + string(problem)
	if i, ok := s.index[key]; ok {
		s.findings[i].Detail += "; " + detail
		return
	}
	s.index[key] = len(s.findings)
	s.findings = append(s.findings, redundancy.Finding{Subject: p.Name, Problem: problem, Status: st, Detail: detail})
}

// summarize says in one line what the check saw.
func summarize(procs []Process, daemonUp bool, findings []redundancy.Finding) string {
	if !daemonUp {
		if len(findings) > 0 {
			return fmt.Sprintf("pm2 daemon %s; %d findings", strings.TrimPrefix(string(findings[0].Problem), "pm2.daemon-"), len(findings))
		}
		return "pm2 daemon not reachable"
	}
	counts := map[ProcessStatus]int{}
	for _, p := range procs {
		counts[p.Status]++
	}
	keys := make([]string, 0, len(counts))
	for st := range counts {
		keys = append(keys, string(st))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[ProcessStatus(k)], k))
	}
	s := fmt.Sprintf("%d processes", len(procs))
	if len(procs) == 1 {
		s = "1 process"
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + findingsSuffix(findings)
}

// findingsSuffix is the part of a summary that names the findings.
func findingsSuffix(findings []redundancy.Finding) string {
	switch n := len(findings); n {
	case 0:
		return ""
	case 1:
		return "; 1 finding: " + string(findings[0].Problem) + " " + findings[0].Subject
	default:
		problems := make([]string, 0, n)
		for _, f := range findings {
			if !slices.Contains(problems, string(f.Problem)) {
				problems = append(problems, string(f.Problem))
			}
		}
		return fmt.Sprintf("; %d findings: %s", n, strings.Join(problems, ", "))
	}
}

// bytesString formats n in binary units ("10.0 MiB").
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
