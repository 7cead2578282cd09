package pm2

import (
	"context"
	"fmt"
	"slices"

	"github.com/uras-dev/uras/redundancy"
)

// planOps plans the repairs of what checker_ops finds:
//
//   - (probe failed, or online with a dead pid: the errored ladder of Plan);
//   - port held outside PM2 by a process declared ours (Probe.OwnHolders):
//     pm2.stop-port-holder for each such holder, then pm2.restart the app.
//     A holder not declared ours is left alone (alert only);
//   - daemon above its memory bound: pm2.update, only when
//     Config.MaintenanceWindow says now is inside a window, the client is
//     an Updater, and nothing else in the report concerns the apps or the
//     dump (pm2 update saves the process list as it runs).
//
// restarted holds the apps the plan already restarts; it is updated.
// changed reports whether the actions change processes (the plan should
// then end with a save).
func (r *Recoverer) planOps(ctx context.Context, rep redundancy.Report, restarted map[string]bool) (actions []redundancy.Action, changed bool) {
	restart := func(f redundancy.Finding) {
		if !restarted[f.Subject] {
			restarted[f.Subject] = true
			actions = append(actions, r.restart(f))
			changed = true
		}
	}
	for _, f := range rep.Findings {
		switch f.Problem {
		case ProblemPortHeld:
			stops := r.stopPortHolders(ctx, f)
			if len(stops) > 0 {
				actions = append(actions, stops...)
				restart(f)
			}
		}
	}
	if a, ok := r.updateDaemon(rep); ok {
		actions = append(actions, a)
		changed = true
	}
	return actions, changed
}

// stopPortHolders plans a pm2.stop-port-holder for each process outside PM2
// declared ours that holds the app's port now (the world is read again: a
// holder gone since the check is not planned for).
func (r *Recoverer) stopPortHolders(ctx context.Context, f redundancy.Finding) []redundancy.Action {
	app, ok := r.cfg.app(f.Subject)
	if !ok || app.Probe == nil || len(app.Probe.OwnHolders) == 0 {
		return nil
	}
	port := app.Probe.port()
	if port == 0 {
		return nil
	}
	procs, err := r.client.List(ctx)
	if err != nil {
		return nil
	}
	pm2pids := map[int]bool{}
	for _, p := range procs {
		if p.PID > 0 {
			pm2pids[p.PID] = true
		}
	}
	if pid := godPID(r.cfg.Home); pid > 0 {
		pm2pids[pid] = true
	}
	holders, err := portHolders(port, pm2pids, app.Probe.OwnHolders)
	if err != nil {
		return nil
	}
	var out []redundancy.Action
	for _, h := range holders {
		if !h.Ours || h.PID <= 0 {
			continue
		}
		own := slices.Clone(app.Probe.OwnHolders)
		out = append(out, redundancy.Action{Verb: VerbStopPortHolder, Subject: f.Subject,
			Reason: fmt.Sprintf("port %d is held by %s, outside PM2 and declared ours", port, h),
			Do:     func(ctx context.Context) error { return stopHolder(ctx, h, port, own) }})
	}
	return out
}

// opsQuiet are the problems that leave the apps and the dump as they
// should be: pm2 update may run beside them.
var opsQuiet = []redundancy.Problem{ProblemDaemonMemoryHigh, ProblemLogLarge, ProblemDaemonLogLarge,
	ProblemLogOutsideDirs, ProblemDiskLow, ProblemCPUHigh}

// updateDaemon plans pm2.update for a daemon above its memory bound, when
// allowed (see planOps).
func (r *Recoverer) updateDaemon(rep redundancy.Report) (redundancy.Action, bool) {
	if !rep.Has(ProblemDaemonMemoryHigh) || r.cfg.MaintenanceWindow == nil || !r.cfg.MaintenanceWindow(r.cfg.Clock.Now()) {
		return redundancy.Action{}, false
	}
	u, ok := r.client.(Updater)
	if !ok {
		return redundancy.Action{}, false
	}
	for _, f := range rep.Findings {
		if !slices.Contains(opsQuiet, f.Problem) {
			return redundancy.Action{}, false
		}
	}
	reason := "the PM2 daemon is above its memory bound, inside a maintenance window: replace it (pm2 update)"
	for _, f := range rep.Findings {
		if f.Problem == ProblemDaemonMemoryHigh {
			reason = reason + "; " + f.Detail
		}
	}
	return redundancy.Action{Verb: VerbUpdate, Subject: SubjectDaemon, Reason: reason,
		Do: func(ctx context.Context) error { return r.guard.update(ctx, u) }}, true
}
