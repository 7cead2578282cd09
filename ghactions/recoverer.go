package ghactions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// Errors Plan returns.
var (
	// ErrBackupWorkflowNotFound: the configured backup workflow is not in
	// the repository.
	ErrBackupWorkflowNotFound = errors.New("backup workflow not found")
	// ErrRecoverySpent: a failed run's re-runs and backup dispatch are
	// used up and nothing else could be planned. It wraps
	// redundancy.ErrExhausted, so the orchestrator escalates at once.
	ErrRecoverySpent = fmt.Errorf("github: re-runs and backup dispatch spent: %w", redundancy.ErrExhausted)
)

// Recoverer plans repairs for a Checker's findings:
//
//   - a workflow disabled for inactivity or in a fork: enable it;
//     disabled_manually only with WithEnableManuallyDisabled(true);
//   - a failed newest run: re-run its failed jobs while its run_attempt is
//     at most WithMaxReruns; then dispatch the WithBackupWorkflow workflow on
//     the branch, once per failed run; then nothing: when the plan is
//     otherwise empty, Plan returns an error wrapping ErrRecoverySpent
//     (and so redundancy.ErrExhausted): the orchestrator escalates;
//   - a stuck run: cancel it (GitHub's 202, go-github's *AcceptedError, is
//     success), then re-run it once GitHub reports it completed.
//
// It plans from the checker's last observation. A report with Err set gets
// an empty plan. A Recoverer is safe for concurrent use.
type Recoverer struct {
	c *Checker
	s settings

	mu         sync.Mutex
	dispatched map[int64]bool // failed run id -> backup workflow dispatched for it
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

// NewRecoverer returns a recoverer for c's findings. It takes
// WithMaxReruns, WithBackupWorkflow and WithEnableManuallyDisabled.
func NewRecoverer(c *Checker, opts ...Option) (*Recoverer, error) {
	if c == nil {
		return nil, errors.New("ghactions: NewRecoverer: checker is nil")
	}
	s, err := build("NewRecoverer", opts, "WithMaxReruns", "WithBackupWorkflow", "WithEnableManuallyDisabled")
	if err != nil {
		return nil, err
	}
	return &Recoverer{c: c, s: s, dispatched: map[int64]bool{}}, nil
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
	var plan []redundancy.Action
	var spent []error
	seen := map[string]bool{}
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
			plan = append(plan, r.enable(w, f.Detail))
		case ProblemWorkflowDisabledManually:
			if r.s.enableMan {
				plan = append(plan, r.enable(w, f.Detail))
			}
		case ProblemRunFailed:
			a, isSpent, err := r.failed(obs, w, f.Detail)
			if err != nil {
				return nil, err
			}
			if isSpent {
				spent = append(spent, fmt.Errorf("ghactions: %s: %s: %w", w.Path, f.Detail, ErrRecoverySpent))
			}
			plan = append(plan, a...)
		case ProblemRunStuck:
			for _, run := range w.Stuck {
				plan = append(plan, r.cancel(w, run), r.rerun(w, run))
			}
		}
	}
	if len(plan) == 0 && len(spent) > 0 {
		return nil, errors.Join(spent...)
	}
	return plan, nil
}

func (r *Recoverer) enable(w WorkflowInfo, reason string) redundancy.Action {
	repo := r.c.repo
	return redundancy.Action{
		Verb: VerbEnableWorkflow, Subject: w.Path, Reason: reason,
		Do: func(ctx context.Context) error {
			if _, err := r.c.api.EnableWorkflowByID(ctx, repo.Owner, repo.Name, w.ID); err != nil {
				return fmt.Errorf("github: enable workflow %s of %s/%s: %w", w.Path, repo.Owner, repo.Name, err)
			}
			return nil
		},
	}
}

