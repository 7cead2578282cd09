package ghactions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestHealthyRepoSteadyStateIsFree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range []string{"ci.yml", "deploy.yml", "nightly.yml"} {
		e.workflow(f, ghactions.ConclusionSuccess)
	}
	o, rec := e.orchestrate(e.checker(), nil, testPolicy())

	st := e.tick(o, 0)
	require.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
	first := e.takeCalls()
	require.Len(t, first, 4, "1 workflow list + 3 run lists")
	for _, c := range first {
		assert.True(t, c.Authorized, "token sent on %s", c)
		assert.True(t, c.Charged, "first cycle pays for %s", c)
	}
	used := e.srv.RateLimit().Used

	st = e.tick(o, time.Minute)
	require.Equal(t, redundancy.StatusHealthy, st.Report.Status)
	second := e.takeCalls()
	require.Len(t, second, 4)
	for _, c := range second {
		assert.Equal(t, http.StatusNotModified, c.Status, "%s", c)
		assert.True(t, c.Conditional)
		assert.False(t, c.Charged)
	}
	assert.Equal(t, used, e.srv.RateLimit().Used, "a steady cycle costs no rate limit")
	stats := e.client.Stats()
	assert.Equal(t, 4, stats.NotModified)
	assert.Equal(t, 4, stats.Charged)
	assert.Empty(t, rec.Kinds("gh")[1:], "no events after the first status change")
}

func TestChangeAfterCacheIsSeen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, runID := e.workflow("ci.yml", ghactions.ConclusionSuccess)
	o, _ := e.orchestrate(e.checker(), nil, testPolicy())
	require.Equal(t, redundancy.StatusHealthy, e.tick(o, 0).Report.Status)
	require.Equal(t, redundancy.StatusHealthy, e.tick(o, time.Minute).Report.Status)

	e.srv.UpdateRun(runID, func(r *ghtest.Run) { r.Conclusion = ghactions.ConclusionFailure })
	st := e.tick(o, time.Minute)
	assert.Equal(t, redundancy.StatusUnhealthy, st.Report.Status)
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report))
}

func TestDisabledWorkflowIsEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf, _ := e.workflow("nightly.yml", ghactions.ConclusionSuccess)
	e.srv.SetWorkflowState(wf, ghactions.WorkflowDisabledInactivity)
	c := e.checker()
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	o, rec := e.orchestrate(c, r, testPolicy())

	st := e.tick(o, 0)
	require.Equal(t, []redundancy.Problem{ghactions.ProblemWorkflowDisabled}, problems(st.Report))
	assert.Contains(t, st.Report.Findings[0].Detail, "60 days")
	require.Len(t, st.History, 1)
	assert.Equal(t, ghactions.VerbEnableWorkflow, st.History[0].Verb)
	assert.True(t, st.History[0].OK(), st.History[0].Error)
	got, _ := e.srv.Workflow(wf)
	assert.Equal(t, ghactions.WorkflowActive, got.State)
	assert.Equal(t, 1, countCalls(e.takeCalls(), http.MethodPut, "/enable"))
	assert.Contains(t, rec.Kinds("gh"), redundancy.EventRecoverySucceeded)

	st = e.tick(o, time.Minute)
	assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
}

func TestManuallyDisabledWorkflowIsLeftAloneByDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []ghactions.Option
		enable bool
	}{
		{"default", nil, false},
		{"opted in", []ghactions.Option{ghactions.WithEnableManuallyDisabled(true)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			wf, _ := e.workflow("ci.yml", ghactions.ConclusionSuccess)
			e.srv.SetWorkflowState(wf, ghactions.WorkflowDisabledManually)
			c := e.checker()
			r, err := ghactions.NewRecoverer(c, tc.opts...)
			require.NoError(t, err)
			o, _ := e.orchestrate(c, r, testPolicy())

			st := e.tick(o, 0)
			require.Equal(t, []redundancy.Problem{ghactions.ProblemWorkflowDisabledManually}, problems(st.Report))
			assert.Equal(t, redundancy.StatusDegraded, st.Report.Status)
			got, _ := e.srv.Workflow(wf)
			want := ghactions.WorkflowDisabledManually
			if tc.enable {
				want = ghactions.WorkflowActive
			}
			assert.Equal(t, want, got.State)
			assert.Equal(t, map[bool]int{true: 1, false: 0}[tc.enable], countCalls(e.takeCalls(), http.MethodPut, "/enable"))
		})
	}
}

