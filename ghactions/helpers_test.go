package ghactions_test

import (
	"context"
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

// start is in the past on purpose: go-github keeps its own record of the
// rate limit against the wall clock, and a fake reset time in the past
// keeps that record out of the way, so the Transport (on the fake clock)
// alone decides when calls stop.
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

func newEnv(t testing.TB) *env {
	t.Helper()
	clock := redundancytest.NewFakeClock(start)
	srv := ghtest.NewServer(ghtest.WithClock(clock))
	t.Cleanup(srv.Close)
	client, err := ghactions.NewClient(
		ghactions.WithBaseURL(srv.URL()),
		ghactions.WithHTTPClient(srv.HTTPClient()),
		ghactions.WithClock(clock),
		ghactions.WithToken(testToken),
	)
	require.NoError(t, err)
	return &env{t: t, clock: clock, srv: srv, client: client, repo: ghactions.Repo{Owner: owner, Name: name, Branch: branch}}
}

// workflow adds a workflow file name ("ci.yml") with one run of the given
// conclusion on the branch ("" for none) and returns the ids.
func (e *env) workflow(file, conclusion string) (wfID, runID int64) {
	wfID = e.srv.AddWorkflow(owner, name, ghtest.Workflow{Name: strings.TrimSuffix(file, ".yml"), Path: ".github/workflows/" + file})
	if conclusion != "" {
		runID = e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wfID, Branch: branch, Conclusion: conclusion})
	}
	return wfID, runID
}

func (e *env) checker(opts ...ghactions.Option) *ghactions.Checker {
	e.t.Helper()
	c, err := ghactions.NewChecker(e.client.Actions, e.repo, append([]ghactions.Option{ghactions.WithClock(e.clock)}, opts...)...)
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

// tick advances the clock by d and runs one orchestrator cycle.
func (e *env) tick(o *redundancy.Orchestrator, d time.Duration) redundancy.TargetState {
	e.t.Helper()
	e.clock.Advance(d)
	snap := o.Tick(context.Background())
	require.Len(e.t, snap.Targets, 1)
	assertNoToken(e.t, snap.Targets[0].Report)
	return snap.Targets[0]
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
