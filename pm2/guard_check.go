package pm2

// The Checker's side of the guard: the daemon's answer is timed apart
// from the check, the apps of the known-good list that are gone are
// missing, the dump files are checked against the guarded set, the
// known-good list is recorded from a healthy daemon, and the ladders of
// what a check finds healthy are cleared.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// rpcPinger is a client that can ping the daemon's RPC socket directly,
// without starting a program: *CLI and *Native.
type rpcPinger interface {
	rpcPing(ctx context.Context) error
}

var (
	_ rpcPinger = (*CLI)(nil)
	_ rpcPinger = (*Native)(nil)
)

func (n *Native) rpcPing(ctx context.Context) error { return n.ping(ctx) }

func (c *CLI) rpcPing(ctx context.Context) error {
	return NewNative(NativeOptions{Home: c.Home(), Timeout: c.timeout}).ping(ctx)
}

// pingClient pings the daemon behind client: over its RPC socket when the
// client can, else with Client.Ping.
func pingClient(ctx context.Context, client Client) error {
	if p, ok := client.(rpcPinger); ok {
		return p.rpcPing(ctx)
	}
	_, err := client.Ping(ctx)
	return err
}

// pingDaemon asks the daemon for a sign of life within
// Config.DaemonTimeout (and within listShare of what the check has left):
// a daemon that does not answer in time is hung (errDaemonSlow), whatever
// time the check as a whole has.
func (c *Checker) pingDaemon(ctx context.Context) error {
	limit := c.cfg.DaemonTimeout
	if deadline, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Duration(float64(time.Until(deadline))*listShare))
	}
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := pingClient(pctx, c.client)
	if err != nil && ctx.Err() == nil && pctx.Err() != nil {
		return fmt.Errorf("%w to a ping within %s: %w", errDaemonSlow, limit.Round(time.Millisecond), err)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return nil // a client that cannot ping: its List answers for the daemon
	}
	return err
}

// guardFindings adds to the process findings what the guard sees, records
// the known-good list when the daemon is healthy and clears the ladders of
// what is healthy.
func (c *Checker) guardFindings(ctx context.Context, v guardView, procs []Process, daemonUp bool, findings []redundancy.Finding) []redundancy.Finding {
	var out []redundancy.Finding
	if daemonUp && len(c.cfg.Apps) == 0 {
		for _, name := range v.want {
			if !containsName(procs, name) {
				out = append(out, redundancy.Finding{Subject: name, Problem: ProblemMissing, Status: redundancy.StatusUnhealthy,
					Detail: "not known to the PM2 daemon (guarded: " + v.from + ")"})
			}
		}
	}
	if c.cfg.Home != "" {
		out = append(out, dumpFindings(v, procs, daemonUp, len(c.cfg.Apps) == 0)...)
	}
	if v.knownErr != nil {
		out = append(out, redundancy.Finding{Subject: "known-good", Problem: ProblemKnownGoodUnreadable,
			Status: redundancy.StatusDegraded, Detail: v.knownErr.Error()})
	}
	all := append(slices.Clone(findings), out...)
	if daemonUp && c.healthy(v, procs, all) {
		_ = c.guard.record(ctx, procs, v.dump)
	}
	c.ladders.clear(ctx, failingSubjects(all))
	return out
}

// healthy reports whether the daemon's list may become the known-good
// list: no app finding, every guarded app online (or stopped and StopOK)
// and, with no Config.Apps, every app it runs online.
func (c *Checker) healthy(v guardView, procs []Process, findings []redundancy.Finding) bool {
	for _, f := range findings {
		switch f.Problem {
		case ProblemMissing, ProblemErrored, ProblemStopped, ProblemStuck, ProblemCrashLoop:
			return false
		}
	}
	want := v.want
	if len(c.cfg.Apps) == 0 {
		want = append(want, liveNames(procs)...)
	}
	return len(notReady(procs, want, c.cfg)) == 0
}

// failingSubjects returns the ladder entries the findings keep alive.
func failingSubjects(findings []redundancy.Finding) map[string]bool {
	out := map[string]bool{}
	for _, f := range findings {
		switch f.Problem {
		case ProblemErrored, ProblemStopped, ProblemStuck, ProblemCrashLoop:
			out[entryKey(ladderApp, f.Subject)] = true
		case ProblemMissing:
			out[entryKey(ladderMissing, f.Subject)] = true
		case ProblemDaemonDown:
			out[entryKey(ladderDaemonDown, SubjectDaemon)] = true
		case ProblemDaemonUnresponsive:
			out[entryKey(ladderDaemonHung, SubjectDaemon)] = true
		}
	}
	return out
}

func containsName(procs []Process, name string) bool {
	for _, p := range procs {
		if p.Name == name {
			return true
		}
	}
	return false
}