func TestFailedRunRerunsThenBackupThenEscalates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, runID := e.workflow("ci.yml", ghactions.ConclusionFailure)
	backupID, _ := e.workflow("backup.yml", "")
	e.repo.Workflows = []string{"ci.yml"}
	c := e.checker()
	r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(2), ghactions.WithBackupWorkflow("backup.yml"))
	require.NoError(t, err)
	p := testPolicy()
	p.Budget.Max = 4
	o, rec := e.orchestrate(c, r, p)

	lastVerb := func(st redundancy.TargetState) string {
		require.NotEmpty(t, st.History)
		return st.History[len(st.History)-1].Verb
	}
	// Attempt 1 and 2: re-run failed jobs (run_attempt 1, then 2).
	for attempt := 1; attempt <= 2; attempt++ {
		st := e.tick(o, time.Minute)
		require.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report))
		require.Equal(t, ghactions.VerbRerunFailedJobs, lastVerb(st))
		run, _ := e.srv.Run(runID)
		require.Equal(t, attempt+1, run.Attempt)
		require.Equal(t, ghactions.RunQueued, run.Status)

		// While the re-run is queued, nothing is judged.
		st = e.tick(o, time.Minute)
		require.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
		e.srv.CompleteRun(runID, ghactions.ConclusionFailure)
	}
	// Attempt 3: run_attempt 3 > 2 re-runs: dispatch the backup on the branch.
	st := e.tick(o, time.Minute)
	require.Equal(t, ghactions.VerbDispatchWorkflow, lastVerb(st))
	calls := e.takeCalls()
	require.Equal(t, 2, countCalls(calls, http.MethodPost, "/rerun-failed-jobs"))
	require.Equal(t, 1, countCalls(calls, http.MethodPost, "/dispatches"))
	var dispatched []ghtest.Run
	for _, run := range e.srv.Runs(owner, name) {
		if run.WorkflowID == backupID {
			dispatched = append(dispatched, run)
		}
	}
	require.Len(t, dispatched, 1)
	assert.Equal(t, "workflow_dispatch", dispatched[0].Event)
	assert.Equal(t, branch, dispatched[0].Branch)

	// Attempt 4: nothing left; the plan fails with ErrRecoverySpent, which
	// wraps redundancy.ErrExhausted: escalated at once, no budget spent.
	st = e.tick(o, time.Minute)
	require.Equal(t, redundancy.StatusUnhealthy, st.Report.Status)
	events := rec.Events()
	last := events[len(events)-1]
	if last.Kind == redundancy.EventAlert { // the escalated alert follows the event
		last = events[len(events)-2]
	}
	require.Equal(t, redundancy.EventEscalated, last.Kind)
	require.ErrorIs(t, last.Err, ghactions.ErrRecoverySpent)
	assert.True(t, st.Escalated)
	assert.Equal(t, 1, st.BudgetLeft, "three attempts of four spent")

	// Escalated: no further calls but the checks.
	st = e.tick(o, time.Minute)
	assert.True(t, st.Escalated)
	assert.Equal(t, 1, rec.Count(redundancy.EventEscalated))
	calls = e.takeCalls()
	assert.Zero(t, countCalls(calls, http.MethodPost, ""), "no actions once escalated: %v", calls)
}

func TestStuckRunIsCancelledThenRestarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ghtest.WithCancelDelay(30*time.Second))
	wf, _ := e.workflow("ci.yml", "")
	runID := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-3 * time.Hour)})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	o, _ := e.orchestrate(c, r, testPolicy())

	st := e.tick(o, 0)
	require.Equal(t, []redundancy.Problem{ghactions.ProblemRunStuck}, problems(st.Report))
	require.Len(t, st.History, 2)
	assert.Equal(t, ghactions.VerbCancelRun, st.History[0].Verb)
	assert.True(t, st.History[0].OK(), "202, then waited for the run to end: %s", st.History[0].Error)
	assert.Equal(t, ghactions.VerbRestartRun, st.History[1].Verb)
	assert.True(t, st.History[1].OK(), st.History[1].Error)

	calls := e.takeCalls()
	var posts []string
	for _, c := range calls {
		if c.Method == http.MethodPost {
			posts = append(posts, fmt.Sprintf("%s %d", c.Path[strings.LastIndex(c.Path, "/")+1:], c.Status))
		}
	}
	assert.Equal(t, []string{"cancel 202", "rerun 201"}, posts, "one cancel, one re-run once it had ended")
	run, _ := e.srv.Run(runID)
	assert.Equal(t, 2, run.Attempt)
	assert.Equal(t, ghactions.RunQueued, run.Status)
}

