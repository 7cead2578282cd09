package ghactions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// Errors Plan returns.
var (
	// ErrBackupWorkflowNotFound: the configured backup workflow is not in
	// the repository.
	ErrBackupWorkflowNotFound = errors.New("ghactions: backup workflow not found")
	// ErrRecoverySpent: a failed run's re-runs and backup dispatch are
	// used up and nothing else could be planned. It wraps
	// redundancy.ErrExhausted, so the orchestrator escalates at once.
	ErrRecoverySpent = fmt.Errorf("ghactions: re-runs and backup dispatch spent: %w", redundancy.ErrExhausted)
	// ErrCancelRefused: GitHub would not end a stuck run, neither by
	// cancel nor by force-cancel. It wraps redundancy.ErrExhausted: the
	// recoverer does not loop on a cancel that cannot land.
	ErrCancelRefused = fmt.Errorf("ghactions: run cannot be cancelled: %w", redundancy.ErrExhausted)
	// ErrDisabledByPerson: an enable action found the workflow turned off
	// by a person (disabled_manually) since the check, and left it off
	// (unless WithEnableManuallyDisabled).
	ErrDisabledByPerson = errors.New("ghactions: workflow disabled by a person")
)

// RerunWindow is how long after it was created GitHub re-runs a run: it
// refuses (403, "created over a month ago") after. An older failed run
// goes straight to the backup dispatch.
const RerunWindow = 30 * 24 * time.Hour

