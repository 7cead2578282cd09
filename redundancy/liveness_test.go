package redundancy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func probe(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "application/health+json", rr.Header().Get("Content-Type"))
	return rr.Code, rr.Body.String()
}

func hasProblem(l redundancy.Liveness, sub string) bool {
	for _, p := range l.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

// A checker that ignores its context and blocks past its timeout wedges
// the loop: liveness fails (503) until it returns.
func TestLivenessFailsWhileACheckerBlocksPastItsBound(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	stuck := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release // ignores its context
		return redundancytest.Healthy()
	})
	// The timeout is long in real time, so that the check is still running
	// when the fake clock has passed it.
	require.NoError(t, o.Add(redundancy.Target{Name: "stuck", Checker: stuck, Policy: redundancy.Policy{Interval: time.Second, Timeout: time.Minute}}))
	require.NoError(t, o.Add(redundancy.Target{Name: "ok", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: time.Second}}))
	cancel, _ := startRun(t, o)
	defer cancel()
	<-entered

	code, _ := probe(t, o.LivenessHandler())
	assert.Equal(t, http.StatusOK, code, "within its bound")
	assert.True(t, o.Liveness().Alive)

	clock.Advance(time.Minute + redundancy.MinLivenessSlack - time.Second)
	l := o.Liveness()
	assert.False(t, hasProblem(l, `target "stuck": check`), "the timeout plus its slack has not passed yet: %v", l.Problems)

	clock.Advance(2 * time.Second)
	l = o.Liveness()
	require.False(t, l.Alive)
	assert.True(t, hasProblem(l, `target "stuck": check running 11s past its 1m0s timeout`), "%v", l.Problems)
	code, body := probe(t, o.LivenessHandler())
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, `"status": "fail"`)
	assert.Contains(t, body, "stuck")

	close(release)
	// The loop catches up once the checker returns; until the overdue
	// checks have all run, a probe may still see one of them late.
	require.Eventually(t, func() bool {
		code, _ := probe(t, o.LivenessHandler())
		return o.Liveness().Alive && code == http.StatusOK
	}, 10*time.Second, 5*time.Millisecond, "the loop catches up once the checker returns")
}

// An action that ignores its context is work past its bound too.
func TestLivenessFailsWhileAnActionOverrunsItsTimeout(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	rec := redundancytest.NewRecoverer("test.hang")
	rec.OnRun = func(context.Context, string) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	p := fastPolicy()
	p.ActionTimeout = 5 * time.Second
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
	cancel, _ := startRun(t, o)
	defer cancel()
	<-entered
	clock.Advance(5*time.Second + redundancy.MinLivenessSlack + time.Second)
	l := o.Liveness()
	require.False(t, l.Alive)
	assert.True(t, hasProblem(l, `target "web": action running 11s past its 5s timeout`), "%v", l.Problems)
	close(release)
	require.Eventually(t, func() bool { return o.Liveness().Alive }, 10*time.Second, 5*time.Millisecond)
}

// A long recovery within its bounds is not a wedge, however long the
// target's interval has passed meanwhile.
func TestLivenessHoldsDuringALongRecovery(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	rec := redundancytest.NewRecoverer("test.slow")
	rec.OnRun = func(context.Context, string) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	p := fastPolicy()
	p.ActionTimeout = 10 * time.Minute
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
	cancel, _ := startRun(t, o)
	defer cancel()
	<-entered
	clock.Advance(9 * time.Minute)
	l := o.Liveness()
	assert.True(t, l.Alive, "%v", l.Problems)
	close(release)
}

// Nobody drives the orchestrator: its targets fall overdue.
func TestLivenessFailsWhenNothingRunsTheLoop(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: 5 * time.Second}}))
	assert.True(t, o.Liveness().Alive, "just built")
	clock.Advance(16 * time.Second) // 3 intervals of 5s, at least 10s
	l := o.Liveness()
	require.False(t, l.Alive)
	assert.True(t, hasProblem(l, `target "web": check overdue by 16s (allowed 15s)`), "%v", l.Problems)

	o.Tick(context.Background())
	assert.True(t, o.Liveness().Alive)
	clock.Advance(20 * time.Second) // due at +5s, 15s late: within
	assert.True(t, o.Liveness().Alive)
	clock.Advance(time.Second)
	assert.False(t, o.Liveness().Alive)
}

// A nested orchestrator's lateness shows under its parent, prefixed.
func TestLivenessCoversNestedOrchestrators(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	child := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Policy: redundancy.Policy{Interval: time.Second}}))
	root := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, root.Add(redundancy.Nest("pm2", child, redundancy.Policy{})))
	root.Tick(context.Background())
	assert.True(t, root.Liveness().Alive)
	clock.Advance(time.Minute)
	l := root.Liveness()
	assert.True(t, hasProblem(l, `target "pm2/web": check overdue`), "%v", l.Problems)
}