func TestRateLimitExhaustedStopsCallsUntilReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.workflow("ci.yml", ghactions.ConclusionFailure)
	c := e.checker()
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	o, rec := e.orchestrate(c, r, testPolicy())
	reset := start.Add(10 * time.Minute)
	e.srv.ExhaustRateLimit(reset)

	st := e.tick(o, 0)
	require.Equal(t, redundancy.StatusUnknown, st.Report.Status)
	require.ErrorIs(t, st.Report.Err, ghactions.ErrRateLimited)
	var rle *ghactions.RateLimitError
	require.ErrorAs(t, st.Report.Err, &rle)
	assert.Equal(t, reset.Unix(), rle.Until.Unix())
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRateLimited}, problems(st.Report))
	require.Len(t, e.takeCalls(), 1, "the first call learns the limit is spent")

	for range 3 { // before the reset: no call at all
		st = e.tick(o, 2*time.Minute)
		require.Equal(t, redundancy.StatusUnknown, st.Report.Status)
		require.ErrorIs(t, st.Report.Err, ghactions.ErrRateLimited)
	}
	assert.Empty(t, e.takeCalls())
	assert.Equal(t, 3, e.client.Stats().Blocked)
	assert.NotContains(t, rec.Kinds("gh"), redundancy.EventRecoveryStarted, "unknown never recovers")

	st = e.tick(o, 5*time.Minute) // past the reset
	assert.Equal(t, redundancy.StatusUnhealthy, st.Report.Status)
	assert.NotEmpty(t, e.takeCalls())
}

func TestLowRateLimitIsDegraded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.workflow("ci.yml", ghactions.ConclusionSuccess)
	e.srv.SetRate(ghtest.Rate{Limit: 5000, Remaining: 300, Used: 4700, Reset: start.Add(time.Hour)})
	st := e.checker().Check(context.Background())
	assert.Equal(t, redundancy.StatusDegraded, st.Status)
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRateLimitLow}, problems(st))
}

func TestSecondaryRateLimitBacksOff(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.workflow("ci.yml", ghactions.ConclusionSuccess)
			o, _ := e.orchestrate(e.checker(), nil, testPolicy())
			e.srv.FailNext("", ghtest.SecondaryLimit(status, 3*time.Minute))

			st := e.tick(o, 0)
			require.Equal(t, redundancy.StatusUnknown, st.Report.Status)
			var rle *ghactions.RateLimitError
			require.ErrorAs(t, st.Report.Err, &rle)
			assert.True(t, rle.Secondary)
			assert.Contains(t, rle.Message, "secondary rate limit")
			require.Len(t, e.takeCalls(), 1)

			st = e.tick(o, time.Minute) // Retry-After not over
			require.ErrorIs(t, st.Report.Err, ghactions.ErrRateLimited)
			assert.Empty(t, e.takeCalls())

			st = e.tick(o, 3*time.Minute)
			assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
		})
	}
}

