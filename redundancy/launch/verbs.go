package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Bounds of the shutdown work.
const (
	// oneShotDrain bounds System.Close after a verb that runs once: queued
	// alerts get this long to be delivered (a receiver that hangs does
	// not hold the command up).
	oneShotDrain = 3 * time.Second
	// monitorDrain bounds System.Close after the monitor.
	monitorDrain = 10 * time.Second
	// forcedDrain bounds System.Close after a second signal.
	forcedDrain = 2 * time.Second
)

// close calls s.Close with a context that ends after d, and returns by
// then even if Close does not (its goroutine is left to the exit).
func (s *System) close(d time.Duration) error {
	if s.Close == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Close(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		case <-time.After(250 * time.Millisecond):
			return fmt.Errorf("close: %w after %s", context.DeadlineExceeded, d)
		}
	}
}

// session is a verb's logs and system.
type session struct {
	logs *Logs
	sys  *System
}

// done closes the system (bounded by d) and the logs.
func (s *session) done(d time.Duration) {
	if err := s.sys.close(d); err != nil {
		s.logs.Logger("").Warn("close", "err", err)
	}
	_ = s.logs.Close()
}

// oneShot opens the logs (file only) and builds the system for a verb that
// runs once. It never uses the state files, which belong to a running
// monitor.
func (a *app[C]) oneShot(ctx context.Context, c config[C], b Build) (*session, error) {
	logs, err := a.openLogs(c.set, nil)
	if err != nil {
		return nil, err
	}
	b.OneShot = true
	sys, err := a.build(ctx, c, logs, b)
	if err != nil {
		_ = logs.Close()
		return nil, err
	}
	return &session{logs: logs, sys: sys}, nil
}

// buildFailed prints why the system could not be built: exit 2 when
// there is nothing to watch, 1 otherwise.
func (a *app[C]) buildFailed(err error) int {
	fmt.Fprintf(a.stderr, "%s: %s\n", a.cmd.Name, sanitize(oneLine(err.Error())))
	if errors.Is(err, errNothingToWatch) {
		return ExitUsage
	}
	return ExitFailure
}

// statusOf returns the system's status as this command shows it.
func (a *app[C]) statusOf(sys *System) Status {
	st := sys.Status()
	st.Mode, st.Title = a.cmd.Name, a.cmd.Title
	return st
}

// printStatus writes the dashboard or, asJSON, the status as JSON; both
// redacted.
func (a *app[C]) printStatus(st Status, asJSON bool) {
	if asJSON {
		b, err := redactJSON(st, a.red)
		if err != nil {
			a.fail("status: %v", err)
			return
		}
		a.stdout.writeRedacted(b)
		return
	}
	Render(a.stdout, st)
}

// healthCheck checks once: exit 0 healthy, 1 otherwise.
func (a *app[C]) healthCheck(ctx context.Context, args []string) int {
	fs := a.flags("health-check")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	s, err := a.oneShot(ctx, c, Build{})
	if err != nil {
		return a.buildFailed(err)
	}
	defer s.done(oneShotDrain)
	s.sys.Root.CheckNow(ctx)
	st := a.statusOf(s.sys)
	s.logs.Logger("").Info("health check", "status", st.Status.String())
	a.printStatus(st, *asJSON)
	if st.Status != redundancy.StatusHealthy {
		return ExitFailure
	}
	return ExitOK
}

// status shows the running monitor's dashboard, or checks now when none
// runs (exit 3).
func (a *app[C]) status(ctx context.Context, args []string) int {
	fs := a.flags("status")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	pf := a.pidFile(c.set)
	o, err := pf.owner()
	if err != nil {
		return a.fail("status: %v", err)
	}
	if o.Running {
		b, err := readStatus(a.statusFile(c.set))
		var st Status
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			return a.fail("running (pid %d), but its status file is not readable yet: %v", o.PID, err)
		}
		if !*asJSON {
			fmt.Fprintf(a.stdout, "%s: running (pid %d)\n", a.cmd.Name, o.PID)
		}
		a.printStatus(st, *asJSON)
		return ExitOK
	}
	if !*asJSON {
		msg := "not running"
		if o.Stale != "" {
			msg += fmt.Sprintf(" (stale PID file %s: %s)", pf.path, o.Stale)
		}
		fmt.Fprintf(a.stdout, "%s: %s; checking now\n", a.cmd.Name, msg)
	}
	s, err := a.oneShot(ctx, c, Build{})
	if err != nil {
		return a.buildFailed(err)
	}
	defer s.done(oneShotDrain)
	s.sys.Root.CheckNow(ctx)
	a.printStatus(a.statusOf(s.sys), *asJSON)
	return ExitNotRunning
}

// recover plans and applies recoveries now, part by part.
func (a *app[C]) recover(ctx context.Context, args []string) int {
	fs := a.flags("recover")
	dry := fs.Bool("dry-run", false, "print the plan only; change nothing")
	force := fs.Bool("force", false, "recover escalated targets too, whatever their budget (clears escalation)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *dry && *force {
		fmt.Fprintf(a.stderr, "%s: recover: -dry-run and -force do not go together\n", a.cmd.Name)
		return ExitUsage
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	s, err := a.oneShot(ctx, c, Build{DryRun: *dry})
	if err != nil {
		return a.buildFailed(err)
	}
	defer s.done(oneShotDrain)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if *dry {
		var plan []redundancy.PlannedAction
		var errs []error
		for _, p := range s.sys.parts() {
			pl, err := p.Orch.Plan(ctx, p.Targets...)
			plan = append(plan, pl...)
			errs = append(errs, err)
		}
		if len(plan) == 0 {
			fmt.Fprintln(a.stdout, "dry run: nothing to do")
		} else {
			fmt.Fprintln(a.stdout, "dry run: the plan (nothing was done)")
			fmt.Fprintln(tw, "  TARGET\tACTION\tSUBJECT\tREASON")
			for _, pa := range plan {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", sanitize(pa.Target), sanitize(pa.Verb), sanitize(pa.Subject), sanitize(oneLine(pa.Reason)))
			}
			_ = tw.Flush()
		}
		s.logs.Logger("").Info("recover dry run", "actions", len(plan))
		if err := errors.Join(errs...); err != nil {
			fmt.Fprintf(a.stderr, "%s: planning: %s\n", a.cmd.Name, sanitize(oneLine(err.Error())))
			return ExitFailure
		}
		return ExitOK
	}
	var opts []redundancy.RecoverOption
	if *force {
		opts = append(opts, redundancy.Force())
	}
	var results []redundancy.ActionResult
	var errs []error
	for _, p := range s.sys.parts() {
		rs, err := p.Orch.RecoverNow(ctx, p.Targets, opts...)
		results = append(results, rs...)
		errs = append(errs, err)
	}
	if len(results) == 0 {
		fmt.Fprintln(a.stdout, "recover: nothing to do")
	} else {
		fmt.Fprintln(tw, "  TARGET\tACTION\tSUBJECT\tRESULT\tTOOK")
		for _, r := range results {
			res := "ok"
			if !r.OK() {
				res = "FAILED: " + oneLine(r.Error)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", sanitize(r.Target), sanitize(r.Verb), sanitize(r.Subject), sanitize(res), r.Elapsed.Round(time.Millisecond))
		}
		_ = tw.Flush()
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(a.stderr, "%s: recover: %s\n", a.cmd.Name, sanitize(oneLine(err.Error())))
		return ExitFailure
	}
	return ExitOK
}
