package ghactions_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// testToken is the token the tests send; it must never show up in a
// report, an error or an action's reason.
const testToken = "ghp_TESTTOKENdoNotLeak0123456789"

// start is when the fake clock starts. TestClockGovernsRateLimits starts
// in the future instead, where go-github's own wall-clock record of the
// limit would show.
var start = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	owner  = "octo"
	name   = "app"
	branch = "main"
)

// env is one fake GitHub with one repository and a client on a fake clock.
type env struct {
	t      testing.TB
	clock  *redundancytest.FakeClock
	srv    *ghtest.Server
	client *ghactions.Client
	repo   ghactions.Repo
}

func newEnv(t testing.TB, opts ...ghtest.Option) *env {
	t.Helper()
	return newEnvAt(t, start, opts...)
}

func newEnvAt(t testing.TB, at time.Time, opts ...ghtest.Option) *env {
	t.Helper()
	clock := redundancytest.NewFakeClock(at)
	srv := ghtest.NewServer(append([]ghtest.Option{ghtest.WithClock(clock), ghtest.WithToken(testToken)}, opts...)...)
	t.Cleanup(srv.Close)
	return &env{t: t, clock: clock, srv: srv, client: srv.Client(), repo: ghactions.Repo{Owner: owner, Name: name, Branch: branch}}
}

// workflow adds a workflow file name ("ci.yml") with one run of the given
// conclusion on the branch ("" for none) and returns the ids.
func (e *env) workflow(file string, conclusion ghactions.RunConclusion) (wfID, runID int64) {
	wfID = e.srv.AddWorkflow(owner, name, ghtest.Workflow{Name: strings.TrimSuffix(file, ".yml"), Path: ".github/workflows/" + file})
	if conclusion != "" {
		runID = e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wfID, Branch: branch, Conclusion: conclusion})
	}
	return wfID, runID
}

func (e *env) checker(opts ...ghactions.Option) *ghactions.Checker {
	e.t.Helper()
	c, err := ghactions.NewChecker(e.client, e.repo, append([]ghactions.Option{ghactions.WithClock(e.clock)}, opts...)...)
	require.NoError(e.t, err)
	return c
}

// testPolicy recovers at the first bad check, without retries, jitter or
// long waits, so a test drives it with Tick and the fake clock.
func testPolicy() redundancy.Policy {
	return redundancy.Policy{
		Interval:         time.Minute,
		Timeout:          2 * time.Second,
		FailureThreshold: 1,
		Retry:            -1,
		RetryDelay:       time.Millisecond,
		Backoff:          redundancy.Backoff{Base: time.Second, Max: time.Second, Jitter: -1},
		Budget:           redundancy.Budget{Max: 10, Window: time.Hour},
	}
}

// orchestrate builds an orchestrator on the fake clock with one target
// named "gh" and a recorder of its events.
func (e *env) orchestrate(c redundancy.Checker, r redundancy.Recoverer, p redundancy.Policy) (*redundancy.Orchestrator, *redundancytest.Recorder) {
	e.t.Helper()
	o := redundancy.New(redundancy.WithClock(e.clock))
	require.NoError(e.t, o.Add(redundancy.Target{Name: "gh", Checker: c, Recoverer: r, Policy: p}))
	rec := redundancytest.NewRecorder(o)
	e.t.Cleanup(rec.Stop)
	return o, rec
}

// tick advances the clock by d and runs one orchestrator cycle, moving
// the clock on while something waits on it (see drive).
func (e *env) tick(o *redundancy.Orchestrator, d time.Duration) redundancy.TargetState {
	e.t.Helper()
	e.clock.Advance(d)
	var snap redundancy.Snapshot
	e.drive(func() { snap = o.Tick(context.Background()) })
	require.Len(e.t, snap.Targets, 1)
	assertNoToken(e.t, snap.Targets[0].Report)
	for _, h := range snap.Targets[0].History {
		require.NotContains(e.t, h.Error, testToken)
	}
	return snap.Targets[0]
}

// drive runs fn and, while it runs, moves the fake clock on a second at a
// time whenever something waits on it (a write paced a second after the
// last, an action polling a run whose cancel has not landed), as time
// would pass for real. It returns when fn does.
func (e *env) drive(fn func()) {
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
		if e.clock.BlockUntil(1, 2*time.Millisecond) {
			e.clock.Advance(time.Second)
		}
	}
}

// calls returns the calls recorded since the last reset and resets.
func (e *env) takeCalls() []ghtest.Call {
	c := e.srv.Calls()
	e.srv.ResetCalls()
	return c
}

func countCalls(calls []ghtest.Call, method, pathSuffix string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method && strings.HasSuffix(c.Path, pathSuffix) {
			n++
		}
	}
	return n
}

func problems(r redundancy.Report) []redundancy.Problem {
	var ps []redundancy.Problem
	for _, f := range r.Findings {
		ps = append(ps, f.Problem)
	}
	return ps
}

func assertNoToken(t testing.TB, r redundancy.Report) {
	t.Helper()
	require.NotContains(t, r.Summary, testToken)
	if r.Err != nil {
		require.NotContains(t, r.Err.Error(), testToken)
	}
	for _, f := range r.Findings {
		require.NotContains(t, f.Detail, testToken)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