func TestAPIFailuresAreUnknownNotRecovered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		pattern string
		fault   redundancytest.Fault
		want    func(t *testing.T, err error)
	}{
		{"500", "", redundancytest.Fault{Status: 500, Times: -1}, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "500")
			assert.Contains(t, err.Error(), "list workflows of octo/app")
		}},
		{"502 HTML on runs", "GET /repos/*/*/actions/workflows/*/runs", redundancytest.Fault{Status: 502, Times: -1}, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "list runs of .github/workflows/ci.yml")
			assert.Contains(t, err.Error(), "502")
		}},
		{"timeout", "", redundancytest.Fault{Hang: true, Times: -1}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"malformed JSON", "", redundancytest.Fault{Status: 200, Times: -1, Body: `{"total_count": 3, "workflows": [{"id": 1, "name": "CI", "pa`}, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ghactions.ErrMalformedResponse)
			assert.Contains(t, err.Error(), "malformed JSON")
			assert.Contains(t, err.Error(), "list workflows of octo/app")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.workflow("ci.yml", ghactions.ConclusionFailure)
			c := e.checker()
			r, err := ghactions.NewRecoverer(c)
			require.NoError(t, err)
			p := testPolicy()
			p.Timeout = 300 * time.Millisecond
			o, rec := e.orchestrate(c, r, p)
			e.srv.FailNext(tc.pattern, tc.fault)

			for range 2 {
				st := e.tick(o, time.Minute)
				require.Equal(t, redundancy.StatusUnknown, st.Report.Status)
				require.Error(t, st.Report.Err)
				tc.want(t, st.Report.Err)
				assert.Empty(t, st.History)
			}
			assert.NotContains(t, rec.Kinds("gh"), redundancy.EventRecoveryStarted)
			assert.Zero(t, countCalls(e.takeCalls(), http.MethodPost, ""))

			e.srv.ClearFaults()
			st := e.tick(o, time.Minute)
			assert.Equal(t, redundancy.StatusUnhealthy, st.Report.Status, "back to judging once GitHub answers")
		})
	}
}

func TestMissingConfiguredWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.workflow("ci.yml", ghactions.ConclusionSuccess)
	e.repo.Workflows = []string{"ci.yml", "release.yml"}
	rep := e.checker().Check(context.Background())
	assert.Equal(t, redundancy.StatusUnhealthy, rep.Status)
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemWorkflowNotFound}, problems(rep))
	assert.Equal(t, "release.yml", rep.Findings[0].Subject)
}

func TestConclusionsJudged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		conclusion ghactions.RunConclusion
		status     redundancy.Status
		problem    redundancy.Problem
	}{
		{ghactions.ConclusionSuccess, redundancy.StatusHealthy, ""},
		{"skipped", redundancy.StatusHealthy, ""},
		{ghactions.ConclusionFailure, redundancy.StatusUnhealthy, ghactions.ProblemRunFailed},
		{ghactions.ConclusionTimedOut, redundancy.StatusUnhealthy, ghactions.ProblemRunFailed},
		{ghactions.ConclusionStartupFailure, redundancy.StatusUnhealthy, ghactions.ProblemRunFailed},
		{ghactions.ConclusionCancelled, redundancy.StatusDegraded, ghactions.ProblemRunCancelled},
		{ghactions.ConclusionActionRequired, redundancy.StatusDegraded, ghactions.ProblemRunActionRequired},
	} {
		t.Run(string(tc.conclusion), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.workflow("ci.yml", tc.conclusion)
			rep := e.checker().Check(context.Background())
			assert.Equal(t, tc.status, rep.Status, rep.Summary)
			if tc.problem != "" {
				assert.Equal(t, []redundancy.Problem{tc.problem}, problems(rep))
			} else {
				assert.Empty(t, rep.Findings)
			}
		})
	}
}

func TestRecovererIgnoresErrorReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.checker()
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	plan, err := r.Plan(context.Background(), redundancy.ErrorReport(errors.New("boom")))
	require.NoError(t, err)
	assert.Empty(t, plan)
}

func TestGoGitHubRateLimitErrorsAreHonoured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script func(e *env)
	}{
		{"primary", func(e *env) { e.srv.ExhaustRateLimit(start.Add(time.Hour)) }},
		{"secondary", func(e *env) {
			e.srv.FailNext("", ghtest.SecondaryLimit(http.StatusForbidden, time.Second))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.workflow("ci.yml", ghactions.ConclusionFailure)
			tc.script(e)
			// An API over a plain go-github client (no Transport):
			// go-github's own *RateLimitError / *AbuseRateLimitError come back.
			plain := github.NewClient(e.srv.HTTPClient()).WithAuthToken(testToken)
			plain.BaseURL, _ = url.Parse(e.srv.URL())
			c, err := ghactions.NewChecker(plainAPI{plain}, e.repo, ghactions.WithClock(e.clock))
			require.NoError(t, err)
			rep := c.Check(context.Background())
			assert.Equal(t, redundancy.StatusUnknown, rep.Status)
			assert.ErrorIs(t, rep.Err, ghactions.ErrRateLimited)
			assert.Equal(t, []redundancy.Problem{ghactions.ProblemRateLimited}, problems(rep))
		})
	}
}

