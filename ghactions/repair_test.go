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
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// effects counts the calls that changed the fake GitHub, by the last path
// segment ("rerun-failed-jobs", "dispatches", "cancel", ...), whatever
// they answered.
func effects(calls []ghtest.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		if c.Effect {
			out[c.Path[strings.LastIndex(c.Path, "/")+1:]]++
		}
	}
	return out
}

// sent counts the write calls by last path segment.
func sent(calls []ghtest.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		if c.Method == http.MethodPost || c.Method == http.MethodPut {
			out[c.Path[strings.LastIndex(c.Path, "/")+1:]]++
		}
	}
	return out
}

func verbs(rs []redundancy.ActionResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Verb)
	}
	return out
}

// Whatever order the findings come in, a plan enables first, then
// cancels, then re-runs and dispatches: GitHub refuses to dispatch a
// disabled workflow.
func TestPlanIsInDependencyOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ci, _ := e.workflow("ci.yml", "")
	failed := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: ci, Branch: branch, Conclusion: ghactions.ConclusionFailure, Attempt: 3})
	nightly, _ := e.workflow("nightly.yml", ghactions.ConclusionSuccess)
	e.srv.SetWorkflowState(nightly, ghactions.WorkflowDisabledInactivity)
	deploy, _ := e.workflow("deploy.yml", "")
	e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: deploy, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-3 * time.Hour)})
	backup, _ := e.workflow("backup.yml", "")
	e.srv.SetWorkflowState(backup, ghactions.WorkflowDisabledInactivity)
	e.repo.Workflows = []string{"ci.yml", "nightly.yml", "deploy.yml"}
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c, ghactions.WithBackupWorkflow("backup.yml"), ghactions.WithMaxReruns(2))
	require.NoError(t, err)

	rep := c.Check(context.Background())
	require.ElementsMatch(t, []redundancy.Problem{ghactions.ProblemRunFailed, ghactions.ProblemWorkflowDisabled, ghactions.ProblemRunStuck}, problems(rep))
	want := []string{ghactions.VerbEnableWorkflow, ghactions.VerbEnableWorkflow, ghactions.VerbCancelRun, ghactions.VerbDispatchWorkflow, ghactions.VerbRestartRun}
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		shuffled := rep
		shuffled.Findings = nil
		for _, i := range order {
			shuffled.Findings = append(shuffled.Findings, rep.Findings[i])
		}
		plan, err := r.Plan(context.Background(), shuffled)
		require.NoError(t, err)
		var got []string
		for _, a := range plan {
			got = append(got, a.Verb)
		}
		assert.Equal(t, want[:2], got[:2], "enables first (%v)", order)
		assert.Equal(t, want[2], got[2], "then the cancel (%v)", order)
		assert.ElementsMatch(t, want[3:], got[3:], "then the starts (%v)", order)
	}

	// Run it: the fake refuses a dispatch on a disabled workflow, so the
	// dispatch succeeding shows the enable went first.
	o, _ := e.orchestrate(c, r, testPolicy())
	st := e.tick(o, 0)
	for _, h := range st.History {
		assert.True(t, h.OK(), "%s %s: %s", h.Verb, h.Subject, h.Error)
	}
	got := effects(e.takeCalls())
	assert.Equal(t, 2, got["enable"])
	assert.Equal(t, 1, got["dispatches"])
	w, _ := e.srv.Workflow(backup)
	assert.Equal(t, ghactions.WorkflowActive, w.State)
	run, _ := e.srv.Run(failed)
	assert.Equal(t, 3, run.Attempt, "re-runs were spent: the backup ran instead")
}

