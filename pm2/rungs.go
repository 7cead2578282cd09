package pm2

// The rungs of each ladder (see ladder.go): what each one does, and when
// it applies.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// appRungs repair an app that is errored, stopped, stuck or crash-looping:
// restart it; then delete it and add it again.
func (r *Recoverer) appRungs(f redundancy.Finding, v guardView, rep redundancy.Report) []rung {
	name := f.Subject
	return []rung{
		{name: "restart", tries: r.cfg.RestartTries, actions: func(mark func(context.Context)) []redundancy.Action {
			return []redundancy.Action{marking(r.restart(f), mark)}
		}},
		{name: "delete and re-add", tries: 1, actions: func(mark func(context.Context)) []redundancy.Action {
			del, ok := r.client.(Deleter)
			if !ok {
				return nil
			}
			src, ok := r.source(name, v, rep)
			if !ok {
				return nil
			}
			a := redundancy.Action{Verb: VerbRecreate, Subject: name,
				Reason: fmt.Sprintf("%s; restarting did not hold: delete %s and add it again from %s", reason(f), name, src.label),
				Do: func(ctx context.Context) error {
					if f.Problem == ProblemErrored || f.Problem == ProblemStopped {
						if back, err := r.onlineNow(ctx, name); err == nil && back {
							return nil // back online since the check: nothing to delete
						}
					}
					if err := del.Delete(ctx, name); err != nil && !errors.Is(err, ErrProcessNotFound) {
						return err
					}
					return src.start(ctx)
				}}
			return []redundancy.Action{marking(a, mark)}
		}},
	}
}

// appSource is where an app can be started from.
type appSource struct {
	from  sourceKind
	label string
	verb  string
	start func(ctx context.Context) error
}

// sourceKind says which kind of source an appSource is.
type sourceKind int

const (
	fromDump sourceKind = iota
	fromBackup
	fromEcosystem
	fromKnownGood
)

// sources lists where app name can be started from, best first: its
// entries in dump.pm2, then dump.pm2.bak (with everything PM2 saved for
// it, its environment included), the ecosystem file (as the user declares
// it), and its known-good definition (which has no environment).
func (r *Recoverer) sources(name string, v guardView, rep redundancy.Report) []appSource {
	var out []appSource
	restorer, canRestore := r.client.(AppRestorer)
	for _, ds := range []struct {
		kind sourceKind
		d    Dump
	}{{fromDump, v.dump}, {fromBackup, v.bak}} {
		if !ds.d.Usable() || len(ds.d.Lacks([]string{name})) > 0 {
			continue
		}
		path := ds.d.Path
		switch {
		case canRestore:
			out = append(out, appSource{from: ds.kind, label: filepath.Base(path), verb: VerbRestoreApp,
				start: func(ctx context.Context) error { return restorer.RestoreApp(ctx, path, name) }})
		case ds.kind == fromDump:
			// pm2 resurrect with the daemon up starts the dumped apps it lacks.
			out = append(out, appSource{from: ds.kind, label: DumpFile + " (pm2 resurrect)", verb: VerbResurrect,
				start: r.resurrect})
		}
	}
	if r.ecosystemUsable(name, rep) {
		file := r.cfg.Ecosystem
		out = append(out, appSource{from: fromEcosystem, label: "the ecosystem file", verb: VerbStartEcosystem,
			start: func(ctx context.Context) error { return r.client.StartEcosystem(ctx, file, name) }})
	}
	if d, ok := v.known.App(name); ok && v.hasKnown && d.Script != "" {
		out = append(out, appSource{from: fromKnownGood, label: "its known-good definition (without its saved environment)", verb: VerbStartKnownGood,
			start: func(ctx context.Context) error { return startDefinition(ctx, r.client, d) }})
	}
	return out
}

// source is the best of sources.
func (r *Recoverer) source(name string, v guardView, rep redundancy.Report) (appSource, bool) {
	s := r.sources(name, v, rep)
	if len(s) == 0 {
		return appSource{}, false
	}
	return s[0], true
}

