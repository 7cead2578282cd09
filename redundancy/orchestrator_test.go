package redundancy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fastPolicy acts on the first bad report, never retries, has no jitter.
func fastPolicy() redundancy.Policy {
	return redundancy.Policy{
		Interval:         time.Second,
		FailureThreshold: 1,
		Retry:            -1,
		Backoff:          redundancy.Backoff{Jitter: -1},
	}
}

func newOrch(t *testing.T, opts ...redundancy.Option) (*redundancy.Orchestrator, *redundancytest.FakeClock) {
	t.Helper()
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(append([]redundancy.Option{redundancy.WithClock(clock)}, opts...)...)
	return o, clock
}

func TestAddRejectsBadTargets(t *testing.T) {
	t.Parallel()
	ok := redundancytest.NewChecker()
	tests := []struct {
		name   string
		target redundancy.Target
		want   string
	}{
		{"empty name", redundancy.Target{Checker: ok}, "target.Name is empty"},
		{"padded name", redundancy.Target{Name: " web", Checker: ok}, "leading or trailing space"},
		{"slash in name", redundancy.Target{Name: "a/b", Checker: ok}, `contains "/"`},
		{"nil checker", redundancy.Target{Name: "web"}, "target.Checker is nil"},
		{"negative interval", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Interval: -time.Second}}, "policy.Interval is negative"},
		{"negative timeout", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Timeout: -1}}, "policy.Timeout is negative"},
		{"negative failure threshold", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{FailureThreshold: -2}}, "policy.FailureThreshold is negative"},
		{"negative success threshold", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{SuccessThreshold: -1}}, "policy.SuccessThreshold is negative"},
		{"negative budget", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Budget: redundancy.Budget{Max: -1}}}, "policy.Budget.Max is negative"},
		{"negative window", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Budget: redundancy.Budget{Window: -time.Minute}}}, "policy.Budget.Window is negative"},
		{"jitter too big", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Backoff: redundancy.Backoff{Jitter: 1.5}}}, "Jitter must be below 1"},
		{"max below base", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Backoff: redundancy.Backoff{Base: time.Minute, Max: time.Second}}}, "Backoff.Max (1s) is below Backoff.Base (1m0s)"},
		{"base above the default max", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Backoff: redundancy.Backoff{Base: time.Hour}}}, "Backoff.Max (5m0s, the default) is below Backoff.Base (1h0m0s)"},
		{"interval below the minimum", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Interval: time.Nanosecond}}, "policy.Interval 1ns is below the minimum of 1s"},
		{"interval 999ms", redundancy.Target{Name: "web", Checker: ok, Policy: redundancy.Policy{Interval: 999 * time.Millisecond}}, "below the minimum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := redundancy.New()
			err := o.Add(tc.target)
			require.Error(t, err)
			assert.ErrorIs(t, err, redundancy.ErrInvalidTarget)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	o := redundancy.New()
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ok}))
	err := o.Add(redundancy.Target{Name: "web", Checker: ok})
	require.ErrorIs(t, err, redundancy.ErrDuplicateTarget)
	assert.Contains(t, err.Error(), `"web"`)
}

func TestFailureThresholdCountsConsecutiveFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(
		redundancytest.Healthy(),
		redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"),
		redundancytest.Healthy(), // breaks the run
		redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"),
	)
	rec := redundancytest.NewRecoverer()
	p := fastPolicy()
	p.FailureThreshold = 3
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))

	var got []redundancy.Status
	for range 7 {
		s := o.Tick(ctx)
		got = append(got, s.Targets[0].Status)
		clock.Advance(time.Second)
	}
	want := []redundancy.Status{
		redundancy.StatusHealthy,
		redundancy.StatusHealthy, redundancy.StatusHealthy,
		redundancy.StatusHealthy,
		redundancy.StatusHealthy, redundancy.StatusHealthy, redundancy.StatusUnhealthy,
	}
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"test.fix"}, rec.Runs(), "one recovery, at the third consecutive failure")
}

func TestTickChecksOnlyDueTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	fast, slow := redundancytest.NewChecker(), redundancytest.NewChecker()
	require.NoError(t, o.Add(redundancy.Target{Name: "fast", Checker: fast, Policy: redundancy.Policy{Interval: time.Second}}))
	require.NoError(t, o.Add(redundancy.Target{Name: "slow", Checker: slow, Policy: redundancy.Policy{Interval: 10 * time.Second}}))
	for range 10 {
		o.Tick(ctx)
		clock.Advance(time.Second)
	}
	assert.Equal(t, 10, fast.Calls())
	assert.Equal(t, 1, slow.Calls())
	o.Tick(ctx)
	assert.Equal(t, 2, slow.Calls())
}

func TestUnknownReportsNeverRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancy.ErrorReport(errors.New("api unreachable")))
	rec := redundancytest.NewRecoverer()
	require.NoError(t, o.Add(redundancy.Target{Name: "gh", Checker: ch, Recoverer: rec, Policy: fastPolicy()}))
	for range 5 {
		o.Tick(ctx)
		clock.Advance(time.Second)
	}
	st, ok := o.Target("gh")
	require.True(t, ok)
	assert.Equal(t, redundancy.StatusUnknown, st.Status)
	assert.Equal(t, "api unreachable", st.Error)
	assert.Zero(t, rec.Plans(), "no plan for a check that could not run")
}

func TestReportWithErrorIsNeverHealthy(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	ch := redundancytest.NewChecker(redundancy.Report{Status: redundancy.StatusHealthy, Err: errors.New("half answer")})
	require.NoError(t, o.Add(redundancy.Target{Name: "x", Checker: ch, Policy: fastPolicy()}))
	s := o.Tick(context.Background())
	assert.Equal(t, redundancy.StatusUnknown, s.Targets[0].Report.Status)
}

func TestBackoffSpacesAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer()
	p := fastPolicy()
	p.Backoff.Base = 10 * time.Second
	p.Backoff.Max = 40 * time.Second
	p.Budget = redundancy.Budget{Max: 100, Window: time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	recorder := redundancytest.NewRecorder(o)

	var at []time.Duration
	for sec := range 200 {
		before := len(rec.Runs())
		o.Tick(ctx)
		if len(rec.Runs()) > before {
			at = append(at, time.Duration(sec)*time.Second)
		}
		clock.Advance(time.Second)
	}
	// 10s doubling, capped at 40s.
	want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second, 110 * time.Second, 150 * time.Second, 190 * time.Second}
	assert.Equal(t, want, at)
	assert.Equal(t, len(want), recorder.Count(redundancy.EventRecoveryStarted))
	assert.Zero(t, recorder.Count(redundancy.EventEscalated))
}

func TestBackoffJitterStaysWithinBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for range 20 {
		o, clock := newOrch(t)
		rec := redundancytest.NewRecoverer()
		p := fastPolicy()
		p.Backoff = redundancy.Backoff{Base: 100 * time.Second, Jitter: 0.1}
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
		o.Tick(ctx)
		st, _ := o.Target("web")
		wait := st.NextAttempt.Sub(clock.Now())
		assert.GreaterOrEqual(t, wait, 90*time.Second)
		assert.LessOrEqual(t, wait, 110*time.Second)
	}
}

func TestBudgetExhaustionEscalates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer()
	p := fastPolicy()
	p.Backoff = redundancy.Backoff{Base: time.Second, Max: time.Second, Jitter: -1, ResetAfter: time.Minute}
	p.Budget = redundancy.Budget{Max: 3, Window: time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	recorder := redundancytest.NewRecorder(o)

	for range 10 {
		o.Tick(ctx)
		clock.Advance(time.Second)
	}
	assert.Len(t, rec.Runs(), 3, "budget of 3 attempts")
	assert.Equal(t, 1, recorder.Count(redundancy.EventEscalated), "escalated once, not on every check")
	st, _ := o.Target("web")
	assert.True(t, st.Escalated)
	assert.Zero(t, st.BudgetLeft)
	assert.Equal(t, 10, ch.Calls(), "checks go on while escalated")

	// A manual recovery within budget is refused; a forced one runs and clears escalation.
	_, err := o.RecoverNow(ctx, []string{"web"})
	require.ErrorIs(t, err, redundancy.ErrEscalated)
	assert.Len(t, rec.Runs(), 3)
	res, err := o.RecoverNow(ctx, []string{"web"}, redundancy.Force())
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.True(t, res[0].OK())
	st, _ = o.Target("web")
	assert.False(t, st.Escalated)

	// The budget window slides: an hour later attempts are allowed again.
	clock.Advance(time.Hour)
	o.Tick(ctx)
	assert.Len(t, rec.Runs(), 5)
}