func (r *Recoverer) failed(obs Observation, w WorkflowInfo, reason string) (actions []redundancy.Action, spent bool, err error) {
	run := w.Newest
	if run == nil || run.Status != RunCompleted {
		return nil, false, nil
	}
	repo := r.c.repo
	if run.Attempt <= r.s.maxReruns {
		return []redundancy.Action{{
			Verb: VerbRerunFailedJobs, Subject: w.Path,
			Reason: fmt.Sprintf("%s (re-run %d of %d)", reason, run.Attempt, r.s.maxReruns),
			Do: func(ctx context.Context) error {
				if _, err := r.c.api.RerunFailedJobsByID(ctx, repo.Owner, repo.Name, run.ID); err != nil {
					return fmt.Errorf("github: re-run failed jobs of run %d (%s): %w", run.ID, w.Path, err)
				}
				return nil
			},
		}}, false, nil
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
		if b := obs.Workflows[i]; matchWorkflow(r.s.backupWF, b.Path, b.Name) {
			backup = &b
			break
		}
	}
	if backup == nil {
		return nil, false, fmt.Errorf("ghactions: %w: %q in %s/%s", ErrBackupWorkflowNotFound, r.s.backupWF, repo.Owner, repo.Name)
	}
	return []redundancy.Action{{
		Verb: VerbDispatchWorkflow, Subject: backup.Path,
		Reason: fmt.Sprintf("%s; %d re-runs spent, dispatching backup workflow on %s", reason, r.s.maxReruns, repo.Branch),
		Do: func(ctx context.Context) error {
			_, err := r.c.api.CreateWorkflowDispatchEventByID(ctx, repo.Owner, repo.Name, backup.ID,
				github.CreateWorkflowDispatchEventRequest{Ref: repo.Branch})
			if err != nil {
				return fmt.Errorf("github: dispatch backup workflow %s on %s: %w", backup.Path, repo.Branch, err)
			}
			r.mu.Lock()
			r.dispatched[run.ID] = true
			r.mu.Unlock()
			return nil
		},
	}}, false, nil
}

func (r *Recoverer) cancel(w WorkflowInfo, run RunInfo) redundancy.Action {
	repo := r.c.repo
	return redundancy.Action{
		Verb: VerbCancelRun, Subject: w.Path,
		Reason: fmt.Sprintf("run %d (#%d) stuck %s", run.ID, run.Number, run.Status),
		Do: func(ctx context.Context) error {
			_, err := r.c.api.CancelWorkflowRunByID(ctx, repo.Owner, repo.Name, run.ID)
			var accepted *github.AcceptedError
			var resp *github.ErrorResponse
			switch {
			case err == nil, errors.As(err, &accepted):
				return nil
			case errors.As(err, &resp) && resp.Response != nil && resp.Response.StatusCode == http.StatusConflict:
				return nil // already completed: nothing left to cancel
			}
			return fmt.Errorf("github: cancel run %d (%s): %w", run.ID, w.Path, err)
		},
	}
}

// rerun waits (through the orchestrator's retries) for the cancelled run
// to be completed, then re-runs it.
func (r *Recoverer) rerun(w WorkflowInfo, run RunInfo) redundancy.Action {
	repo := r.c.repo
	return redundancy.Action{
		Verb: VerbRerunWorkflow, Subject: w.Path,
		Reason: fmt.Sprintf("re-run stuck run %d (#%d) after cancelling it", run.ID, run.Number),
		Do: func(ctx context.Context) error {
			cur, _, err := r.c.api.GetWorkflowRunByID(ctx, repo.Owner, repo.Name, run.ID)
			if err != nil {
				return fmt.Errorf("github: read run %d (%s): %w", run.ID, w.Path, err)
			}
			if RunStatus(cur.GetStatus()) != RunCompleted {
				return fmt.Errorf("github: run %d (%s) is still %s after cancel; not re-run yet", run.ID, w.Path, cur.GetStatus())
			}
			if _, err := r.c.api.RerunWorkflowByID(ctx, repo.Owner, repo.Name, run.ID); err != nil {
				return fmt.Errorf("github: re-run run %d (%s): %w", run.ID, w.Path, err)
			}
			return nil
		},
	}
}