// ecosystemUsable reports whether the ecosystem file is configured and the
// report says nothing against it (missing, invalid, lacking the app).
func (r *Recoverer) ecosystemUsable(name string, rep redundancy.Report) bool {
	if r.cfg.Ecosystem == "" || rep.Has(ProblemEcosystemMissing) || rep.Has(ProblemEcosystemInvalid) {
		return false
	}
	for _, f := range rep.Findings {
		if f.Problem == ProblemEcosystemAppMissing && f.Subject == name {
			return false
		}
	}
	return true
}

// missingRungs restore an app the daemon does not know, one source per
// rung, one app at a time.
func (r *Recoverer) missingRungs(f redundancy.Finding, v guardView, rep redundancy.Report) []rung {
	name := f.Subject
	var rungs []rung
	labels := map[sourceKind]string{fromDump: DumpFile, fromBackup: DumpBackup, fromEcosystem: "the ecosystem file", fromKnownGood: "its known-good definition"}
	for kind := fromDump; kind <= fromKnownGood; kind++ {
		rungs = append(rungs, rung{name: "start from " + labels[kind], tries: 1, actions: func(mark func(context.Context)) []redundancy.Action {
			for _, s := range r.sources(name, v, rep) {
				if s.from != kind {
					continue
				}
				a := redundancy.Action{Verb: s.verb, Subject: name, Reason: fmt.Sprintf("%s: start it from %s", reason(f), s.label),
					Do: r.ifMissing(name, s.start)}
				return []redundancy.Action{marking(a, mark)}
			}
			return nil
		}})
	}
	return rungs
}

// ifMissing runs start unless the daemon already runs app name (a retry
// after the first try took effect, or a person was faster).
func (r *Recoverer) ifMissing(name string, start func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		procs, err := r.client.List(ctx)
		if err == nil && containsName(procs, name) {
			return nil
		}
		return start(ctx)
	}
}

// daemonDownRungs bring a dead daemon back: resurrect from a dump.pm2 that
// lists the guarded apps; restore a dump.pm2.bak that does and resurrect;
// start the ecosystem file; start every app of the known-good list; and,
// as long as something can still be saved, resurrect a dump that lacks
// apps, or bring the daemon back empty when nothing can restore them.
func (r *Recoverer) daemonDownRungs(v guardView, rep redundancy.Report) []rung {
	resurrect := func(why string) redundancy.Action {
		return redundancy.Action{Verb: VerbResurrect, Subject: SubjectDaemon, Reason: why, Do: r.resurrect}
	}
	home := r.cfg.Home
	hasEco := r.cfg.Ecosystem != "" && !rep.Has(ProblemEcosystemMissing) && !rep.Has(ProblemEcosystemInvalid)
	noDumps := home == "" || (!v.dump.Usable() && !v.bak.Usable())
	return []rung{
		{name: "resurrect from dump.pm2", actions: func(mark func(context.Context)) []redundancy.Action {
			if home != "" && !v.covers(v.dump) {
				return nil
			}
			return []redundancy.Action{marking(resurrect("the PM2 daemon is down; dump.pm2 lists "+listed(v)), mark)}
		}},
		{name: "restore dump.pm2.bak", actions: func(mark func(context.Context)) []redundancy.Action {
			if home == "" || !v.covers(v.bak) {
				return nil
			}
			return []redundancy.Action{
				marking(redundancy.Action{Verb: VerbRestoreDumpBak, Subject: DumpFile,
					Reason: "the PM2 daemon is down and dump.pm2 would not restore " + listed(v) + "; dump.pm2.bak does",
					Do: func(ctx context.Context) error {
						if v := r.guard.view(ctx); v.covers(v.dump) {
							return nil // dump.pm2 was repaired meanwhile
						}
						return restoreDumpBackup(home)
					}}, mark),
				resurrect("resurrect from the restored dump.pm2"),
			}
		}},
		{name: "start the ecosystem file", actions: func(mark func(context.Context)) []redundancy.Action {
			if !hasEco {
				return nil
			}
			return []redundancy.Action{marking(r.startApps("the PM2 daemon is down and no dump restores "+listed(v)), mark)}
		}},
		{name: "start the known-good list", actions: func(mark func(context.Context)) []redundancy.Action {
			if !v.hasKnown {
				return nil
			}
			var out []redundancy.Action
			for _, d := range v.known.Apps {
				if d.Script == "" {
					continue
				}
				out = append(out, marking(redundancy.Action{Verb: VerbStartKnownGood, Subject: d.Name,
					Reason: "the PM2 daemon is down and no dump restores it: start it from its known-good definition (without its saved environment)",
					Do:     func(ctx context.Context) error { return startDefinition(ctx, r.client, d) }}, mark))
			}
			return out
		}},
		{name: "resurrect what dump.pm2 has", actions: func(mark func(context.Context)) []redundancy.Action {
			if home == "" || !v.dump.Usable() || v.covers(v.dump) {
				return nil
			}
			return []redundancy.Action{marking(resurrect("the PM2 daemon is down; nothing restores every guarded app: resurrect the "+
				strings.Join(uniq(v.dump.Names), ", ")+" dump.pm2 lists"), mark)}
		}},
		{name: "bring the daemon back", actions: func(mark func(context.Context)) []redundancy.Action {
			if home == "" || !noDumps || hasEco || v.hasKnown {
				return nil
			}
			return []redundancy.Action{marking(resurrect("the PM2 daemon is down and nothing saved restores its apps: bring it back"), mark)}
		}},
	}
}

