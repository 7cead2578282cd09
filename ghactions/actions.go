package ghactions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// dispatchSettle is how long a dispatch whose answer was lost (a 5xx, a
// timeout) is given for its run to show before another is sent: GitHub
// creates the run a few seconds after it accepts the dispatch.
const dispatchSettle = time.Minute

// errNoDispatchTrigger: the workflow has no workflow_dispatch trigger.
var errNoDispatchTrigger = errors.New("ghactions: workflow has no workflow_dispatch trigger")

// cancelOp is what the recoverer did to end one stuck run.
type cancelOp struct {
	requested time.Time // cancel accepted, or sent without an answer
	forced    time.Time // force-cancel accepted, or sent without an answer
	hopeless  bool      // neither cancel nor force-cancel can end it
	restarted bool      // started afresh after it ended
}

// sendOp is a create request whose answer was lost.
type sendOp struct{ sent time.Time }

// outcome is what a write's error says about its effect.
type outcome int

const (
	accepted outcome = iota // 2xx (202 included): it took effect
	refused                 // GitHub answered no (4xx, a rate limit): no effect
	unknown                 // 5xx, a timeout, a lost connection: it may have taken effect
)

func outcomeOf(err error) (outcome, int) {
	var acc *github.AcceptedError
	var er *github.ErrorResponse
	switch {
	case err == nil, errors.As(err, &acc):
		return accepted, 0
	case errors.Is(err, ErrRateLimited):
		return refused, 0
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode < 500:
		return refused, er.Response.StatusCode
	case errors.As(err, &er) && er.Response != nil:
		return unknown, er.Response.StatusCode
	}
	return unknown, 0
}

func (r *Recoverer) updateCancel(id int64, fn func(op *cancelOp)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	op := r.cancels[id]
	if op == nil {
		op = &cancelOp{}
		r.cancels[id] = op
	}
	fn(op)
}

// getRun reads run id, with GitHub's x-poll-interval if it sent one.
func (r *Recoverer) getRun(ctx context.Context, id int64) (RunInfo, time.Duration, error) {
	repo := r.c.repo
	cur, resp, err := r.c.api.GetWorkflowRunByID(ctx, repo.Owner, repo.Name, id)
	if err != nil {
		return RunInfo{}, 0, fmt.Errorf("ghactions: read run %d of %s: %w", id, repo.FullName(), err)
	}
	var hint time.Duration
	if resp != nil && resp.Response != nil {
		if n, err := strconv.Atoi(resp.Header.Get("X-Poll-Interval")); err == nil && n > 0 {
			hint = time.Duration(n) * time.Second
		}
	}
	return runInfo(cur), hint, nil
}

// waitEnded reads run id until it is completed or bound has passed on the
// clock, polling every WithPollInterval (or GitHub's x-poll-interval).
func (r *Recoverer) waitEnded(ctx context.Context, id int64, bound time.Duration) (RunInfo, bool, error) {
	deadline := r.s.clock.Now().Add(bound)
	interval := r.s.poll
	for {
		cur, hint, err := r.getRun(ctx, id)
		if err != nil {
			return cur, false, err
		}
		if cur.Status == RunCompleted {
			return cur, true, nil
		}
		interval = max(interval, hint)
		left := deadline.Sub(r.s.clock.Now())
		if left <= 0 {
			return cur, false, nil
		}
		if err := r.sleep(ctx, min(interval, left)); err != nil {
			return cur, false, fmt.Errorf("ghactions: wait for run %d to end: %w", id, err)
		}
	}
}

func (r *Recoverer) cancel(w WorkflowInfo, run RunInfo, _ string) redundancy.Action {
	return redundancy.Action{
		Verb: VerbCancelRun, Subject: w.Path,
		Reason: fmt.Sprintf("run %d (#%d) stuck %s since %s", run.ID, run.Number, run.Status, run.Started.UTC().Format(time.RFC3339)),
		Do:     func(ctx context.Context) error { return r.cancelRun(ctx, w, run) },
	}
}