// The escalated mark clears as soon as the target is healthy past its
// success threshold, not after a fixed stretch.
func TestEscalationClearsWhenHealthyAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer()
	p := fastPolicy()
	p.Interval = time.Minute
	p.SuccessThreshold = 2
	p.Backoff = redundancy.Backoff{Base: time.Second, Jitter: -1, ResetAfter: 10 * time.Minute}
	p.Budget = redundancy.Budget{Max: 1, Window: 24 * time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	o.Tick(ctx)
	clock.Advance(time.Minute)
	o.Tick(ctx)
	st, _ := o.Target("web")
	require.True(t, st.Escalated)

	ch.Set(redundancytest.Healthy())
	clock.Advance(time.Minute)
	o.Tick(ctx)
	st, _ = o.Target("web")
	assert.True(t, st.Escalated, "one healthy check is below the success threshold of 2")
	clock.Advance(time.Minute)
	o.Tick(ctx)
	st, _ = o.Target("web")
	assert.Equal(t, redundancy.StatusHealthy, st.Status)
	assert.False(t, st.Escalated, "healthy past the success threshold clears escalation")
}

// Policy.EscalationHold keeps the mark for a configured healthy stretch.
func TestEscalationHoldKeepsTheMark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	p := fastPolicy()
	p.Interval = time.Minute
	p.EscalationHold = 10 * time.Minute
	p.Backoff = redundancy.Backoff{Base: time.Second, Jitter: -1}
	p.Budget = redundancy.Budget{Max: 1, Window: 24 * time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: redundancytest.NewRecoverer(), Policy: p}))
	o.Tick(ctx)
	clock.Advance(time.Minute)
	o.Tick(ctx)
	st, _ := o.Target("web")
	require.True(t, st.Escalated)

	ch.Set(redundancytest.Healthy())
	for range 5 {
		clock.Advance(time.Minute)
		o.Tick(ctx)
	}
	st, _ = o.Target("web")
	assert.True(t, st.Escalated, "5 healthy minutes are not the configured 10")
	for range 6 {
		clock.Advance(time.Minute)
		o.Tick(ctx)
	}
	st, _ = o.Target("web")
	assert.False(t, st.Escalated, "a 10-minute healthy stretch clears it")

	require.ErrorContains(t, o.Add(redundancy.Target{Name: "x", Checker: ch, Policy: redundancy.Policy{EscalationHold: -1}}),
		"policy.EscalationHold is negative")
}

func TestSuccessThresholdAfterRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer()
	rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
	p := fastPolicy()
	p.SuccessThreshold = 3
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	recorder := redundancytest.NewRecorder(o)

	var got []redundancy.Status
	for range 4 {
		got = append(got, o.Tick(ctx).Targets[0].Status)
		clock.Advance(time.Second)
	}
	assert.Equal(t, []redundancy.Status{redundancy.StatusUnhealthy, redundancy.StatusUnhealthy, redundancy.StatusUnhealthy, redundancy.StatusHealthy}, got)
	assert.Equal(t, []redundancy.EventKind{
		redundancy.EventStatusChanged, redundancy.EventRecoveryStarted, redundancy.EventActionSucceeded,
		redundancy.EventRecoverySucceeded, redundancy.EventStatusChanged, redundancy.EventAlert,
	}, recorder.Kinds())
	last := recorder.Events()[5].Alert
	require.NotNil(t, last)
	assert.True(t, last.Quiet, "a repair that worked at once closes its alert quietly: logged, not paged")
}

