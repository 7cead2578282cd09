package redundancy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

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
	require.NoError(t, master.Add(redundancy.Nest("pm2", child, fastPolicy())))

	// CheckNow through the master checks the child without recovering.
	s := master.CheckNow(ctx)
	require.Len(t, s.Targets, 1)
	r := s.Targets[0].Report
	assert.Equal(t, redundancy.StatusUnknown, r.Status, "the child's own threshold (5) is not reached yet")
	assert.Equal(t, 1, web.Calls(), "the child was checked once")
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

	// The master's dry run is the child's, each target named nest/target.
	plans := rec.Plans()
	plan, err := master.Plan(ctx)
	require.NoError(t, err)
	assert.Equal(t, []redundancy.PlannedAction{{Target: "pm2/web", Verb: "pm2.restart", Subject: "thing", Reason: "down"}}, plan)
	assert.Equal(t, plans+1, rec.Plans(), "the dry run plans the child once")
	assert.Empty(t, rec.Runs())

	// System-wide recovery goes through the child's own machinery and budget,
	// and the child's recoverer is asked for a plan once.
	plans = rec.Plans()
	res, err := master.RecoverNow(ctx, nil)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, redundancy.VerbRecoverTarget, res[0].Verb)
	assert.Equal(t, "web", res[0].Subject)
	assert.Equal(t, []string{"pm2.restart"}, rec.Runs())
	assert.Equal(t, plans+1, rec.Plans(), "one plan per recovery: the master does not plan the child to build a reason")
	cs, _ := child.Target("web")
	assert.Equal(t, 1, cs.Recoveries)
	assert.Equal(t, redundancy.DefaultBudgetMax-1, cs.BudgetLeft)

	s = master.CheckNow(ctx)
	assert.Equal(t, redundancy.StatusHealthy, s.Status)
}

func TestEmptyOrchestratorNested(t *testing.T) {
	t.Parallel()
	master := redundancy.New()
	require.NoError(t, master.Add(redundancy.Nest("empty", redundancy.New(), redundancy.Policy{})))
	s := master.CheckNow(context.Background())
	assert.Equal(t, redundancy.StatusHealthy, s.Targets[0].Report.Status)
	assert.Equal(t, "no targets", s.Targets[0].Report.Summary)
}

func TestNestDefaults(t *testing.T) {
	t.Parallel()
	child := redundancy.New()
	require.NoError(t, child.Add(redundancy.Target{Name: "a", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: time.Minute, FailureThreshold: 2}}))
	require.NoError(t, child.Add(redundancy.Target{Name: "b", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: 10 * time.Second, FailureThreshold: 4}}))

	n := redundancy.Nest("pm2", child, redundancy.Policy{})
	assert.Equal(t, 10*time.Second, n.Policy.Interval, "as often as the child's most frequent target")
	assert.Equal(t, 4+redundancy.NestFailureMargin, n.Policy.FailureThreshold, "after the child's most patient target, with a margin")
	assert.Equal(t, redundancy.NestActionTimeout, n.Policy.ActionTimeout)
	assert.Negative(t, n.Policy.Retry, "the child retries its own actions")
	require.NoError(t, n.Policy.Validate())

	own := redundancy.Nest("pm2", child, redundancy.Policy{Interval: time.Hour, FailureThreshold: 1, Retry: 3})
	assert.Equal(t, time.Hour, own.Policy.Interval, "set fields are kept")
	assert.Equal(t, 1, own.Policy.FailureThreshold)
	assert.Equal(t, 3, own.Policy.Retry)

	empty := redundancy.Nest("none", redundancy.New(), redundancy.Policy{})
	assert.Equal(t, redundancy.DefaultInterval, empty.Policy.Interval)
	assert.Equal(t, redundancy.DefaultFailureThreshold+redundancy.NestFailureMargin, empty.Policy.FailureThreshold)
}

func TestNestRefusesCyclesAndSharedChildren(t *testing.T) {
	t.Parallel()
	a, b, c := redundancy.New(), redundancy.New(), redundancy.New()
	err := a.Add(redundancy.Nest("self", a, redundancy.Policy{}))
	require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
	assert.Contains(t, err.Error(), "nested in itself")

	require.NoError(t, a.Add(redundancy.Nest("b", b, redundancy.Policy{})))
	require.NoError(t, b.Add(redundancy.Nest("c", c, redundancy.Policy{})))
	err = c.Add(redundancy.Nest("a", a, redundancy.Policy{}))
	require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
	assert.Contains(t, err.Error(), "a cycle")

	err = redundancy.New().Add(redundancy.Nest("b-again", b, redundancy.Policy{}))
	require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
	assert.Contains(t, err.Error(), "already nested")

	err = a.Add(redundancy.Nest("nil", nil, redundancy.Policy{}))
	require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
	assert.Contains(t, err.Error(), "target.Checker is nil")
}

