package pm2

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/uras-dev/uras/redundancy"
)

// Recoverer plans PM2 repairs from a Checker's report, one Action per
// repair:
//
//   - daemon down: pm2.resurrect; when dump.pm2 is missing or restores
//     nothing, first pm2.restore-dump-backup if dump.pm2.bak lists the
//     expected apps, else pm2.start-ecosystem instead of resurrecting;
//   - errored, stopped, stuck or crash-looping process: pm2.restart by name
//     (the orchestrator's backoff and budget space repeated restarts);
//   - expected app missing: pm2.start-ecosystem --only that app;
//   - memory above the limit: pm2.reload (PM2 restarts fork-mode apps);
//   - oversized log: pm2.rotate-log (see RotateLog);
//   - daemon not answering: pm2.continue-daemon (SIGCONT, in case it was
//     left stopped; a daemon hung otherwise is left to alerting);
//   - dump.pm2 missing, empty or incomplete while the daemon runs: pm2.save.
//
// Any plan that changes processes ends with pm2.save, so that a reboot or a
// resurrect restores the repaired state. Findings it cannot act on (CPU,
// disk, ecosystem) are left to alerting.
type Recoverer struct {
	client Client
	cfg    Config
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

// NewRecoverer returns a recoverer acting through client; give it the
// Config its Checker has.
func NewRecoverer(client Client, cfg Config) *Recoverer {
	return &Recoverer{client: client, cfg: cfg.withDefaults()}
}

// Plan turns the report's findings into actions. It reads the dump files
// (to choose how to bring a dead daemon back) but changes nothing.
func (r *Recoverer) Plan(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if r.client == nil {
		return nil, errors.New("pm2 recoverer: nil Client")
	}
	var (
		actions   []redundancy.Action
		changed   bool // processes change: save the dump afterwards
		restarted = map[string]bool{}
		missing   []string
	)
	if rep.Has(ProblemDaemonDown) {
		daemon, err := r.planDaemon()
		if err != nil {
			return nil, err
		}
		actions = append(actions, daemon...)
		changed = len(daemon) > 0
	}
	if rep.Has(ProblemDaemonUnresponsive) && r.cfg.Home != "" {
		home := r.cfg.Home
		actions = append(actions, redundancy.Action{Verb: VerbContinueDaemon, Subject: SubjectDaemon,
			Reason: "the PM2 daemon does not answer; wake it in case it was left stopped (SIGCONT)",
			Do:     func(context.Context) error { return continueDaemon(home) }})
	}
	for _, f := range rep.Findings {
		switch f.Problem {
		case ProblemErrored, ProblemStopped, ProblemStuck, ProblemCrashLoop:
			if restarted[f.Subject] {
				continue
			}
			restarted[f.Subject] = true
			actions = append(actions, r.restart(f))
			changed = true
		case ProblemMemoryHigh:
			if restarted[f.Subject] {
				continue
			}
			restarted[f.Subject] = true
			actions = append(actions, r.reload(f))
			changed = true
		case ProblemMissing:
			if r.cfg.Ecosystem != "" && !slices.Contains(missing, f.Subject) {
				missing = append(missing, f.Subject)
				actions = append(actions, r.startApps(reason(f), f.Subject))
				changed = true
			}
		case ProblemLogLarge, ProblemDaemonLogLarge:
			actions = append(actions, r.rotate(f))
		}
	}
	dumpBad := rep.Has(ProblemDumpMissing) || rep.Has(ProblemDumpEmpty) || rep.Has(ProblemDumpIncomplete)
	if changed || (dumpBad && !rep.Has(ProblemDaemonDown)) {
		actions = append(actions, redundancy.Action{Verb: VerbSave, Subject: DumpFile,
			Reason: "save the repaired process list so that a reboot restores it",
			Do:     func(ctx context.Context) error { return r.client.Save(ctx) }})
	}
	return actions, nil
}

// planDaemon chooses how to bring a dead daemon back.
func (r *Recoverer) planDaemon() ([]redundancy.Action, error) {
	resurrect := redundancy.Action{Verb: VerbResurrect, Subject: SubjectDaemon, Reason: "the PM2 daemon is down",
		Do: func(ctx context.Context) error { return r.client.Resurrect(ctx) }}
	if r.cfg.Home == "" {
		return []redundancy.Action{resurrect}, nil
	}
	want := r.cfg.appNames()
	dump := ReadDump(filepath.Join(r.cfg.Home, DumpFile))
	if dump.Usable() {
		return []redundancy.Action{resurrect}, nil
	}
	bak := ReadDump(filepath.Join(r.cfg.Home, DumpBackup))
	if bak.Usable() && len(bak.Lacks(want)) == 0 {
		home := r.cfg.Home
		return []redundancy.Action{
			{Verb: VerbRestoreDumpBak, Subject: DumpFile, Reason: "dump.pm2 would restore nothing; dump.pm2.bak lists the expected apps",
				Do: func(context.Context) error { return restoreDumpBackup(home) }},
			resurrect,
		}, nil
	}
	if r.cfg.Ecosystem != "" {
		a := r.startApps("the PM2 daemon is down and no dump restores the expected apps")
		return []redundancy.Action{a}, nil
	}
	// Nothing better to do: resurrect still brings the daemon back.
	return []redundancy.Action{resurrect}, nil
}

func (r *Recoverer) restart(f redundancy.Finding) redundancy.Action {
	name := f.Subject
	return redundancy.Action{Verb: VerbRestart, Subject: name, Reason: reason(f),
		Do: func(ctx context.Context) error { return r.client.Restart(ctx, name) }}
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
			opts := RotateOptions{Now: cfg.Clock.Now(), Keep: cfg.LogKeep, KeepFor: cfg.LogKeepFor}
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