// A cancel that lands late is neither judged failed nor followed by a
// re-run before the run has ended; no second cancel is sent while it
// lands; the run is started afresh once, after it ended.
func TestCancelThatLandsLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ghtest.WithCancelDelay(3*time.Minute))
	wf, _ := e.workflow("ci.yml", "")
	id := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-3 * time.Hour)})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c, ghactions.WithCancelWait(time.Minute), ghactions.WithForceCancelAfter(time.Hour))
	require.NoError(t, err)
	o, _ := e.orchestrate(c, r, testPolicy())

	st := e.tick(o, 0)
	require.Len(t, st.History, 1, "the plan stops at the cancel that has not landed: %v", verbs(st.History))
	assert.Equal(t, ghactions.VerbCancelRun, st.History[0].Verb)
	assert.Contains(t, st.History[0].Error, "not judged failed")
	run, _ := e.srv.Run(id)
	assert.Equal(t, ghactions.RunInProgress, run.Status)

	st = e.tick(o, 30*time.Second) // still cancelling: waits again, sends nothing
	assert.Equal(t, ghactions.VerbCancelRun, st.History[len(st.History)-1].Verb)

	for range 5 {
		e.tick(o, time.Minute)
	}
	calls := e.srv.Calls()
	s := sent(calls)
	assert.Equal(t, 1, s["cancel"], "one cancel for one decision")
	assert.Zero(t, s["force-cancel"])
	assert.Equal(t, 1, s["rerun"], "one re-run, after the run ended")
	run, _ = e.srv.Run(id)
	assert.Equal(t, 2, run.Attempt)
	for _, call := range calls {
		if strings.HasSuffix(call.Path, "/rerun") {
			assert.False(t, call.Time.Before(run.CancelRequested.Add(3*time.Minute)), "re-run before the cancel landed")
		}
	}
}

// A queued run that cancel cannot reach (409) is force-cancelled, then
// started afresh by workflow_dispatch; a workflow without that trigger is
// re-run instead.
func TestZombieRunIsForceCancelledThenStartedAfresh(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		noDispatch bool
		want       map[string]int
	}{
		{"dispatch", false, map[string]int{"cancel": 1, "force-cancel": 1, "dispatches": 1}},
		{"no dispatch trigger", true, map[string]int{"cancel": 1, "force-cancel": 1, "dispatches": 1, "rerun": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			wf := e.srv.AddWorkflow(owner, name, ghtest.Workflow{Path: ".github/workflows/ci.yml", NoDispatch: tc.noDispatch})
			id := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunQueued, Zombie: true, StartedAt: start.Add(-3 * time.Hour)})
			c := e.checker(ghactions.WithStuckAfter(time.Hour))
			r, err := ghactions.NewRecoverer(c)
			require.NoError(t, err)
			o, _ := e.orchestrate(c, r, testPolicy())

			st := e.tick(o, 0)
			require.Equal(t, []string{ghactions.VerbCancelRun, ghactions.VerbRestartRun}, verbs(st.History))
			for _, h := range st.History {
				require.True(t, h.OK(), h.Error)
			}
			calls := e.takeCalls()
			assert.Equal(t, tc.want, sent(calls))
			run, _ := e.srv.Run(id)
			var fresh int
			for _, r := range e.srv.Runs(owner, name) {
				if r.Event == "workflow_dispatch" {
					fresh++
				}
			}
			if tc.noDispatch {
				assert.Zero(t, fresh)
				assert.Equal(t, 2, run.Attempt, "re-run instead")
			} else {
				assert.Equal(t, 1, fresh)
				assert.Equal(t, 1, run.Attempt)
				assert.Equal(t, ghactions.ConclusionCancelled, run.Conclusion)
			}
			st = e.tick(o, time.Minute)
			assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
		})
	}
}

// A run that neither cancel nor force-cancel can end is given up: the
// target escalates, and no cancel is sent again.
func TestUncancellableRunEscalatesInsteadOfLooping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf, _ := e.workflow("ci.yml", "")
	e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunQueued, Zombie: true, StartedAt: start.Add(-3 * time.Hour)})
	e.srv.FailNext("POST /repos/*/*/actions/runs/*/force-cancel", redundancytest.Fault{Status: http.StatusConflict, Times: -1,
		Body: `{"message":"Cannot cancel a workflow run that is completed.","documentation_url":"https://docs.github.com/rest"}`})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c)
	require.NoError(t, err)
	p := testPolicy()
	p.Retry = 2
	o, rec := e.orchestrate(c, r, p)

	st := e.tick(o, 0)
	require.NotEmpty(t, st.History)
	assert.Contains(t, st.History[0].Error, "cannot be cancelled")
	for range 4 {
		st = e.tick(o, 5*time.Minute)
	}
	assert.True(t, st.Escalated)
	assert.Equal(t, 1, rec.Count(redundancy.EventEscalated))
	s := sent(e.srv.Calls())
	assert.Equal(t, 1, s["cancel"])
	assert.Equal(t, 1, s["force-cancel"], "never loop on a cancel that cannot land")
}