// A check of a child's target triggered by an event source wakes the
// parent's target for the child once it is done, under Tick and under Run.
func TestChildTriggerReachesParent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := func() (*redundancy.Orchestrator, *redundancy.Orchestrator, *redundancytest.Checker, *redundancytest.FakeClock) {
		clock := redundancytest.NewFakeClock(t0)
		child := redundancy.New(redundancy.WithClock(clock))
		web := redundancytest.NewChecker()
		require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: web, Policy: redundancy.Policy{Interval: time.Hour}}))
		parent := redundancy.New(redundancy.WithClock(clock))
		require.NoError(t, parent.Add(redundancy.Nest("pm2", child, redundancy.Policy{})))
		return parent, child, web, clock
	}

	t.Run("tick", func(t *testing.T) {
		t.Parallel()
		parent, child, web, clock := setup()
		parent.Tick(ctx)
		require.Equal(t, 1, web.Calls())
		first, _ := parent.Target("pm2")
		clock.Advance(time.Minute)
		parent.Tick(ctx)
		st, _ := parent.Target("pm2")
		require.Equal(t, 1, web.Calls(), "nothing is due")
		require.Equal(t, first.LastCheck, st.LastCheck)

		child.Trigger("web")
		parent.Tick(ctx)
		assert.Equal(t, 2, web.Calls(), "the child checked its triggered target")
		st, _ = parent.Target("pm2")
		assert.Equal(t, clock.Now(), st.LastCheck, "and the parent read the child at once")
	})

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		parent, child, web, clock := setup()
		startRun(t, parent)
		require.Eventually(t, func() bool {
			st, _ := parent.Target("pm2")
			return web.Calls() == 1 && !st.LastCheck.IsZero()
		}, 5*time.Second, time.Millisecond, "the parent's Run runs the child")
		clock.Advance(time.Minute) // not due: an hour apart
		child.Trigger("web")
		require.Eventually(t, func() bool {
			st, _ := parent.Target("pm2")
			return web.Calls() == 2 && st.LastCheck.Equal(clock.Now())
		}, 5*time.Second, time.Millisecond, "the triggered check reached the parent")
	})
}

// Shutdown with nested orchestrators: the child's recovery in flight is
// not abandoned; it finishes, is recorded and saved, the rest of its plan
// is not started, and the parent's Run returns after all of it.
func TestNestedShutdownFinishesAndRecordsTheChildRecovery(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		child := redundancy.New(redundancy.WithStateFile(filepath.Join(dir, "child.json")))
		release := make(chan struct{})
		rec := redundancytest.NewRecoverer("first", "second", "third")
		rec.OnRun = func(ctx context.Context, verb string) error {
			<-release
			return ctx.Err()
		}
		require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
		childEvents := redundancytest.NewRecorder(child)
		parent := redundancy.New(redundancy.WithStateFile(filepath.Join(dir, "parent.json")))
		require.NoError(t, parent.Add(redundancy.Nest("pm2", child, redundancy.Policy{})))

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- parent.Run(ctx) }()
		synctest.Wait() // the child's first action is running and blocked
		require.Equal(t, []string{"first"}, rec.Runs())
		cancel()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Run returned while the child's action was in flight")
		default:
		}
		close(release)
		require.NoError(t, <-done)
		assert.Equal(t, []string{"first"}, rec.Runs(), "no further action of the plan after shutdown")
		failed := childEvents.WaitFor(t, redundancy.EventRecoveryFailed, time.Second)
		assert.ErrorIs(t, failed.Err, redundancy.ErrInterrupted)
		assert.Equal(t, 1, childEvents.Count(redundancy.EventActionSucceeded), "the action in flight is recorded")
		st, _ := child.Target("web")
		require.Len(t, st.History, 1, "and kept in the history")
	})
	data, err := os.ReadFile(filepath.Join(dir, "child.json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"verb": "first"`, "the child's state file has the result")
	assert.NotContains(t, string(data), `"verb": "second"`)
	require.FileExists(t, filepath.Join(dir, "parent.json"))
}

// A parent's recovery of a child (through the child's RecoverNow) stops
// after the child's action in flight when the parent's context ends.
func TestNestedRecoveryStopsWithTheParent(t *testing.T) {
	t.Parallel()
	child, _ := newOrch(t)
	inAction, release := make(chan struct{}), make(chan struct{})
	rec := redundancytest.NewRecoverer("first", "second")
	rec.OnRun = func(ctx context.Context, verb string) error {
		if verb == "first" {
			close(inAction)
			<-release
		}
		return nil
	}
	require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	parent, _ := newOrch(t)
	require.NoError(t, parent.Add(redundancy.Nest("pm2", child, redundancy.Policy{})))
	child.CheckNow(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		res []redundancy.ActionResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := parent.RecoverNow(ctx, nil)
		ch <- out{res, err}
	}()
	<-inAction
	cancel()
	close(release)
	got := <-ch
	assert.Equal(t, []string{"first"}, rec.Runs(), "the child's second action was not started")
	require.ErrorIs(t, got.err, redundancy.ErrInterrupted)
	st, _ := child.Target("web")
	require.Len(t, st.History, 1)
	assert.True(t, st.History[0].OK())
	assert.True(t, strings.HasPrefix(got.err.Error(), `recover "pm2"`), got.err.Error())
}
