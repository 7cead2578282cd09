package redundancy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// A dead daemon-like parent with five dependent children raises one alert,
// naming the parent and listing the children; the children get no repairs
// while it is down; once it is back, they are repaired (quietly).
func TestDeadParentRaisesOneAlert(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	p := fastPolicy()
	p.Interval = time.Minute
	daemon := redundancytest.NewChecker(redundancytest.Unhealthy("daemon"))
	daemonFix := redundancytest.NewRecoverer("test.resurrect")
	daemonFix.Fail("test.resurrect", 1000)
	require.NoError(t, o.Add(redundancy.Target{Name: "daemon", Checker: daemon, Recoverer: daemonFix, Policy: p}))
	apps := make([]*redundancytest.Checker, 5)
	fixes := make([]*redundancytest.Recoverer, 5)
	for i := range apps {
		apps[i] = redundancytest.NewChecker(redundancytest.Unhealthy(fmt.Sprintf("app%d", i+1)))
		fixes[i] = redundancytest.NewRecoverer("test.restart")
		ch := apps[i]
		fixes[i].OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
		require.NoError(t, o.Add(redundancy.Target{Name: fmt.Sprintf("app%d", i+1), Checker: apps[i], Recoverer: fixes[i],
			Policy: p, DependsOn: []string{"daemon"}}))
	}

	tickEvery(o, clock, 5, time.Minute)
	require.Equal(t, []string{"open daemon/test.down"}, alerts.Notices(), "one alert, for the root cause")
	for i, f := range fixes {
		assert.Empty(t, f.Runs(), "app%d: no repair that cannot work", i+1)
	}
	snap := o.Snapshot()
	require.Len(t, snap.Targets[0].Alerts, 1)
	assert.Equal(t, []string{"app1/test.down", "app2/test.down", "app3/test.down", "app4/test.down", "app5/test.down"},
		snap.Targets[0].Alerts[0].Affected)
	for _, ts := range snap.Targets[1:] {
		require.Len(t, ts.Alerts, 1, ts.Name)
		assert.Equal(t, redundancy.AlertPending, ts.Alerts[0].State)
		assert.Equal(t, "daemon/test.down", ts.Alerts[0].HeldBy)
		assert.Contains(t, ts.RepairsHeld, "dependency is failing")
	}
	_, err := o.RecoverNow(context.Background(), []string{"app1"})
	require.ErrorIs(t, err, redundancy.ErrDependencyFailing)
	res, err := o.RecoverNow(context.Background(), []string{"app1"}, redundancy.Force())
	require.NoError(t, err, "a forced recovery is a person's call")
	assert.Len(t, res, 1)
	apps[0].Set(redundancytest.Unhealthy("app1"))

	tickEvery(o, clock, 1, time.Minute) // past the backoff of the forced attempt
	daemon.Set(redundancytest.Healthy())
	tickEvery(o, clock, 4, time.Minute)
	assert.Equal(t, []string{"open daemon/test.down", "resolved daemon/test.down"}, alerts.Notices(),
		"the children were repaired at once once the daemon was back: nobody else is paged")
	for i, f := range fixes {
		assert.NotEmpty(t, f.Runs(), "app%d repaired after the daemon", i+1)
	}
	assert.Equal(t, redundancy.StatusHealthy, o.Snapshot().Status)
}

// A child that fails before its parent has been checked waits for the
// parent's verdict (and wakes it) instead of alerting or repairing.
func TestChildWaitsForTheParentsCheck(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t, redundancy.WithConcurrency(1)) // the parent is checked first
	parent := redundancytest.NewChecker(redundancytest.Healthy())
	require.NoError(t, o.Add(redundancy.Target{Name: "api", Checker: parent, Policy: redundancy.Policy{Interval: time.Hour}}))
	child := redundancytest.NewRecoverer()
	kid := redundancytest.NewChecker(redundancytest.Healthy())
	require.NoError(t, o.Add(redundancy.Target{Name: "runs", Checker: kid,
		Recoverer: child, Policy: fastPolicy(), DependsOn: []string{"api"}}))
	ctx := context.Background()
	o.Tick(ctx) // both healthy
	require.Equal(t, 1, parent.Calls())
	kid.Set(redundancytest.Unhealthy("run"))
	clock.Advance(time.Second)
	_ = o.CheckNow(ctx, "runs") // the child fails after the parent's last check
	_, err := o.RecoverNow(ctx, []string{"runs"})
	require.ErrorIs(t, err, redundancy.ErrDependencyFailing)
	assert.Contains(t, err.Error(), `waiting for the check of "api"`)
	assert.Empty(t, child.Runs())

	o.Tick(ctx) // the parent is triggered, checked and healthy: the child is on its own
	assert.Equal(t, 2, parent.Calls(), "the parent is checked at once, though its interval is an hour")
	assert.NotEmpty(t, child.Runs())
	clock.Advance(time.Second)
	o.Tick(ctx)
	assert.Equal(t, []string{"open runs/test.down"}, alerts.Notices(), "the repair did not work: the child's own alert")
}

