package pm2

import (
	"context"
	"errors"
	"fmt"

	"github.com/uras-dev/uras/redundancy"
)

// Recoverer plans PM2 repairs from a Checker's report, one Action per
// repair, each failure climbing its own ladder (see ladder.go): one rung
// per recovery attempt, the next rung only when the last one did not
// hold, and Plan's error wrapping redundancy.ErrExhausted (the target
// escalates at once) when the last rung of a ladder was tried:
//
//   - errored, stopped, stuck or crash-looping app: pm2.restart (by name,
//     Config.RestartTries attempts), then pm2.recreate (delete it and add
//     it again from dump.pm2, dump.pm2.bak, the ecosystem file or its
//     known-good definition);
//   - expected app missing: pm2.restore-app from dump.pm2, then from
//     dump.pm2.bak (PM2's own resurrect step for that app alone, its saved
//     environment included), pm2.start-ecosystem --only that app,
//     pm2.start-known-good;
//   - daemon down: pm2.resurrect from a dump.pm2 that lists every guarded
//     app, pm2.restore-dump-backup and pm2.resurrect, pm2.start-ecosystem,
//     pm2.start-known-good for each app;
//   - daemon not answering a ping: pm2.continue-daemon (SIGCONT), then
//     pm2.kill-daemon (only the pm2.pid process proven to be this home's
//     daemon, and the apps it started) and the first daemon-down rung;
//   - memory above the limit: pm2.reload (PM2 restarts fork-mode apps);
//   - oversized log: pm2.rotate-log (see RotateLog);
//   - dump.pm2.bak lacking guarded apps: pm2.repair-dump-backup.
//
// Any plan that changes processes, or that finds dump.pm2 missing, empty
// or incomplete, ends with the guarded pm2.save: it runs only while every
// guarded app is online, and leaves dump.pm2 and dump.pm2.bak both listing
// them (see guard.go). Findings it cannot act on (CPU, disk, ecosystem)
// are left to alerting.
type Recoverer struct {
	client  Client
	cfg     Config
	guard   *guard
	ladders *ladders
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

// NewRecoverer returns a recoverer acting through client; give it the
// Config its Checker has (the same Store above all).
func NewRecoverer(client Client, cfg Config) *Recoverer {
	cfg = cfg.withDefaults()
	return &Recoverer{client: client, cfg: cfg, guard: newGuard(client, cfg), ladders: newLadders(cfg)}
}

// Plan turns the report's findings into actions. It reads the dump files,
// the known-good list and the ladders (to choose the rung) but changes
// nothing: the actions mark their rungs when they run, so a dry run moves
// no ladder.
func (r *Recoverer) Plan(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if r.client == nil {
		return nil, errors.New("pm2: recoverer: nil Client")
	}
	v := r.guard.view(ctx)
	var (
		actions []redundancy.Action
		errs    []error
		changed bool // processes change: save the dump afterwards
		handled = map[string]bool{}
	)
	climb := func(kind ladderKind, subject string, rungs []rung) {
		as, err := r.ladders.climb(ctx, kind, subject, rungs)
		if err != nil {
			errs = append(errs, err)
			return
		}
		actions = append(actions, as...)
		changed = true
	}
	down, hung := rep.Has(ProblemDaemonDown), rep.Has(ProblemDaemonUnresponsive)
	switch {
	case down:
		climb(ladderDaemonDown, SubjectDaemon, r.daemonDownRungs(v, rep))
	case hung:
		climb(ladderDaemonHung, SubjectDaemon, r.hungRungs(v, rep))
		// A save after SIGCONT alone would wait on a daemon that may still
		// not answer: the next check tells.
		changed = len(actions) > 1
	}
	// A port held by a process declared ours is freed before the app's
	// restart (planOps restarts the app itself, so the ladder skips it).
	ops, opsChanged := r.planOps(ctx, rep, handled)
	actions = append(actions, ops...)
	changed = changed || opsChanged
	for _, f := range rep.Findings {
		switch f.Problem {
		case ProblemErrored, ProblemStopped, ProblemStuck, ProblemCrashLoop, ProblemProbeFailed, ProblemOnlineDead:
			if !handled[f.Subject] {
				handled[f.Subject] = true
				climb(ladderApp, f.Subject, r.appRungs(f, v, rep))
			}
		case ProblemMemoryHigh:
			if !handled[f.Subject] {
				handled[f.Subject] = true
				actions = append(actions, r.reload(f))
				changed = true
			}
		case ProblemMissing:
			if !handled[f.Subject] {
				handled[f.Subject] = true
				climb(ladderMissing, f.Subject, r.missingRungs(f, v, rep))
			}
		case ProblemLogLarge, ProblemDaemonLogLarge:
			actions = append(actions, r.rotate(f))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	up := !down && !hung
	dumpBad := rep.Has(ProblemDumpMissing) || rep.Has(ProblemDumpEmpty) || rep.Has(ProblemDumpIncomplete)
	switch {
	case changed || (dumpBad && up):
		actions = append(actions, r.guard.saveAction("save the repaired process list (guarded: "+v.from+") so that a reboot restores it"))
	case rep.Has(ProblemDumpBackupIncomplete) && up:
		actions = append(actions, r.guard.repairBackupAction("dump.pm2.bak lacks guarded apps: copy the complete dump.pm2 over it"))
	}
	return actions, nil
}

func (r *Recoverer) restart(f redundancy.Finding) redundancy.Action {
	name := f.Subject
	return redundancy.Action{Verb: VerbRestart, Subject: name, Reason: reason(f),
		Do: func(ctx context.Context) error {
			if f.Problem == ProblemErrored || f.Problem == ProblemStopped {
				// Read the list again: PM2's autorestart or a person may
				// have brought the app back since the check, and a second
				// restart would only cut it off.
				if back, err := r.onlineNow(ctx, name); err == nil && back {
					return nil
				}
			}
			return r.client.Restart(ctx, name)
		}}
}

// onlineNow reports whether every process named name is online now (and
// there is one).
func (r *Recoverer) onlineNow(ctx context.Context, name string) (bool, error) {
	procs, err := r.client.List(ctx)
	if err != nil {
		return false, err
	}
	n := 0
	for _, p := range procs {
		if p.Name != name {
			continue
		}
		if p.Status != StatusOnline {
			return false, nil
		}
		n++
	}
	return n > 0, nil
}

func (r *Recoverer) reload(f redundancy.Finding) redundancy.Action {
	name := f.Subject
	return redundancy.Action{Verb: VerbReload, Subject: name, Reason: reason(f),
		Do: func(ctx context.Context) error { return r.client.Reload(ctx, name) }}
}

// startApps starts the ecosystem file, limited to only when given.
func (r *Recoverer) startApps(reason string, only ...string) redundancy.Action {
	file := r.cfg.Ecosystem
	subject := file
	if len(only) == 1 {
		subject = only[0]
	}
	return redundancy.Action{Verb: VerbStartEcosystem, Subject: subject, Reason: reason,
		Do: func(ctx context.Context) error { return r.client.StartEcosystem(ctx, file, only...) }}
}

func (r *Recoverer) rotate(f redundancy.Finding) redundancy.Action {
	path := f.Subject
	cfg := r.cfg
	return redundancy.Action{Verb: VerbRotateLog, Subject: path, Reason: reason(f),
		Do: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			opts := RotateOptions{Now: cfg.Clock.Now(), Keep: cfg.LogKeep, KeepFor: cfg.LogKeepFor, Within: cfg.rotateWithin()}
			if cfg.Home != "" {
				opts.Pause = PauseDaemon(cfg.Home)
			}
			if _, err := RotateLog(path, opts); err != nil {
				return fmt.Errorf("pm2.rotate-log: %w", err)
			}
			return nil
		}}
}

// reason words a finding as an action's reason.
func reason(f redundancy.Finding) string {
	if f.Detail == "" {
		return string(f.Problem)
	}
	return string(f.Problem) + ": " + f.Detail
}
