package ghactions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// runsPerWorkflow is how many of a workflow's newest runs on the branch one
// check reads (one page).
const runsPerWorkflow = 20

// RunInfo is one workflow run.
type RunInfo struct {
	ID         int64
	WorkflowID int64
	Number     int
	Attempt    int // run_attempt: 1 for the first try
	Status     RunStatus
	Conclusion RunConclusion
	Event      string
	HeadBranch string
	HeadRepo   string    // head_repository's full name: "octo/app", or a fork's
	Created    time.Time // created_at
	Updated    time.Time // updated_at: for a completed run, about when it ended
	Started    time.Time // run_started_at, or created_at
	HTMLURL    string
}

// runInfo reads the fields of r this package uses.
func runInfo(r *github.WorkflowRun) RunInfo {
	info := RunInfo{
		ID: r.GetID(), WorkflowID: r.GetWorkflowID(), Number: r.GetRunNumber(), Attempt: r.GetRunAttempt(),
		Status: RunStatus(r.GetStatus()), Conclusion: RunConclusion(r.GetConclusion()),
		Event: r.GetEvent(), HeadBranch: r.GetHeadBranch(), HeadRepo: r.GetHeadRepository().GetFullName(),
		Created: r.GetCreatedAt().Time, Updated: r.GetUpdatedAt().Time, Started: r.GetRunStartedAt().Time,
		HTMLURL: r.GetHTMLURL(),
	}
	if info.Started.IsZero() {
		info.Started = info.Created
	}
	return info
}

// ownRun reports whether r was made from this repository's own code, not a
// fork's: its head repository is the repository it runs in.
func (c *Checker) ownRun(r *github.WorkflowRun) bool {
	head, base := r.GetHeadRepository(), r.GetRepository()
	if head == nil {
		return false // cannot prove it is ours
	}
	if head.GetID() != 0 && base.GetID() != 0 {
		return head.GetID() == base.GetID()
	}
	return strings.EqualFold(head.GetFullName(), c.repo.FullName())
}

func (c *Checker) readRuns(ctx context.Context, w *WorkflowInfo, branch string, now time.Time, note func(*github.Response)) error {
	runs, resp, err := c.api.ListWorkflowRunsByID(ctx, c.repo.Owner, c.repo.Name, w.ID,
		&github.ListWorkflowRunsOptions{Branch: branch, ListOptions: github.ListOptions{PerPage: runsPerWorkflow}})
	note(resp)
	if err != nil {
		return c.wrap(fmt.Sprintf("list runs of %s", w.Path), err)
	}
	w.ReadRuns = true
	for _, r := range runs.WorkflowRuns {
		info := runInfo(r)
		if !c.ownRun(r) || info.HeadBranch != branch {
			w.Foreign++
			continue
		}
		if w.Newest == nil {
			n := info
			w.Newest = &n
		}
		switch {
		case info.Status.awaitsApproval():
			if now.Sub(info.Created) > c.s.waitAfter {
				w.Waiting = append(w.Waiting, info)
			}
		case info.Status == RunQueued || info.Status == RunInProgress:
			if now.Sub(info.Started) > c.s.stuckAfter {
				w.Stuck = append(w.Stuck, info)
			}
		}
	}
	return nil
}

func (c *Checker) judgeRuns(w *WorkflowInfo, branch string, now time.Time) []redundancy.Finding {
	var out []redundancy.Finding
	for _, r := range w.Stuck {
		out = append(out, redundancy.Finding{
			Subject: w.Path, Problem: ProblemRunStuck, Status: redundancy.StatusUnhealthy,
			Detail: fmt.Sprintf("run %d (#%d) %s for %s (bound %s) %s", r.ID, r.Number, r.Status,
				now.Sub(r.Started).Round(time.Second), c.s.stuckAfter, r.HTMLURL),
		})
	}
	for _, r := range w.Waiting {
		out = append(out, redundancy.Finding{
			Subject: w.Path, Problem: ProblemRunWaiting, Status: redundancy.StatusDegraded,
			Detail: fmt.Sprintf("run %d (#%d) %s for %s (bound %s): it awaits a review or a deployment protection rule; "+
				"GitHub fails it by itself after 30 days; not touched %s", r.ID, r.Number, r.Status,
				now.Sub(r.Created).Round(time.Second), c.s.waitAfter, r.HTMLURL),
		})
	}
	if r := w.Newest; r != nil && r.Status == RunCompleted {
		if p, st, bad := r.Conclusion.judge(); bad {
			out = append(out, redundancy.Finding{
				Subject: w.Path, Problem: p, Status: st,
				Detail: fmt.Sprintf("latest run on %s: run %d (#%d, attempt %d) concluded %s %s",
					branch, r.ID, r.Number, r.Attempt, r.Conclusion, r.HTMLURL),
			})
		}
	}
	return out
}
