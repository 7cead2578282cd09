package redundancy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestNestedOrchestrators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	child, _ := newOrch(t)
	web := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer("pm2.restart")
	rec.OnRun = func(context.Context, string) error { web.Set(redundancytest.Healthy()); return nil }
	p := fastPolicy()
	p.FailureThreshold = 5 // the child alone would wait; the master acts
	require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: web, Recoverer: rec, Policy: p}))
	require.NoError(t, child.Add(redundancy.Target{Name: "db", Checker: redundancytest.NewChecker(), Policy: p}))

	master, _ := newOrch(t)
	require.NoError(t, master.Add(redundancy.Target{Name: "pm2", Checker: child, Recoverer: child, Policy: fastPolicy()}))

	// CheckNow through the master checks the child without recovering.
	s := master.CheckNow(ctx)
	require.Len(t, s.Targets, 1)
	r := s.Targets[0].Report
	assert.Equal(t, redundancy.StatusUnknown, r.Status, "the child's own threshold (5) is not reached yet")
	assert.Empty(t, rec.Runs())

	// Push the child past its threshold; the master sees the child's findings, prefixed.
	for range 4 {
		child.CheckNow(ctx)
	}
	s = master.CheckNow(ctx)
	r = s.Targets[0].Report
	assert.Equal(t, redundancy.StatusUnhealthy, r.Status)
	require.Len(t, r.Findings, 1)
	assert.Equal(t, "web/web", r.Findings[0].Subject)
	assert.Equal(t, "2 targets: 1 healthy, 1 unhealthy", r.Summary)
	assert.Empty(t, rec.Runs())

	// The master's dry run names the child target and what it would do.
	plan, err := master.PlanTargets(ctx)
	require.NoError(t, err)
	require.Len(t, plan, 1)
	assert.Equal(t, redundancy.PlannedAction{Target: "pm2", Verb: redundancy.VerbRecoverTarget, Subject: "web", Reason: "pm2.restart thing"}, plan[0])
	assert.Empty(t, rec.Runs())

	// System-wide recovery goes through the child's own machinery and budget.
	res, err := master.RecoverNow(ctx, redundancy.WithinBudget)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, []string{"pm2.restart"}, rec.Runs())
	cs, _ := child.Target("web")
	assert.Equal(t, 1, cs.Recoveries)
	assert.Equal(t, redundancy.DefaultBudgetMax-1, cs.BudgetLeft)

	s = master.CheckNow(ctx)
	assert.Equal(t, redundancy.StatusHealthy, s.Status)
}

func TestEmptyOrchestratorAsChecker(t *testing.T) {
	t.Parallel()
	o := redundancy.New()
	r := o.Check(context.Background())
	assert.Equal(t, redundancy.StatusHealthy, r.Status)
	assert.Equal(t, "no targets", r.Summary)
}