// An answer lost after its effect (a gateway's 502 after GitHub did the
// work) never makes a second re-run or dispatch for one decision, however
// often the orchestrator retries.
func TestRepairsAreNotRepeatedAfterALostAnswer(t *testing.T) {
	t.Parallel()
	after := redundancytest.Fault{Status: http.StatusBadGateway, After: true, Times: -1}
	t.Run("rerun", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, id := e.workflow("ci.yml", ghactions.ConclusionFailure)
		e.srv.FailNext("POST /repos/*/*/actions/runs/*/rerun-failed-jobs", after)
		c := e.checker()
		r, err := ghactions.NewRecoverer(c)
		require.NoError(t, err)
		p := testPolicy()
		p.Retry = 3
		o, _ := e.orchestrate(c, r, p)
		st := e.tick(o, 0)
		require.Len(t, st.History, 1)
		assert.True(t, st.History[0].OK(), "the 502 came after the re-run: success: %s", st.History[0].Error)
		assert.Equal(t, 1, st.History[0].Tries)
		assert.Equal(t, map[string]int{"rerun-failed-jobs": 1}, sent(e.srv.Calls()))
		run, _ := e.srv.Run(id)
		assert.Equal(t, 2, run.Attempt)
	})
	t.Run("dispatch", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.workflow("ci.yml", ghactions.ConclusionFailure)
		e.workflow("backup.yml", "")
		e.repo.Workflows = []string{"ci.yml"}
		e.srv.FailNext("POST /repos/*/*/actions/workflows/*/dispatches", after)
		c := e.checker()
		r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(0), ghactions.WithBackupWorkflow("backup.yml"))
		require.NoError(t, err)
		p := testPolicy()
		p.Retry = 3
		o, _ := e.orchestrate(c, r, p)
		for range 3 {
			e.tick(o, time.Minute)
		}
		calls := e.srv.Calls()
		assert.Equal(t, 1, sent(calls)["dispatches"], "one dispatch for one decision")
		assert.Equal(t, 1, effects(calls)["dispatches"])
	})
	t.Run("dispatch lost before its effect", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.workflow("ci.yml", ghactions.ConclusionFailure)
		e.workflow("backup.yml", "")
		e.repo.Workflows = []string{"ci.yml"}
		e.srv.FailNext("POST /repos/*/*/actions/workflows/*/dispatches", redundancytest.Fault{Status: http.StatusGatewayTimeout})
		c := e.checker()
		r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(0), ghactions.WithBackupWorkflow("backup.yml"))
		require.NoError(t, err)
		p := testPolicy()
		p.Retry = 1
		o, _ := e.orchestrate(c, r, p)
		st := e.tick(o, 0)
		require.Len(t, st.History, 1)
		assert.True(t, st.History[0].OK(), st.History[0].Error)
		assert.Equal(t, 2, st.History[0].Tries, "the first try waited for the run to show, then gave up")
		calls := e.srv.Calls()
		assert.Equal(t, 2, sent(calls)["dispatches"], "sent again only once no run showed for a minute")
		assert.Equal(t, 1, effects(calls)["dispatches"])
		var first, second time.Time
		for _, c := range calls {
			if strings.HasSuffix(c.Path, "/dispatches") {
				if first.IsZero() {
					first = c.Time
				} else {
					second = c.Time
				}
			}
		}
		assert.GreaterOrEqual(t, second.Sub(first), time.Minute)
	})
}

// While a waiting action polls a run, GitHub's x-poll-interval sets the pace.
func TestPollIntervalIsHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ghtest.WithCancelDelay(50*time.Second), ghtest.WithPollInterval(20*time.Second))
	wf, _ := e.workflow("ci.yml", "")
	id := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-3 * time.Hour)})
	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c, ghactions.WithPollInterval(time.Second))
	require.NoError(t, err)
	o, _ := e.orchestrate(c, r, testPolicy())
	st := e.tick(o, 0)
	require.Len(t, st.History, 2)
	require.True(t, st.History[0].OK(), st.History[0].Error)
	var polls []time.Time
	for _, c := range e.srv.Calls() {
		if c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/runs/"+itoa(id)) {
			polls = append(polls, c.Time)
		}
	}
	require.GreaterOrEqual(t, len(polls), 3)
	assert.LessOrEqual(t, len(polls), 7, "about one read per 20s over the 50s the cancel took, plus the reads around it")
	for i := 2; i < len(polls)-2; i++ {
		assert.GreaterOrEqual(t, polls[i].Sub(polls[i-1]), 20*time.Second)
	}
}
