package ghtest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// The real checker and recoverer against a validated server: every
// request they send and every answer they get is checked against GitHub's
// OpenAPI description, through repairs of every kind.
func TestGhactionsExchangesMatchGitHubsDescription(t *testing.T) {
	t.Parallel()
	srv, clock, v := newServer(t, ghtest.WithToken(token), ghtest.WithPollInterval(10*time.Second))
	ci := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Conclusion: ghactions.ConclusionFailure, Attempt: 2})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", HeadRepo: "stranger/app", Conclusion: ghactions.ConclusionFailure})
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "Nightly", Path: ".github/workflows/nightly.yml", State: ghactions.WorkflowDisabledInactivity})
	deploy := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: deploy, Branch: "main", Status: ghactions.RunQueued, Zombie: true, StartedAt: start.Add(-3 * time.Hour)})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: deploy, Branch: "main", Status: ghactions.RunWaiting, CreatedAt: start.Add(-72 * time.Hour)})
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "Backup", Path: ".github/workflows/backup.yml", State: ghactions.WorkflowDisabledInactivity})
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "Old", Path: ".github/workflows/old.yml", State: ghactions.WorkflowDeleted})

	c, err := ghactions.NewChecker(srv.Client(), ghactions.Repo{Owner: "octo", Name: "app", Workflows: []string{"ci.yml", "nightly.yml", "deploy.yml", "old.yml"}},
		ghactions.WithClock(clock), ghactions.WithStuckAfter(time.Hour))
	require.NoError(t, err)
	r, err := ghactions.NewRecoverer(c, ghactions.WithMaxReruns(1), ghactions.WithBackupWorkflow("backup.yml"))
	require.NoError(t, err)
	o := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, o.Add(redundancy.Target{Name: "gh", Checker: c, Recoverer: r,
		Policy: redundancy.Policy{FailureThreshold: 1, Retry: -1}}))

	var snap redundancy.Snapshot
	drive(clock, func() { snap = o.Tick(context.Background()) })
	st := snap.Targets[0]
	require.NoError(t, st.Report.Err)
	require.NotEmpty(t, st.History)
	for _, h := range st.History {
		assert.True(t, h.OK(), "%s %s: %s", h.Verb, h.Subject, h.Error)
	}
	for _, op := range []struct {
		id     string
		status int
	}{
		{"repos/get", 200}, {"actions/list-repo-workflows", 200}, {"actions/list-workflow-runs", 200},
		{"actions/enable-workflow", 204}, {"actions/create-workflow-dispatch", 204},
		{"actions/force-cancel-workflow-run", 202}, {"actions/get-workflow-run", 200},
	} {
		assert.Positive(t, v.Seen(op.id, op.status), "%s %d", op.id, op.status)
	}
	for _, call := range srv.Calls() {
		assert.NotEqual(t, http.StatusUnauthorized, call.Status, call.String())
	}
}

// drive runs fn, moving clock on a second at a time while something waits
// on it (paced writes, polls).
func drive(clock *redundancytest.FakeClock, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if clock.BlockUntil(1, 2*time.Millisecond) {
			clock.Advance(time.Second)
		}
	}
}