// Recoverer plans repairs for a Checker's findings:
//
//   - a workflow disabled for inactivity or in a fork: enable it;
//     disabled_manually only with WithEnableManuallyDisabled(true);
//   - a failed newest run: re-run its failed jobs while its run_attempt is
//     at most WithMaxReruns and it is younger than RerunWindow; then
//     dispatch the WithBackupWorkflow workflow on the branch, once per
//     failed run (enabling it first if GitHub disabled it); then nothing:
//     when the plan is otherwise empty, Plan returns an error wrapping
//     ErrRecoverySpent (and so redundancy.ErrExhausted): the orchestrator
//     escalates;
//   - a stuck run (queued or in progress past the bound): cancel it, and
//     once it has ended start it afresh. Cancellation is asynchronous: the
//     cancel action waits for the run to end (WithCancelWait) and never
//     sends a second cancel; a run whose cancel answers 409 while it is
//     not completed (a zombie), or that has not ended WithForceCancelAfter
//     after its cancel, is force-cancelled; the fresh start is then a
//     workflow_dispatch run (or a re-run when the workflow has no
//     workflow_dispatch trigger). A run that even force-cancel cannot end
//     is given up: ErrCancelRefused;
//   - a run waiting for a review: nothing (the finding is an alert).
//
// Plans come in dependency order whatever order the findings came in:
// enables first, then cancels, then re-runs and dispatches (GitHub refuses
// to dispatch a disabled workflow).
//
// Every action is safe to repeat: before it retries a re-run, a dispatch
// or a cancel it reads GitHub again (has run_attempt grown? is there a
// workflow_dispatch run newer than the decision? has the run ended?), so
// an answer lost after its effect (a 5xx, a timeout) never makes a second
// re-run or dispatch for one decision.
//
// It plans from the checker's last observation and makes no calls in
// Plan. A report with Err set gets an empty plan. A Recoverer is safe for
// concurrent use.
type Recoverer struct {
	c *Checker
	s settings

	mu         sync.Mutex
	dispatched map[int64]bool      // failed run id -> backup workflow dispatched for it
	cancels    map[int64]*cancelOp // stuck run id -> what its cancel did
	dispatches map[string]*sendOp  // decision key -> an ambiguous dispatch in flight
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

// NewRecoverer returns a recoverer for c's findings. It takes
// WithMaxReruns, WithBackupWorkflow, WithEnableManuallyDisabled,
// WithCancelWait, WithForceCancelAfter and WithPollInterval. Its clock is
// c's.
func NewRecoverer(c *Checker, opts ...Option) (*Recoverer, error) {
	if c == nil {
		return nil, errors.New("ghactions: NewRecoverer: checker is nil")
	}
	s, err := build("NewRecoverer", opts, "WithMaxReruns", "WithBackupWorkflow", "WithEnableManuallyDisabled",
		"WithCancelWait", "WithForceCancelAfter", "WithPollInterval")
	if err != nil {
		return nil, err
	}
	s.clock = c.s.clock
	return &Recoverer{c: c, s: s, dispatched: map[int64]bool{}, cancels: map[int64]*cancelOp{}, dispatches: map[string]*sendOp{}}, nil
}

// step ranks actions: a plan runs enables, then cancels, then starts.
type step int

const (
	stepEnable step = iota
	stepCancel
	stepStart
)

type planned struct {
	step step
	a    redundancy.Action
}

// Plan implements redundancy.Recoverer. It makes no calls.
func (r *Recoverer) Plan(_ context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if rep.Err != nil {
		return nil, nil
	}
	obs := r.c.Observed()
	byPath := map[string]WorkflowInfo{}
	for _, w := range obs.Workflows {
		byPath[w.Path] = w
	}
	var plan []planned
	var spent []error
	seen := map[string]bool{}
	enabled := map[int64]bool{}
	enable := func(w WorkflowInfo, reason string) {
		if !enabled[w.ID] {
			enabled[w.ID] = true
			plan = append(plan, planned{stepEnable, r.enable(w, reason)})
		}
	}
	for _, f := range rep.Findings {
		key := string(f.Problem) + "\x00" + f.Subject
		if seen[key] {
			continue
		}
		seen[key] = true
		w, ok := byPath[f.Subject]
		if !ok {
			continue
		}
		switch f.Problem {
		case ProblemWorkflowDisabled:
			enable(w, f.Detail)
		case ProblemWorkflowDisabledManually:
			if r.s.enableMan {
				enable(w, f.Detail)
			}
		case ProblemRunFailed:
			ps, isSpent, err := r.failed(obs, w, f.Detail, enable)
			if err != nil {
				return nil, err
			}
			if isSpent {
				spent = append(spent, fmt.Errorf("ghactions: %s: %s: %w", w.Path, f.Detail, ErrRecoverySpent))
			}
			plan = append(plan, ps...)
		case ProblemRunStuck:
			for _, run := range w.Stuck {
				if op := r.cancelOf(run.ID); op != nil && op.hopeless {
					spent = append(spent, fmt.Errorf("ghactions: %s: run %d: %w", w.Path, run.ID, ErrCancelRefused))
					continue
				}
				plan = append(plan, planned{stepCancel, r.cancel(w, run, obs.Branch)},
					planned{stepStart, r.restart(w, run, obs.Branch)})
			}
		case ProblemRunCancelled:
			// A run this recoverer cancelled that ended after the
			// attempt that cancelled it: start it afresh now.
			if run := w.Newest; run != nil {
				if op := r.cancelOf(run.ID); op != nil && !op.restarted {
					plan = append(plan, planned{stepStart, r.restart(w, *run, obs.Branch)})
				}
			}
		}
	}
	if len(plan) == 0 && len(spent) > 0 {
		return nil, errors.Join(spent...)
	}
	sort.SliceStable(plan, func(i, j int) bool { return plan[i].step < plan[j].step })
	out := make([]redundancy.Action, len(plan))
	for i, p := range plan {
		out[i] = p.a
	}
	return out, nil
}

func (r *Recoverer) enable(w WorkflowInfo, reason string) redundancy.Action {
	repo := r.c.repo
	return redundancy.Action{
		Verb: VerbEnableWorkflow, Subject: w.Path, Reason: reason,
		Do: func(ctx context.Context) error {
			// Read the state again: a person who turned the workflow off
			// since the check (disabled_manually) meant it.
			if w.State != WorkflowDisabledManually && !r.s.enableMan {
				ws, err := r.c.listWorkflows(ctx, func(*github.Response) {})
				if err != nil {
					return fmt.Errorf("ghactions: enable workflow %s of %s: %w", w.Path, repo.FullName(), err)
				}
				for _, cur := range ws {
					if cur.ID == w.ID && cur.State == WorkflowDisabledManually {
						return fmt.Errorf("ghactions: enable workflow %s of %s: a person disabled it since the check (disabled_manually): %w",
							w.Path, repo.FullName(), ErrDisabledByPerson)
					}
				}
			}
			// Enabling is idempotent: GitHub answers 204 for an active one.
			if _, err := r.c.api.EnableWorkflowByID(ctx, repo.Owner, repo.Name, w.ID); err != nil {
				return fmt.Errorf("ghactions: enable workflow %s of %s: %w", w.Path, repo.FullName(), err)
			}
			return nil
		},
	}
}

// failed plans for a failed newest run: a re-run of its failed jobs, or the
// backup dispatch (after enabling the backup workflow if needed), or
// nothing (spent).
func (r *Recoverer) failed(obs Observation, w WorkflowInfo, reason string, enable func(WorkflowInfo, string)) (plan []planned, spent bool, err error) {
	run := w.Newest
	if run == nil || run.Status != RunCompleted {
		return nil, false, nil
	}
	repo := r.c.repo
	if run.Attempt <= r.s.maxReruns && obs.Time.Sub(run.Created) < RerunWindow {
		return []planned{{stepStart, redundancy.Action{
			Verb: VerbRerunFailedJobs, Subject: w.Path,
			Reason: fmt.Sprintf("%s (re-run %d of %d)", reason, run.Attempt, r.s.maxReruns),
			Do: func(ctx context.Context) error {
				return r.rerunOnce(ctx, w, *run, true)
			},
		}}}, false, nil
	}
	if r.s.backupWF == "" {
		return nil, true, nil
	}
	r.mu.Lock()
	done := r.dispatched[run.ID]
	r.mu.Unlock()
	if done {
		return nil, true, nil
	}
	var backup *WorkflowInfo
	for i := range obs.Workflows {
		if b := obs.Workflows[i]; b.State != WorkflowDeleted && matchWorkflow(r.s.backupWF, b.Path, b.Name) {
			backup = &b
			break
		}
	}
	if backup == nil {
		return nil, false, fmt.Errorf("%w: %q in %s", ErrBackupWorkflowNotFound, r.s.backupWF, repo.FullName())
	}
	switch backup.State {
	case WorkflowActive:
	case WorkflowDisabledInactivity, WorkflowDisabledFork:
		enable(*backup, fmt.Sprintf("backup workflow %s is %s; GitHub refuses to dispatch a disabled workflow", backup.Path, backup.State))
	case WorkflowDisabledManually:
		if !r.s.enableMan {
			return nil, true, nil // a person turned it off: not ours to dispatch
		}
		enable(*backup, fmt.Sprintf("backup workflow %s is disabled_manually (enabling allowed)", backup.Path))
	default:
		return nil, true, nil
	}
	b := *backup
	key := fmt.Sprintf("backup/%d/%d", run.ID, run.Attempt)
	return []planned{{stepStart, redundancy.Action{
		Verb: VerbDispatchWorkflow, Subject: b.Path,
		Reason: fmt.Sprintf("%s; %d re-runs spent, dispatching backup workflow on %s", reason, r.s.maxReruns, obs.Branch),
		Do: func(ctx context.Context) error {
			// The decision: one backup run after this failed attempt ended.
			if err := r.dispatchOnce(ctx, b, obs.Branch, key, run.Updated); err != nil {
				return err
			}
			r.mu.Lock()
			r.dispatched[run.ID] = true
			r.mu.Unlock()
			return nil
		},
	}}}, false, nil
}

// cancelOf returns what the recoverer did to cancel run id, or nil.
func (r *Recoverer) cancelOf(id int64) *cancelOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	if op := r.cancels[id]; op != nil {
		c := *op
		return &c
	}
	return nil
}

// sleep waits d on the clock, or until ctx ends.
func (r *Recoverer) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-r.s.clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