// cancelRun ends a stuck run: one cancel, a force-cancel when the cancel
// cannot land, then it waits for the run to end.
func (r *Recoverer) cancelRun(ctx context.Context, w WorkflowInfo, run RunInfo) error {
	repo := r.c.repo
	cur, _, err := r.getRun(ctx, run.ID)
	if err != nil {
		return err
	}
	if cur.Status == RunCompleted || cur.Attempt > run.Attempt {
		return nil // it ended (or was re-run) meanwhile
	}
	if cur.Status.awaitsApproval() {
		// It moved on and now waits for a reviewer or a protection rule:
		// no longer stuck, and a cancel would throw the pending deployment
		// away. The next check judges it.
		return nil
	}
	op := r.cancelOf(run.ID)
	if op == nil {
		op = &cancelOp{}
	}
	now := r.s.clock.Now()
	switch {
	case op.hopeless:
		return fmt.Errorf("ghactions: run %d (%s): %w", run.ID, w.Path, ErrCancelRefused)
	case op.requested.IsZero() && op.forced.IsZero():
		_, err := r.c.api.CancelWorkflowRunByID(ctx, repo.Owner, repo.Name, run.ID)
		switch o, status := outcomeOf(err); {
		case o != refused:
			// Accepted, or no answer: it may have landed. Never send a
			// second cancel; force-cancel follows if it does not land.
			r.updateCancel(run.ID, func(op *cancelOp) { op.requested = now })
		case status == http.StatusConflict:
			// 409 for a run that is not completed: a zombie that cancel
			// cannot reach.
			if err := r.forceCancel(ctx, w, run); err != nil {
				return err
			}
		default:
			return fmt.Errorf("ghactions: cancel run %d (%s): %w", run.ID, w.Path, err)
		}
	case op.forced.IsZero() && now.Sub(op.requested) >= r.s.forceAfter:
		if err := r.forceCancel(ctx, w, run); err != nil {
			return err
		}
	case !op.forced.IsZero() && now.Sub(op.forced) >= r.s.forceAfter:
		r.updateCancel(run.ID, func(op *cancelOp) { op.hopeless = true })
		return fmt.Errorf("ghactions: run %d (%s) still %s %s after force-cancel: %w",
			run.ID, w.Path, cur.Status, now.Sub(op.forced).Round(time.Second), ErrCancelRefused)
	}
	cur, ended, err := r.waitEnded(ctx, run.ID, r.s.cancelWait)
	if err != nil {
		return err
	}
	if ended {
		return nil
	}
	op = r.cancelOf(run.ID)
	since := op.requested
	if !op.forced.IsZero() {
		since = op.forced
	}
	return fmt.Errorf("ghactions: run %d (%s): cancel accepted %s ago, still %s; GitHub cancels asynchronously: "+
		"not judged failed, not started afresh before it has ended", run.ID, w.Path, r.s.clock.Now().Sub(since).Round(time.Second), cur.Status)
}

// forceCancel sends one force-cancel for run.
func (r *Recoverer) forceCancel(ctx context.Context, w WorkflowInfo, run RunInfo) error {
	repo := r.c.repo
	now := r.s.clock.Now()
	_, err := r.c.api.ForceCancelWorkflowRunByID(ctx, repo.Owner, repo.Name, run.ID)
	switch o, status := outcomeOf(err); {
	case o != refused:
		r.updateCancel(run.ID, func(op *cancelOp) {
			op.forced = now
			if op.requested.IsZero() {
				op.requested = now
			}
		})
		return nil
	case status == http.StatusConflict:
		cur, _, gerr := r.getRun(ctx, run.ID)
		if gerr == nil && cur.Status == RunCompleted {
			return nil
		}
		r.updateCancel(run.ID, func(op *cancelOp) { op.hopeless = true })
		return fmt.Errorf("ghactions: run %d (%s): cancel and force-cancel both answer 409: %w", run.ID, w.Path, ErrCancelRefused)
	default:
		return fmt.Errorf("ghactions: force-cancel run %d (%s): %w", run.ID, w.Path, err)
	}
}

func (r *Recoverer) restart(w WorkflowInfo, run RunInfo, branch string) redundancy.Action {
	return redundancy.Action{
		Verb: VerbRestartRun, Subject: w.Path,
		Reason: fmt.Sprintf("start run %d (#%d) afresh once its cancel has landed", run.ID, run.Number),
		Do:     func(ctx context.Context) error { return r.restartRun(ctx, w, run, branch) },
	}
}

// restartRun starts a cancelled run afresh, once it has ended: a re-run,
// or for a run that had to be force-cancelled a new workflow_dispatch run
// (a re-run when the workflow has no such trigger).
func (r *Recoverer) restartRun(ctx context.Context, w WorkflowInfo, run RunInfo, branch string) error {
	if op := r.cancelOf(run.ID); op != nil && op.restarted {
		return nil
	}
	cur, _, err := r.getRun(ctx, run.ID)
	if err != nil {
		return err
	}
	if cur.Attempt <= run.Attempt && cur.Status.awaitsApproval() {
		return nil // the cancel spared it: it awaits approval, not stuck
	}
	if cur.Attempt <= run.Attempt && cur.Status != RunCompleted {
		return fmt.Errorf("ghactions: run %d (%s) is still %s: not started afresh before it has ended", run.ID, w.Path, cur.Status)
	}
	op := r.cancelOf(run.ID)
	switch {
	case cur.Attempt > run.Attempt:
		// Re-run already (by us before a lost answer, or by a person).
	case op != nil && !op.forced.IsZero():
		err = r.dispatchOnce(ctx, w, branch, fmt.Sprintf("fresh/%d", run.ID), cur.Updated)
		if errors.Is(err, errNoDispatchTrigger) {
			err = r.rerunOnce(ctx, w, run, false)
		}
	default:
		err = r.rerunOnce(ctx, w, run, false)
	}
	if err != nil {
		return err
	}
	r.updateCancel(run.ID, func(op *cancelOp) { op.restarted = true })
	return nil
}

