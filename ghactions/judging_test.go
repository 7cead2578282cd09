package ghactions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
)

// posts returns the POST and PUT calls made since the last takeCalls.
func (e *env) writes() []ghtest.Call {
	var out []ghtest.Call
	for _, c := range e.takeCalls() {
		if c.Method == http.MethodPost || c.Method == http.MethodPut {
			out = append(out, c)
		}
	}
	return out
}

// A run waiting for a reviewer or a deployment protection rule (or
// requested, pending) is never stuck however old: GitHub fails it itself
// after 30 days. A long wait is its own finding, an alert: nothing is
// cancelled or re-run.
func TestWaitingRunsAreNeverStuck(t *testing.T) {
	t.Parallel()
	for _, status := range []ghactions.RunStatus{ghactions.RunWaiting, ghactions.RunRequested, ghactions.RunPending} {
		t.Run(string(status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			wf, _ := e.workflow("deploy.yml", "")
			old := start.Add(-29 * 24 * time.Hour)
			id := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: status, CreatedAt: old})
			c := e.checker(ghactions.WithStuckAfter(time.Hour))
			r, err := ghactions.NewRecoverer(c)
			require.NoError(t, err)
			o, _ := e.orchestrate(c, r, testPolicy())

			for range 3 {
				st := e.tick(o, 10*time.Minute)
				require.Equal(t, []redundancy.Problem{ghactions.ProblemRunWaiting}, problems(st.Report))
				assert.Equal(t, redundancy.StatusDegraded, st.Report.Status)
				assert.Contains(t, st.Report.Findings[0].Detail, "30 days")
				assert.Empty(t, st.History, "alert only")
			}
			assert.Empty(t, e.writes(), "no cancel, no re-run")
			run, _ := e.srv.Run(id)
			assert.Equal(t, status, run.Status)
			assert.Equal(t, 1, run.Attempt)
		})
	}
	t.Run("a short wait is nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		wf, _ := e.workflow("deploy.yml", "")
		e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunWaiting, CreatedAt: start.Add(-2 * time.Hour)})
		rep := e.checker(ghactions.WithStuckAfter(time.Hour), ghactions.WithWaitingAfter(3*time.Hour)).Check(context.Background())
		assert.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	})
}

// GitHub's ?branch=main also lists pull requests from forks whose own
// branch is main. Only runs whose head repository is this repository are
// judged, and only they are ever re-run.
func TestOnlyThisRepositorysRunsAreJudged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf, _ := e.workflow("ci.yml", "")
	own := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionSuccess, CreatedAt: start.Add(-time.Hour)})
	fork := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, HeadRepo: "stranger/app", Conclusion: ghactions.ConclusionFailure})
	stuckFork := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, HeadRepo: "stranger/app", Status: ghactions.RunInProgress, StartedAt: start.Add(-5 * time.Hour)})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	o, _ := e.orchestrate(c, r, testPolicy())

	st := e.tick(o, 0)
	assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, "a stranger's failing or stuck run is not ours: %s", st.Report.Summary)
	w := c.Observed().Workflows[0]
	require.NotNil(t, w.Newest)
	assert.Equal(t, own, w.Newest.ID)
	assert.Equal(t, 2, w.Foreign)

	// Our own run fails later: it is re-run, the stranger's never.
	e.srv.CompleteRun(own, ghactions.ConclusionFailure)
	st = e.tick(o, time.Minute)
	require.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report))
	for _, c := range e.writes() {
		assert.NotContains(t, c.Path, "/"+itoa(fork)+"/", "a stranger's run was touched: %s", c)
		assert.NotContains(t, c.Path, "/"+itoa(stuckFork)+"/", "a stranger's run was touched: %s", c)
	}
	run, _ := e.srv.Run(own)
	assert.Equal(t, 2, run.Attempt)
	for _, id := range []int64{fork, stuckFork} {
		run, _ := e.srv.Run(id)
		assert.Equal(t, 1, run.Attempt)
	}
}

