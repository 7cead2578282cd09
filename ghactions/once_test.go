package ghactions_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// The orchestrator drives the checker and recoverer against a fake GitHub
// whose every write answers 502 after doing its work, and whose cancels
// land minutes late; the policy retries each action. What GitHub actually
// did is counted: one re-run, one dispatch, one cancel and one fresh start
// per decision.
func TestOrchestratorRepairsOncePerDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ghtest.WithCancelDelay(3*time.Minute))
	ci, _ := e.workflow("ci.yml", "")
	failing := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: ci, Branch: branch, Conclusion: ghactions.ConclusionFailure})
	deploy, _ := e.workflow("deploy.yml", "")
	stuck := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: deploy, Branch: branch, Status: ghactions.RunInProgress, StartedAt: start.Add(-2 * time.Hour)})
	backup, _ := e.workflow("backup.yml", "")
	e.repo.Workflows = []string{"ci.yml", "deploy.yml"}

	lost := redundancytest.Fault{Status: 502, After: true, Times: -1}
	for _, p := range []string{
		"POST /repos/*/*/actions/runs/*/rerun-failed-jobs",
		"POST /repos/*/*/actions/runs/*/rerun",
		"POST /repos/*/*/actions/runs/*/cancel",
		"POST /repos/*/*/actions/workflows/*/dispatches",
	} {
		e.srv.FailNext(p, lost)
	}

	c := e.checker(ghactions.WithStuckAfter(time.Hour))
	r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(1), ghactions.WithBackupWorkflow("backup.yml"),
		ghactions.WithCancelWait(time.Minute))
	require.NoError(t, err)
	p := redundancy.Policy{
		Interval: time.Minute, FailureThreshold: 1, Retry: 2, RetryDelay: time.Millisecond,
		Backoff: redundancy.Backoff{Base: time.Second, Max: time.Second, Jitter: -1},
		Budget:  redundancy.Budget{Max: 20, Window: time.Hour},
	}
	o, rec := e.orchestrate(c, r, p)

	for range 15 {
		e.tick(o, time.Minute)
		// GitHub's runners: the re-run of CI fails again.
		if run, _ := e.srv.Run(failing); run.Status == ghactions.RunQueued {
			e.srv.CompleteRun(failing, ghactions.ConclusionFailure)
		}
	}

	calls := e.srv.Calls()
	did := effects(calls)
	assert.Equal(t, 1, did["rerun-failed-jobs"], "one re-run for the failed attempt 1")
	assert.Equal(t, 1, did["dispatches"], "one backup dispatch for the failed attempt 2")
	assert.Equal(t, 1, did["cancel"], "one cancel for the stuck run")
	assert.Equal(t, 1, did["rerun"], "one fresh start of the stuck run, after its cancel landed")
	assert.Zero(t, did["force-cancel"])
	asked := sent(calls)
	assert.Equal(t, did, asked, "and nothing was sent twice: every lost answer was reconciled by reading GitHub")

	run, _ := e.srv.Run(failing)
	assert.Equal(t, 2, run.Attempt)
	run, _ = e.srv.Run(stuck)
	assert.Equal(t, 2, run.Attempt)
	var backups int
	for _, r := range e.srv.Runs(owner, name) {
		if r.WorkflowID == backup {
			backups++
		}
	}
	assert.Equal(t, 1, backups)
	assert.Equal(t, 1, rec.Count(redundancy.EventEscalated), "once all is spent and CI still fails, the target escalates")
	t.Logf("calls: %d in all; writes sent: %v", len(calls), asked)
}