func TestPlanStopsAtFirstFailedAction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // the pauses between retries pass on the bubble's clock
		ctx := context.Background()
		o := redundancy.New()
		rec := redundancytest.NewRecoverer("a", "b", "c")
		rec.Fail("b", 10)
		p := fastPolicy()
		p.Retry = 2
		p.RetryDelay = time.Second
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
		recorder := redundancytest.NewRecorder(o)
		start := time.Now()
		o.Tick(ctx)
		assert.Equal(t, []string{"a", "b", "b", "b"}, rec.Runs(), "b retried twice, c never run")
		assert.Equal(t, 3*time.Second, time.Since(start), "1s, then 2s between the tries of b")
		st, _ := o.Target("web")
		require.Len(t, st.History, 2)
		assert.Equal(t, 3, st.History[1].Tries)
		assert.Equal(t, 3*time.Second, st.History[1].Elapsed)
		assert.Contains(t, st.History[1].Error, "scripted failure")
		failed := recorder.WaitFor(t, redundancy.EventActionFailed, time.Second)
		assert.Equal(t, "b thing", failed.Action)
		assert.ErrorIs(t, failed.Err, redundancytest.ErrScripted)
		assert.Equal(t, 1, recorder.Count(redundancy.EventRecoveryFailed))
	})
}

func TestRetrySucceedsWithinAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := redundancy.New()
		rec := redundancytest.NewRecoverer("flaky")
		rec.Fail("flaky", 2)
		p := fastPolicy()
		p.Retry = 2
		p.RetryDelay = time.Millisecond
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
		recorder := redundancytest.NewRecorder(o)
		o.Tick(context.Background())
		assert.Len(t, rec.Runs(), 3)
		assert.Equal(t, 1, recorder.Count(redundancy.EventRecoverySucceeded))
	})
}

// The pause between the tries of an action is waited on the orchestrator's
// Clock: a FakeClock holds the retry until it is advanced.
func TestRetryDelayWaitsOnTheClock(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	rec := redundancytest.NewRecoverer("flaky")
	rec.Fail("flaky", 1)
	p := fastPolicy()
	p.Retry = 1
	p.RetryDelay = time.Minute
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
	done := make(chan struct{})
	go func() { o.Tick(context.Background()); close(done) }()
	require.True(t, clock.BlockUntil(1, 5*time.Second), "the retry waits on the clock")
	assert.Equal(t, []string{"flaky"}, rec.Runs())
	clock.Advance(59 * time.Second)
	assert.Equal(t, []string{"flaky"}, rec.Runs(), "not before RetryDelay")
	clock.Advance(time.Second)
	<-done
	assert.Equal(t, []string{"flaky", "flaky"}, rec.Runs())
	st, _ := o.Target("web")
	assert.Equal(t, time.Minute, st.History[0].Elapsed, "timed on the clock")
}

func TestCheckPanicIsContained(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	bad := redundancytest.NewChecker()
	bad.Panic = "boom"
	good := redundancytest.NewChecker()
	require.NoError(t, o.Add(redundancy.Target{Name: "bad", Checker: bad, Policy: fastPolicy()}))
	require.NoError(t, o.Add(redundancy.Target{Name: "good", Checker: good, Policy: fastPolicy()}))
	recorder := redundancytest.NewRecorder(o)
	s := o.Tick(context.Background())
	clock.Advance(time.Second)
	o.Tick(context.Background())

	ev := recorder.WaitFor(t, redundancy.EventCheckPanicked, time.Second, "bad")
	var perr *redundancy.PanicError
	require.ErrorAs(t, ev.Err, &perr)
	assert.Equal(t, "boom", perr.Value)
	assert.Equal(t, redundancy.StatusUnknown, s.Targets[0].Report.Status)
	assert.Equal(t, redundancy.StatusHealthy, s.Targets[1].Status)
	assert.Equal(t, 2, good.Calls(), "the orchestrator keeps running")
}

func TestActionPanicIsContained(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	rec := redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
		return []redundancy.Action{{Verb: "test.explode", Do: func(context.Context) error { panic("kaboom") }}}, nil
	})
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	recorder := redundancytest.NewRecorder(o)
	o.Tick(context.Background())
	ev := recorder.WaitFor(t, redundancy.EventActionFailed, time.Second)
	var perr *redundancy.PanicError
	require.ErrorAs(t, ev.Err, &perr)
	assert.Equal(t, "kaboom", perr.Value)
}

func TestPlannerPanicIsContained(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	rec := redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) { panic("no plan") })
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	recorder := redundancytest.NewRecorder(o)
	o.Tick(context.Background())
	assert.Equal(t, 1, recorder.Count(redundancy.EventPlanPanicked))
	assert.Zero(t, recorder.Count(redundancy.EventCheckPanicked), "a recoverer panic has its own kind")
	assert.Equal(t, 1, recorder.Count(redundancy.EventRecoveryFailed))
}