// GitHub keeps listing a deleted workflow while its runs remain: it is no
// problem, even when it was named in Repo.Workflows.
func TestDeletedWorkflowIsNotAProblem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.workflow("ci.yml", ghactions.ConclusionSuccess)
	old, _ := e.workflow("old.yml", ghactions.ConclusionFailure)
	e.srv.SetWorkflowState(old, ghactions.WorkflowDeleted)
	for _, watch := range [][]string{nil, {"ci.yml", "old.yml"}} {
		e.repo.Workflows = watch
		rep := e.checker().Check(context.Background())
		assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%v: %s %v", watch, rep.Summary, problems(rep))
	}
	calls := e.takeCalls()
	for _, c := range calls {
		assert.NotContains(t, c.Path, "/workflows/"+itoa(old)+"/runs", "a deleted workflow's runs are not read")
	}
}

// Without Repo.Branch, the branch judged is the repository's default
// branch, read from GET /repos/{owner}/{repo}.
func TestDefaultBranchIsReadFromGitHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddRepository(owner, name, ghtest.Repository{DefaultBranch: "trunk"})
	wf, _ := e.workflow("ci.yml", "")
	e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	onTrunk := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: "trunk", Conclusion: ghactions.ConclusionSuccess, CreatedAt: start.Add(-time.Minute)})
	e.repo.Branch = ""
	c := e.checker()
	rep := c.Check(context.Background())
	assert.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	assert.Equal(t, "trunk", c.Observed().Branch)
	assert.True(t, strings.HasPrefix(rep.Summary, "octo/app@trunk:"), rep.Summary)
	assert.Equal(t, onTrunk, c.Observed().Workflows[0].Newest.ID)
	calls := e.takeCalls()
	assert.Equal(t, "/repos/octo/app", calls[0].Path)
	assert.Equal(t, "branch=trunk&per_page=20", calls[len(calls)-1].Query)

	// The default branch changes: the next check follows it.
	e.srv.AddRepository(owner, name, ghtest.Repository{DefaultBranch: "main"})
	rep = c.Check(context.Background())
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(rep))
}

// A run judged stuck that waits for a reviewer by the time the cancel runs
// (its next job reached a protected environment) is left alone: the
// action reads the run again, and a run awaiting approval is never
// cancelled.
func TestCancelSparesARunThatNowAwaitsApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf, _ := e.workflow("deploy.yml", "")
	id := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-3 * time.Hour)})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	rep := c.Check(context.Background())
	require.Equal(t, []redundancy.Problem{ghactions.ProblemRunStuck}, problems(rep))
	actions, err := r.Plan(context.Background(), rep)
	require.NoError(t, err)
	require.NotEmpty(t, actions)
	require.Equal(t, ghactions.VerbCancelRun, actions[0].Verb)
	e.takeCalls()

	require.True(t, e.srv.UpdateRun(id, func(r *ghtest.Run) { r.Status = ghactions.RunWaiting }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // without the fix, the cancel waits on the fake clock
	defer cancel()
	for _, a := range actions {
		assert.NoError(t, a.Do(ctx), "%s: nothing to do is no failure", a)
	}
	assert.Empty(t, e.writes(), "no cancel, no force-cancel, no re-run of a run awaiting approval")
	run, _ := e.srv.Run(id)
	assert.Equal(t, ghactions.RunWaiting, run.Status)
	assert.Equal(t, 1, run.Attempt)
}

// A workflow found disabled for inactivity that a person turns off
// (disabled_manually) before the enable runs stays off: the action reads
// the state again.
func TestEnableSparesAWorkflowAPersonDisabledSinceTheCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf, _ := e.workflow("nightly.yml", "")
	require.True(t, e.srv.SetWorkflowState(wf, ghactions.WorkflowDisabledInactivity))
	c := e.checker()
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	rep := c.Check(context.Background())
	require.Equal(t, []redundancy.Problem{ghactions.ProblemWorkflowDisabled}, problems(rep))
	actions, err := r.Plan(context.Background(), rep)
	require.NoError(t, err)
	require.Len(t, actions, 1)
	e.takeCalls()

	require.True(t, e.srv.SetWorkflowState(wf, ghactions.WorkflowDisabledManually))
	err = actions[0].Do(context.Background())
	require.ErrorIs(t, err, ghactions.ErrDisabledByPerson)
	assert.Empty(t, e.writes(), "not enabled")
	w, _ := e.srv.Workflow(wf)
	assert.Equal(t, ghactions.WorkflowDisabledManually, w.State)
}