// hungRungs repair a daemon that does not answer: wake it (SIGCONT); then
// kill it, once proven to be this home's daemon, and bring it back with
// the first rung of the daemon-down ladder that applies.
func (r *Recoverer) hungRungs(v guardView, rep redundancy.Report) []rung {
	home := r.cfg.Home
	return []rung{
		{name: "SIGCONT", actions: func(mark func(context.Context)) []redundancy.Action {
			if home == "" {
				return nil
			}
			return []redundancy.Action{marking(redundancy.Action{Verb: VerbContinueDaemon, Subject: SubjectDaemon,
				Reason: "the PM2 daemon does not answer; wake it in case it was left stopped (SIGCONT)",
				Do:     func(context.Context) error { return continueDaemon(home) }}, mark)}
		}},
		{name: "kill and bring back", actions: func(mark func(context.Context)) []redundancy.Action {
			if home == "" || !canKillDaemon {
				return nil
			}
			kill := marking(redundancy.Action{Verb: VerbKillDaemon, Subject: SubjectDaemon,
				Reason: "the PM2 daemon still does not answer after SIGCONT: kill it (and the apps it started) by its pm2.pid",
				Do:     func(ctx context.Context) error { return r.killHungDaemon(ctx) }}, mark)
			for _, next := range r.daemonDownRungs(v, rep) {
				if as := next.actions(func(context.Context) {}); len(as) > 0 {
					return append([]redundancy.Action{kill}, as...)
				}
			}
			return nil
		}},
	}
}

// killHungDaemon pings the daemon once more and, when it still does not
// answer, kills it (see killDaemon).
func (r *Recoverer) killHungDaemon(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.DaemonTimeout)
	defer cancel()
	err := pingClient(pctx, r.client)
	switch {
	case err == nil:
		return nil // it answers again: nothing to kill
	case errors.Is(err, ErrDaemonDown):
		return nil // already gone
	case ctx.Err() != nil:
		return ctx.Err()
	case pctx.Err() == nil:
		// It answered, wrongly: that is no hang, and no reason to kill it.
		return fmt.Errorf("pm2: the daemon is not hung (its ping failed at once: %w); not killing it", err)
	}
	return killDaemon(ctx, r.cfg.Home)
}

// listed names the guarded apps for a reason.
func listed(v guardView) string {
	if len(v.want) == 0 {
		return "its apps"
	}
	return strings.Join(v.want, ", ")
}

// resurrect runs pm2 resurrect, first setting aside the dump files that do
// not decode, which PM2 would delete (see keepUnreadableDumps).
func (r *Recoverer) resurrect(ctx context.Context) error {
	if err := keepUnreadableDumps(r.cfg.Home, r.cfg.Clock.Now()); err != nil {
		return err
	}
	return r.client.Resurrect(ctx)
}