func TestCheckTimeoutIsUnknown(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	ch := redundancytest.NewChecker()
	never := make(chan struct{})
	ch.Block = never
	// A checker that ignores its context entirely must not hang the tick either.
	deaf := redundancy.CheckerFunc(func(context.Context) redundancy.Report { <-never; return redundancy.Report{} })
	p := fastPolicy()
	p.Timeout = 20 * time.Millisecond
	require.NoError(t, o.Add(redundancy.Target{Name: "slow", Checker: ch, Policy: p}))
	require.NoError(t, o.Add(redundancy.Target{Name: "deaf", Checker: deaf, Policy: p}))
	s := o.Tick(context.Background())
	for _, ts := range s.Targets {
		assert.Equal(t, redundancy.StatusUnknown, ts.Report.Status, ts.Name)
		require.Error(t, ts.Report.Err, ts.Name)
	}
	assert.ErrorIs(t, s.Targets[1].Report.Err, redundancy.ErrCheckTimeout)
	assert.ErrorIs(t, s.Targets[1].Report.Err, context.DeadlineExceeded)
	close(never)
}

func TestDryRunDoesNothing(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t, redundancy.WithDryRun(true))
	rec := redundancytest.NewRecoverer("a", "b")
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	res, err := o.RecoverNow(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.True(t, res[0].DryRun)
	assert.Empty(t, rec.Runs())
	st, _ := o.Target("web")
	assert.Equal(t, redundancy.DefaultBudgetMax, st.BudgetLeft, "a dry run spends no budget")
}

func TestPlanIsADryRun(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	rec := redundancytest.NewRecoverer("pm2.restart", "pm2.save")
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	require.NoError(t, o.Add(redundancy.Target{Name: "watch-only", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("x"))}))
	plan, err := o.Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []redundancy.PlannedAction{
		{Target: "web", Verb: "pm2.restart", Subject: "thing", Reason: "down"},
		{Target: "web", Verb: "pm2.save", Subject: "thing", Reason: "down"},
	}, plan)
	assert.Empty(t, rec.Runs())

	_, err = o.Plan(context.Background(), "nope")
	require.ErrorIs(t, err, redundancy.ErrUnknownTarget)
}

func TestRecoverNowUnknownTargetAndNoRecoverer(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "watch", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("x"))}))
	_, err := o.RecoverNow(context.Background(), []string{"watch", "ghost"})
	require.ErrorIs(t, err, redundancy.ErrUnknownTarget)
	require.ErrorIs(t, err, redundancy.ErrNoRecoverer)
}

func TestSubscribeCancel(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
	var mu sync.Mutex
	n := 0
	cancel := o.Subscribe(func(redundancy.Event) { mu.Lock(); n++; mu.Unlock() })
	o.Tick(context.Background())
	cancel()
	o.CheckNow(context.Background())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, n, "one status change (unknown→healthy) before cancel, none after")
}

func TestCheckNowNeverRecovers(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	rec := redundancytest.NewRecoverer()
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: fastPolicy()}))
	s := o.CheckNow(context.Background())
	assert.Equal(t, redundancy.StatusUnhealthy, s.Status)
	assert.Zero(t, rec.Plans())
}

func TestRecovererExhaustedEscalatesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o, clock := newOrch(t)
	rec := redundancytest.NewRecoverer()
	rec.PlanErr = fmt.Errorf("re-runs spent: %w", redundancy.ErrExhausted)
	require.NoError(t, o.Add(redundancy.Target{Name: "gh", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("ci.yml")), Recoverer: rec, Policy: fastPolicy()}))
	recorder := redundancytest.NewRecorder(o)
	for range 3 {
		o.Tick(ctx)
		clock.Advance(time.Minute)
	}
	st, _ := o.Target("gh")
	assert.True(t, st.Escalated)
	assert.Equal(t, redundancy.DefaultBudgetMax, st.BudgetLeft, "no budget spent on a plan that cannot work")
	assert.Equal(t, 1, recorder.Count(redundancy.EventEscalated))
	assert.Zero(t, recorder.Count(redundancy.EventRecoveryStarted))
	_, err := o.RecoverNow(ctx, []string{"gh"})
	require.ErrorIs(t, err, redundancy.ErrEscalated)
}