// plainAPI is ghactions.API over a go-github client without our Transport.
type plainAPI struct{ *github.Client }

func (p plainAPI) GetRepository(ctx context.Context, o, r string) (*github.Repository, *github.Response, error) {
	return p.Repositories.Get(ctx, o, r)
}

func (p plainAPI) ListWorkflows(ctx context.Context, o, r string, opts *github.ListOptions) (*github.Workflows, *github.Response, error) {
	return p.Actions.ListWorkflows(ctx, o, r, opts)
}

func (p plainAPI) ListWorkflowRunsByID(ctx context.Context, o, r string, id int64, opts *github.ListWorkflowRunsOptions) (*github.WorkflowRuns, *github.Response, error) {
	return p.Actions.ListWorkflowRunsByID(ctx, o, r, id, opts)
}

func (p plainAPI) GetWorkflowRunByID(ctx context.Context, o, r string, id int64) (*github.WorkflowRun, *github.Response, error) {
	return p.Actions.GetWorkflowRunByID(ctx, o, r, id)
}

func (p plainAPI) EnableWorkflowByID(ctx context.Context, o, r string, id int64) (*github.Response, error) {
	return p.Actions.EnableWorkflowByID(ctx, o, r, id)
}

func (p plainAPI) RerunFailedJobsByID(ctx context.Context, o, r string, id int64) (*github.Response, error) {
	return p.Actions.RerunFailedJobsByID(ctx, o, r, id)
}

func (p plainAPI) RerunWorkflowByID(ctx context.Context, o, r string, id int64) (*github.Response, error) {
	return p.Actions.RerunWorkflowByID(ctx, o, r, id)
}

func (p plainAPI) CancelWorkflowRunByID(ctx context.Context, o, r string, id int64) (*github.Response, error) {
	return p.Actions.CancelWorkflowRunByID(ctx, o, r, id)
}

func (p plainAPI) ForceCancelWorkflowRunByID(context.Context, string, string, int64) (*github.Response, error) {
	return nil, errors.New("not used")
}

func (p plainAPI) CreateWorkflowDispatchEventByID(ctx context.Context, o, r string, id int64, ev github.CreateWorkflowDispatchEventRequest) (*github.Response, error) {
	return p.Actions.CreateWorkflowDispatchEventByID(ctx, o, r, id, ev)
}

// GitHub re-runs a run only for a month after it was created (403 after):
// an older failed run goes straight to the backup dispatch, or escalates,
// instead of failing a doomed re-run cycle after cycle.
func TestFailedRunOverAMonthOldIsNotReRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, runID := e.workflow("ci.yml", ghactions.ConclusionFailure)
	e.workflow("backup.yml", "")
	e.repo.Workflows = []string{"ci.yml"}
	e.clock.Advance(ghtest.RerunWindow + time.Hour)
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(2), ghactions.WithBackupWorkflow("backup.yml"))
	require.NoError(t, err)
	o, _ := e.orchestrate(c, r, testPolicy())

	st := e.tick(o, time.Minute)
	require.NotEmpty(t, st.History, st.Report.Summary)
	assert.Equal(t, ghactions.VerbDispatchWorkflow, st.History[0].Verb)
	assert.True(t, st.History[0].OK(), st.History[0].Error)
	calls := e.takeCalls()
	assert.Zero(t, countCalls(calls, http.MethodPost, "/rerun-failed-jobs"), "no re-run GitHub must refuse: %v", calls)
	assert.Equal(t, 1, countCalls(calls, http.MethodPost, "/dispatches"))
	run, _ := e.srv.Run(runID)
	assert.Equal(t, 1, run.Attempt)

	// Without a backup workflow: escalated at once.
	c2 := e.checker()
	r2, err := ghactions.NewRecoverer(c2)
	require.NoError(t, err)
	rep := c2.Check(context.Background())
	_, err = r2.Plan(context.Background(), rep)
	require.ErrorIs(t, err, ghactions.ErrRecoverySpent)
}
