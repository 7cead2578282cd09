package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/logging"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy"
)

// oneShot opens the logs and builds the system for a verb that runs once.
// It never uses the state files, which belong to a running monitor. done
// delivers queued alerts and closes the logs.
func (a *app) oneShot(ctx context.Context, cfg *config.Config, bo system.BuildOptions) (sys *system.System, logs *logging.Logs, done func(), err error) {
	logs, err = a.openLogs(cfg, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	bo.NoState = true
	sys, err = a.build(ctx, cfg, logs, bo)
	if err != nil {
		_ = logs.Close()
		return nil, nil, nil, err
	}
	return sys, logs, func() {
		_ = sys.Close(context.Background())
		_ = logs.Close()
	}, nil
}

// healthCheck checks once: exit 0 healthy, 1 otherwise.
func (a *app) healthCheck(ctx context.Context, args []string) int {
	fs := a.flags("health-check")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	sys, logs, done, err := a.oneShot(ctx, cfg, system.BuildOptions{})
	if err != nil {
		return a.fail("%v", err)
	}
	defer done()
	st := sys.CheckNow(ctx)
	logs.Logger().Info("health check", "status", st.Status.String())
	a.printStatus(st, *asJSON)
	if st.Status != redundancy.StatusHealthy {
		return ExitFailure
	}
	return ExitOK
}

func (a *app) printStatus(st system.Status, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return
	}
	system.Render(a.stdout, st)
}

// status shows the running monitor's dashboard, or checks now when none runs.
func (a *app) status(ctx context.Context, args []string) int {
	fs := a.flags("status")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	pid, stale := a.pidFile(cfg).Running()
	if pid > 0 {
		b, err := os.ReadFile(a.statusFile(cfg))
		var st system.Status
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			return a.fail("running (pid %d), but its status file is not readable yet: %v", pid, err)
		}
		if !*asJSON {
			fmt.Fprintf(a.stdout, "%s: running (pid %d)\n", a.mode.Name, pid)
		}
		a.printStatus(st, *asJSON)
		return ExitOK
	}
	if !*asJSON {
		msg := "not running"
		if stale {
			msg += " (stale PID file " + a.pidFile(cfg).Path + ")"
		}
		fmt.Fprintf(a.stdout, "%s: %s; checking now\n", a.mode.Name, msg)
	}
	sys, _, done, err := a.oneShot(ctx, cfg, system.BuildOptions{})
	if err != nil {
		return a.fail("%v", err)
	}
	defer done()
	a.printStatus(sys.CheckNow(ctx), *asJSON)
	return ExitNotRunning
}

// recover plans and applies recoveries now.
func (a *app) recover(ctx context.Context, args []string) int {
	fs := a.flags("recover")
	dry := fs.Bool("dry-run", false, "print the plan only; change nothing")
	force := fs.Bool("force", false, "recover escalated targets too (clears escalation)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	cfg, ok := a.load()
	if !ok {
		return ExitUsage
	}
	sys, logs, done, err := a.oneShot(ctx, cfg, system.BuildOptions{DryRun: *dry})
	if err != nil {
		return a.fail("%v", err)
	}
	defer done()
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if *dry {
		var plan []redundancy.PlannedAction
		var errs []error
		for _, p := range sys.Parts {
			pl, err := p.Orch.Plan(ctx)
			plan = append(plan, pl...)
			errs = append(errs, err)
		}
		if len(plan) == 0 {
			fmt.Fprintln(a.stdout, "dry run: nothing to do")
		} else {
			fmt.Fprintln(a.stdout, "dry run: the plan (nothing was done)")
			fmt.Fprintln(tw, "  TARGET\tACTION\tSUBJECT\tREASON")
			for _, pa := range plan {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", pa.Target, pa.Verb, pa.Subject, oneLine(pa.Reason))
			}
			_ = tw.Flush()
		}
		logs.Logger().Info("recover dry run", "actions", len(plan))
		if err := errors.Join(errs...); err != nil {
			fmt.Fprintf(a.stderr, "%s: planning: %v\n", a.mode.Name, err)
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
	for _, p := range sys.Parts {
		rs, err := p.Orch.RecoverNow(ctx, nil, opts...)
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Target, r.Verb, r.Subject, res, r.Elapsed.Round(time.Millisecond))
		}
		_ = tw.Flush()
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(a.stderr, "%s: recover: %v\n", a.mode.Name, oneLine(err.Error()))
		return ExitFailure
	}
	return ExitOK
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