// rerunOnce re-runs run (its failed jobs only, or all of it) unless its
// run_attempt shows it was re-run already: read before, and read again
// after an answer that may have been lost after its effect.
func (r *Recoverer) rerunOnce(ctx context.Context, w WorkflowInfo, run RunInfo, failedOnly bool) error {
	repo := r.c.repo
	cur, _, err := r.getRun(ctx, run.ID)
	if err != nil {
		return err
	}
	if cur.Attempt > run.Attempt {
		return nil
	}
	if cur.Status != RunCompleted {
		return fmt.Errorf("ghactions: run %d (%s) is %s: not re-run before it has ended", run.ID, w.Path, cur.Status)
	}
	what, call := "re-run", r.c.api.RerunWorkflowByID
	if failedOnly {
		what, call = "re-run failed jobs of", r.c.api.RerunFailedJobsByID
	}
	_, err = call(ctx, repo.Owner, repo.Name, run.ID)
	if err == nil {
		return nil
	}
	if o, _ := outcomeOf(err); o == unknown {
		if cur, _, gerr := r.getRun(ctx, run.ID); gerr == nil && cur.Attempt > run.Attempt {
			return nil // it took effect; the answer was lost
		}
	}
	return fmt.Errorf("ghactions: %s run %d (%s): %w", what, run.ID, w.Path, err)
}

// dispatchOnce starts one workflow_dispatch run of w on branch for the
// decision key, made at since (GitHub's time): a dispatch run of w on
// branch created since then means it was done already.
func (r *Recoverer) dispatchOnce(ctx context.Context, w WorkflowInfo, branch, key string, since time.Time) error {
	repo := r.c.repo
	landed := func() (bool, error) {
		runs, _, err := r.c.api.ListWorkflowRunsByID(ctx, repo.Owner, repo.Name, w.ID, &github.ListWorkflowRunsOptions{
			Branch: branch, Event: "workflow_dispatch", ListOptions: github.ListOptions{PerPage: 10}})
		if err != nil {
			return false, fmt.Errorf("ghactions: list dispatch runs of %s: %w", w.Path, err)
		}
		for _, run := range runs.WorkflowRuns {
			info := runInfo(run)
			if r.c.ownRun(run) && info.Event == "workflow_dispatch" && info.HeadBranch == branch && !info.Created.Before(since) {
				return true, nil
			}
		}
		return false, nil
	}
	settle := func(sent time.Time) (bool, error) {
		for {
			ok, err := landed()
			if err != nil || ok {
				return ok, err
			}
			left := sent.Add(dispatchSettle).Sub(r.s.clock.Now())
			if left <= 0 {
				return false, nil
			}
			if err := r.sleep(ctx, min(r.s.poll, left)); err != nil {
				return false, err
			}
		}
	}
	forget := func() {
		r.mu.Lock()
		delete(r.dispatches, key)
		r.mu.Unlock()
	}

	r.mu.Lock()
	pending := r.dispatches[key]
	r.mu.Unlock()
	if pending != nil {
		ok, err := settle(pending.sent)
		switch {
		case err != nil:
			return err
		case ok:
			forget()
			return nil
		}
		// Settled without a run: the lost dispatch did not land.
	} else if ok, err := landed(); err != nil {
		return err
	} else if ok {
		return nil
	}

	now := r.s.clock.Now()
	_, err := r.c.api.CreateWorkflowDispatchEventByID(ctx, repo.Owner, repo.Name, w.ID, github.CreateWorkflowDispatchEventRequest{Ref: branch})
	switch o, _ := outcomeOf(err); o {
	case accepted:
		forget()
		return nil
	case refused:
		forget()
		var er *github.ErrorResponse
		if errors.As(err, &er) && strings.Contains(strings.ToLower(er.Message), "workflow_dispatch' trigger") {
			return fmt.Errorf("%w: %s: %w", errNoDispatchTrigger, w.Path, err)
		}
		return fmt.Errorf("ghactions: dispatch %s on %s: %w", w.Path, branch, err)
	}
	r.mu.Lock()
	r.dispatches[key] = &sendOp{sent: now}
	r.mu.Unlock()
	if ok, serr := settle(now); serr == nil && ok {
		forget()
		return nil
	}
	return fmt.Errorf("ghactions: dispatch %s on %s: %w; no run seen for it yet, so none is sent again before %s",
		w.Path, branch, err, now.Add(dispatchSettle).UTC().Format(time.RFC3339))
}
