package redundancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// logLines decodes the JSON records written to buf.
func logLines(t *testing.T, buf *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

func TestSubscribeChecksSeesEveryCheckWithItsDuration(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	slow := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		clock.Advance(250 * time.Millisecond)
		return redundancytest.Unhealthy("web")
	})
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: slow, Policy: redundancy.Policy{Interval: time.Second}}))
	var got []redundancy.CheckObservation
	var mu sync.Mutex
	cancel := o.SubscribeChecks(func(c redundancy.CheckObservation) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	})
	o.Tick(context.Background())
	o.CheckNow(context.Background(), "web")
	cancel()
	o.CheckNow(context.Background(), "web")

	require.Len(t, got, 2, "scheduled and manual checks are observed; none after cancel")
	assert.Equal(t, redundancy.CheckObservation{Target: "web", Status: redundancy.StatusUnhealthy, Findings: 1,
		Started: t0, Duration: 250 * time.Millisecond}, got[0])
}

func TestSubscribeChecksContainsAPanic(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker()}))
	o.SubscribeChecks(func(redundancy.CheckObservation) { panic("boom") })
	s := o.Tick(context.Background())
	assert.Equal(t, redundancy.StatusHealthy, s.Status)
}

func TestDebugShowsEveryCheckAndEverySkippedDecision(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o, clock := newOrch(t, redundancy.WithLogger(log))
	rec := redundancytest.NewRecoverer("test.fix")
	rec.Fail("test.fix", 100)
	p := redundancy.Policy{Interval: time.Second, FailureThreshold: 2, Retry: -1,
		Backoff: redundancy.Backoff{Base: time.Minute, Jitter: -1}, Budget: redundancy.Budget{Max: 1}}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
	require.NoError(t, o.Add(redundancy.Target{Name: "db", Checker: redundancytest.NewChecker(redundancy.ErrorReport(assert.AnError)), Policy: p}))
	require.NoError(t, o.Add(redundancy.Target{Name: "watch", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("x")),
		Policy: redundancy.Policy{Interval: time.Second, FailureThreshold: 1}}))

	ctx := context.Background()
	o.Tick(ctx) // web: 1 of 2 failures
	lines := logLines(t, &buf)
	checks := withMsg(lines, "check")
	require.Len(t, checks, 3, "one line per check")
	for _, c := range checks {
		assert.Contains(t, []any{"web", "db", "watch"}, c["target"])
		assert.Contains(t, c, "took")
		assert.Contains(t, c, "findings")
		assert.Contains(t, c, "status")
	}
	below := withMsg(lines, "no recovery yet: below the failure threshold")
	require.Len(t, below, 1)
	assert.Equal(t, "web", below[0]["target"])
	assert.EqualValues(t, 1, below[0]["failures"])
	assert.EqualValues(t, 2, below[0]["threshold"])
	assert.Len(t, withMsg(lines, "no recovery: the check could not run, and unknown is not failing for this target (Policy.UnknownIsFailing)"), 1)
	assert.Len(t, withMsg(lines, "no recovery: the target has no recoverer (watch only)"), 1)

	clock.Advance(time.Second)
	o.Tick(ctx) // web: threshold reached, attempt 1 fails
	allowed := withMsg(logLines(t, &buf), "recovery allowed")
	require.Len(t, allowed, 1)
	assert.EqualValues(t, 1, allowed[0]["budget_left"])

	clock.Advance(time.Second)
	o.Tick(ctx) // web: backing off for a minute
	back := withMsg(logLines(t, &buf), "no recovery yet: backing off")
	require.Len(t, back, 1)
	assert.Equal(t, "59s", back[0]["wait"])

	clock.Advance(2 * time.Minute)
	o.Tick(ctx) // budget of 1 spent: escalates
	clock.Advance(time.Second)
	o.Tick(ctx)
	assert.NotEmpty(t, withMsg(logLines(t, &buf), "no recovery: escalated (a healthy stretch or recover -force clears it)"))
}

func TestNoDebugLinesAtInfo(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	o, _ := newOrch(t, redundancy.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Policy: redundancy.Policy{FailureThreshold: 3}}))
	o.Tick(context.Background())
	assert.Empty(t, withMsg(logLines(t, &buf), "check"))
}

func TestActionResultJSONHasDurationStrings(t *testing.T) {
	t.Parallel()
	r := redundancy.ActionResult{Target: "web", Verb: "pm2.restart", Tries: 1, Started: t0, Elapsed: 1500 * time.Millisecond}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"elapsed":"1.5s"`)
	var back redundancy.ActionResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)

	// A state file written before keeps its nanoseconds.
	require.NoError(t, json.Unmarshal([]byte(`{"target":"web","verb":"v","elapsed":2000000000,"started":"2026-03-01T12:00:00Z"}`), &back))
	assert.Equal(t, 2*time.Second, back.Elapsed)
	assert.Error(t, json.Unmarshal([]byte(`{"elapsed":"soon"}`), &back))
	assert.Error(t, json.Unmarshal([]byte(`{"elapsed":true}`), &back))
}

func TestSnapshotJSONHasNoZeroTimes(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker()}))
	b, err := json.Marshal(o.Snapshot())
	require.NoError(t, err)
	assert.NotContains(t, string(b), "0001-01-01")
	assert.NotContains(t, string(b), "last_check")
	o.Tick(context.Background())
	b, err = json.Marshal(o.Snapshot())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"last_check":"2026-03-01T12:00:00Z"`)
	assert.NotContains(t, string(b), "next_attempt")
	assert.Contains(t, string(b), `"criticality":"critical"`)
}