// Within one target, a problem that follows from another (ProblemDeps)
// raises no alert of its own and is not planned.
func TestProblemDependencies(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	findings := []redundancy.Finding{{Subject: "daemon", Problem: "t.daemon-down", Status: redundancy.StatusUnhealthy, Detail: "no rpc.sock"}}
	for i := range 5 {
		findings = append(findings, redundancy.Finding{Subject: fmt.Sprintf("app%d", i+1), Problem: "t.errored", Status: redundancy.StatusUnhealthy})
	}
	ch := redundancytest.NewChecker(redundancy.NewReport("daemon down", findings...))
	var mu sync.Mutex
	var planned []redundancy.Problem
	rec := redundancy.RecovererFunc(func(_ context.Context, r redundancy.Report) ([]redundancy.Action, error) {
		mu.Lock()
		defer mu.Unlock()
		var actions []redundancy.Action
		for _, f := range r.Findings {
			planned = append(planned, f.Problem)
			actions = append(actions, redundancy.Action{Verb: "t.fix", Subject: f.Subject, Do: func(context.Context) error { return assert.AnError }})
		}
		return actions, nil
	})
	require.NoError(t, o.Add(redundancy.Target{Name: "pm2", Checker: ch, Recoverer: rec, Policy: fastPolicy(),
		ProblemDeps: redundancy.ProblemDeps{"t.errored": {"t.daemon-down"}}}))
	tickEvery(o, clock, 3, time.Minute)
	require.Equal(t, []string{"open pm2/t.daemon-down"}, alerts.Notices())
	assert.Equal(t, []string{"pm2/t.errored"}, alerts.Alerts()[0].Affected)
	assert.Equal(t, "daemon: no rpc.sock", alerts.Alerts()[0].Summary)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, planned)
	for _, p := range planned {
		assert.Equal(t, redundancy.Problem("t.daemon-down"), p, "the apps' findings are left out of the plan")
	}
}

// Dependencies that cannot work are refused when the target is added.
func TestDependencyValidation(t *testing.T) {
	t.Parallel()
	ok := redundancytest.NewChecker()
	tests := []struct {
		name   string
		target redundancy.Target
		want   string
	}{
		{"unknown target", redundancy.Target{Name: "app", Checker: ok, DependsOn: []string{"daemon"}}, `depends on "daemon", which is not a target`},
		{"itself", redundancy.Target{Name: "app", Checker: ok, DependsOn: []string{"app"}}, `names "app" twice or itself`},
		{"twice", redundancy.Target{Name: "app", Checker: ok, DependsOn: []string{"base", "base"}}, `names "base" twice`},
		{"problem on itself", redundancy.Target{Name: "app", Checker: ok, ProblemDeps: redundancy.ProblemDeps{"a": {"a"}}}, `"a" depends on itself`},
		{"problem cycle", redundancy.Target{Name: "app", Checker: ok, ProblemDeps: redundancy.ProblemDeps{"a": {"b"}, "b": {"c"}, "c": {"a"}}}, "cycle [a b c a]"},
		{"empty problem", redundancy.Target{Name: "app", Checker: ok, ProblemDeps: redundancy.ProblemDeps{"a": {""}}}, "empty problem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := redundancy.New()
			require.NoError(t, o.Add(redundancy.Target{Name: "base", Checker: ok}))
			err := o.Add(tc.target)
			require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
