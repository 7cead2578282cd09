package redundancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// newAlertOrch returns an orchestrator on a fake clock whose alert notices
// go to the returned recorder and whose log lines go to the returned buffer.
func newAlertOrch(t *testing.T, opts ...redundancy.Option) (*redundancy.Orchestrator, *redundancytest.FakeClock, *redundancytest.AlertRecorder, *bytes.Buffer) {
	t.Helper()
	alerts := &redundancytest.AlertRecorder{}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o, clock := newOrch(t, append([]redundancy.Option{redundancy.WithAlertNotifier(alerts), redundancy.WithLogger(logger)}, opts...)...)
	return o, clock, alerts, &logs
}

// tickEvery ticks o n times, advancing the clock by d after each.
func tickEvery(o *redundancy.Orchestrator, clock *redundancytest.FakeClock, n int, d time.Duration) {
	for range n {
		o.Tick(context.Background())
		clock.Advance(d)
	}
}

// An alert opens once, past the failure threshold, keeps its key while it
// is open (no duplicate opens), and closes with a resolved notice carrying
// its first-seen and resolved times.
func TestAlertOpensOnceAndResolves(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Healthy(),
		redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"),
		redundancytest.Unhealthy("web"), redundancytest.Unhealthy("web"), redundancytest.Healthy())
	p := fastPolicy()
	p.FailureThreshold = 3
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: p})) // no recoverer: watch and alert

	tickEvery(o, clock, 3, time.Second)
	assert.Empty(t, alerts.Alerts(), "below the threshold nothing pages")
	tickEvery(o, clock, 1, time.Second)
	require.Equal(t, []string{"open web/test.down"}, alerts.Notices(), "the third failure opens it")
	open := alerts.Alerts()[0]
	assert.Equal(t, redundancy.SeverityCritical, open.Severity)
	assert.Equal(t, redundancy.AlertOpen, open.State)
	assert.Equal(t, t0.Add(time.Second), open.FirstSeen, "first seen at the first failing report")
	assert.Equal(t, t0.Add(3*time.Second), open.Opened)
	assert.Equal(t, []string{"web"}, open.Subjects)
	assert.Equal(t, "web: web is down", open.Summary)
	assert.Equal(t, 1, open.Notifications)
	st, _ := o.Target("web")
	require.Len(t, st.Alerts, 1)
	assert.Equal(t, "web/test.down", st.Alerts[0].Key)

	tickEvery(o, clock, 2, time.Second)
	assert.Len(t, alerts.Alerts(), 1, "still open: no second open")
	tickEvery(o, clock, 1, time.Second)
	require.Equal(t, []string{"open web/test.down", "resolved web/test.down"}, alerts.Notices())
	res := alerts.Alerts()[1]
	assert.Equal(t, redundancy.AlertResolved, res.State)
	assert.Equal(t, open.FirstSeen, res.FirstSeen)
	assert.Equal(t, t0.Add(6*time.Second), res.Resolved)
	assert.Equal(t, 2, res.Notifications)
	st, _ = o.Target("web")
	assert.Empty(t, st.Alerts)
}

// An open alert is re-sent at most every Renotify; a negative Renotify
// never re-sends.
func TestAlertRenotifies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		renotify time.Duration
		want     int
	}{{"every 10m", 10 * time.Minute, 2}, {"never", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, clock, alerts, _ := newAlertOrch(t)
			ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
			p := fastPolicy()
			p.Interval = time.Minute
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: p,
				Alerts: redundancy.AlertPolicy{Renotify: tc.renotify}}))
			tickEvery(o, clock, 26, time.Minute) // 25 minutes open
			ch.Set(redundancytest.Healthy())
			tickEvery(o, clock, 1, time.Minute)
			assert.Equal(t, 1, alerts.Count(redundancy.NoticeOpen))
			assert.Equal(t, tc.want, alerts.Count(redundancy.NoticeRenotify))
			assert.Equal(t, 1, alerts.Count(redundancy.NoticeResolved))
			for _, a := range alerts.Alerts() {
				assert.Equal(t, "web/test.down", a.Key)
			}
		})
	}
}

// A repair that works at once is logged, not paged (the default); with
// PageRepairs it pages open and resolved.
func TestQuietRepairs(t *testing.T) {
	t.Parallel()
	for _, page := range []bool{false, true} {
		t.Run(map[bool]string{false: "quiet", true: "paged"}[page], func(t *testing.T) {
			t.Parallel()
			o, clock, alerts, logs := newAlertOrch(t)
			ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
			rec := redundancytest.NewRecoverer()
			rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: fastPolicy(),
				Alerts: redundancy.AlertPolicy{PageRepairs: page}}))
			events := redundancytest.NewRecorder(o)
			tickEvery(o, clock, 3, time.Second)
			require.Len(t, rec.Runs(), 1)
			if page {
				assert.Equal(t, []string{"open web/test.down", "resolved web/test.down"}, alerts.Notices())
				return
			}
			assert.Empty(t, alerts.Alerts(), "nobody is paged for a repair that worked at once")
			require.Equal(t, 1, events.Count(redundancy.EventAlert))
			quiet := events.Events()[len(events.Events())-1].Alert
			require.NotNil(t, quiet)
			assert.True(t, quiet.Quiet)
			assert.Equal(t, redundancy.NoticeResolved, quiet.Notice)
			assert.Contains(t, logs.String(), "web/test.down")
			assert.Contains(t, logs.String(), "quiet=true", "it is logged")
		})
	}
}

// A repair that fails opens the alert at once; one that succeeds but
// leaves the target failing opens it at the next check.
func TestRepairThatDoesNotWorkPages(t *testing.T) {
	t.Parallel()
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		o, clock, alerts, _ := newAlertOrch(t)
		ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
		rec := redundancytest.NewRecoverer()
		rec.Fail("test.fix", 1)
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: fastPolicy()}))
		o.Tick(context.Background())
		require.Equal(t, []string{"open web/test.down"}, alerts.Notices(), "the failed repair pages in the same cycle")

		rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
		clock.Advance(time.Minute)
		tickEvery(o, clock, 2, time.Minute) // the backoff has passed: a second attempt works
		assert.Equal(t, []string{"open web/test.down", "resolved web/test.down"}, alerts.Notices())
	})
	t.Run("no effect", func(t *testing.T) {
		t.Parallel()
		o, clock, alerts, _ := newAlertOrch(t)
		ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
		rec := redundancytest.NewRecoverer()
		require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: fastPolicy()}))
		o.Tick(context.Background())
		assert.Empty(t, alerts.Alerts(), "the repair is given its chance")
		clock.Advance(time.Second)
		o.Tick(context.Background())
		assert.Equal(t, []string{"open web/test.down"}, alerts.Notices(), "still failing after the repair: paged")
	})
}

// A target that fails, is repaired, and fails again five times in an hour
// raises exactly one alert, its flapping alert, and one resolved notice
// once it has been stable for the flap window: its own alerts stay quiet.
func TestFlappingIsOneAlert(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	ch := redundancytest.NewChecker(redundancytest.Healthy())
	rec := redundancytest.NewRecoverer()
	rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
	p := fastPolicy()
	p.Interval = time.Minute
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	events := redundancytest.NewRecorder(o)

	tickEvery(o, clock, 1, time.Minute)
	for range 5 {
		ch.Set(redundancytest.Unhealthy("web")) // fails
		tickEvery(o, clock, 1, time.Minute)     // is repaired
		tickEvery(o, clock, 2, time.Minute)     // and healthy again
	}
	require.Len(t, rec.Runs(), 5, "every failure was repaired")
	require.Equal(t, []string{"open web/redundancy.flapping"}, alerts.Notices(),
		"the third failure in the window makes it flapping; nothing else pages")
	flap := alerts.Alerts()[0]
	assert.Equal(t, redundancy.ProblemFlapping, flap.Problem)
	assert.Equal(t, redundancy.SeverityWarning, flap.Severity)
	assert.Contains(t, flap.Summary, "web went bad 3 times in 1h0m0s")
	st, _ := o.Target("web")
	require.Len(t, st.Alerts, 1, "the flapping alert stays open while the target is stable")

	tickEvery(o, clock, 60, time.Minute) // an hour without a failure
	require.Equal(t, []string{"open web/redundancy.flapping", "resolved web/redundancy.flapping"}, alerts.Notices())
	assert.Equal(t, 1, alerts.Count(redundancy.NoticeOpen))
	assert.Equal(t, 1, alerts.Count(redundancy.NoticeResolved))
	assert.Equal(t, flap.FirstSeen, alerts.Alerts()[1].FirstSeen)
	assert.GreaterOrEqual(t, events.Count(redundancy.EventAlert), 7, "the quiet closes are still logged and given to subscribers")

	// Once it is stable, a single failure is a quiet repair again.
	ch.Set(redundancytest.Unhealthy("web"))
	tickEvery(o, clock, 3, time.Minute)
	assert.Len(t, alerts.Alerts(), 2)
}

// The budget spent raises the open alert to escalated: the notice carries
// each attempt with its actions and outcome, and the cause says what
// happened ("succeeded then failed again", not "did not bring it back").
func TestEscalationSaysWhatHappened(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "escalations")
	en, err := redundancy.NewEscalationNotifier(dir)
	require.NoError(t, err)
	o, clock, alerts, _ := newAlertOrch(t, redundancy.WithNotifier(en))
	ch := redundancytest.NewChecker(redundancytest.Healthy())
	rec := redundancytest.NewRecoverer("test.restart")
	rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
	p := fastPolicy()
	p.Interval = time.Minute
	p.Budget = redundancy.Budget{Max: 3, Window: time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p,
		Alerts: redundancy.AlertPolicy{FlapCount: -1}}))

	tickEvery(o, clock, 1, time.Minute)
	for range 4 {
		ch.Set(redundancytest.Unhealthy("web"))
		tickEvery(o, clock, 3, time.Minute)
	}
	require.Len(t, rec.Runs(), 3, "the budget of 3")
	require.Equal(t, []string{"open web/test.down"}, alerts.Notices(), "the escalation opens the alert")
	esc := alerts.Alerts()[0]
	assert.Equal(t, redundancy.SeverityEscalated, esc.Severity)
	assert.Equal(t, `3 recovery attempts in 1h0m0s did not keep "web" healthy: 3 succeeded then failed again`, esc.Error)
	require.Len(t, esc.Attempts, 3)
	for i, a := range esc.Attempts {
		assert.Equal(t, redundancy.AttemptRelapsed, a.Outcome, "attempt %d", i)
		assert.Equal(t, i+1, a.Recovery)
		require.Len(t, a.Actions, 1)
		assert.Equal(t, "test.restart", a.Actions[0].Verb)
	}
	st, _ := o.Target("web")
	assert.True(t, st.Escalated)

	require.NoError(t, en.Close(context.Background()))
	files, _ := filepath.Glob(filepath.Join(dir, "*-web.json"))
	require.Len(t, files, 1)
	var rep redundancy.EscalationReport
	readJSON(t, files[0], &rep)
	require.Len(t, rep.Attempts, 3)
	assert.Equal(t, "succeeded then failed again", rep.Attempts[2].Outcome.String())
	assert.Contains(t, rep.Error, "3 succeeded then failed again")
	assert.NotContains(t, rep.Advice, "ResetAfter")

	// Healthy again past the success threshold: resolved, and the mark clears.
	ch.Set(redundancytest.Healthy())
	tickEvery(o, clock, 1, time.Minute)
	assert.Equal(t, []string{"open web/test.down", "resolved web/test.down"}, alerts.Notices())
	st, _ = o.Target("web")
	assert.False(t, st.Escalated)
}

// Attempts whose actions failed are reported as failed, and an escalation
// of an open alert is an update of it.
func TestEscalationOfAnOpenAlertIsAnUpdate(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	rec := redundancytest.NewRecoverer()
	rec.Fail("test.fix", 100)
	p := fastPolicy()
	p.Backoff = redundancy.Backoff{Base: time.Second, Max: time.Second, Jitter: -1}
	p.Budget = redundancy.Budget{Max: 2, Window: time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")),
		Recoverer: rec, Policy: p}))
	tickEvery(o, clock, 5, time.Second)
	require.Equal(t, []string{"open web/test.down", "update web/test.down"}, alerts.Notices())
	up := alerts.Alerts()[1]
	assert.Equal(t, redundancy.SeverityEscalated, up.Severity)
	assert.Contains(t, up.Error, "2 failed")
	require.Len(t, up.Attempts, 2)
	assert.Equal(t, redundancy.AttemptFailed, up.Attempts[0].Outcome)
	assert.Contains(t, up.Attempts[0].Error, "scripted failure")

	// A forced recovery clears the escalation; when the budget is spent
	// again, that is news again.
	_, err := o.RecoverNow(context.Background(), []string{"web"}, redundancy.Force())
	require.Error(t, err)
	st, _ := o.Target("web")
	require.False(t, st.Escalated)
	require.Equal(t, redundancy.SeverityCritical, st.Alerts[0].Severity)
	clock.Advance(2 * time.Hour)
	tickEvery(o, clock, 5, time.Second)
	assert.Equal(t, []string{"open web/test.down", "update web/test.down", "update web/test.down"}, alerts.Notices())
}

// Restarted from its state file mid-alert, an orchestrator keeps the alert
// open with its key and first-seen time, sends no second open, and resolves
// it once.
func TestAlertSurvivesARestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	alerts := &redundancytest.AlertRecorder{}
	clock := redundancytest.NewFakeClock(t0)
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	p := fastPolicy()
	p.FailureThreshold = 2
	target := redundancy.Target{Name: "web", Checker: ch, Policy: p}

	o1 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path), redundancy.WithAlertNotifier(alerts))
	require.NoError(t, o1.Add(target))
	tickEvery(o1, clock, 3, time.Second)
	require.Equal(t, []string{"open web/test.down"}, alerts.Notices())
	first := alerts.Alerts()[0]

	o2 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path), redundancy.WithAlertNotifier(alerts))
	require.NoError(t, o2.Add(target))
	st, _ := o2.Target("web")
	require.Len(t, st.Alerts, 1, "restored before any check")
	assert.Equal(t, "web/test.down", st.Alerts[0].Key)
	assert.Equal(t, redundancy.AlertOpen, st.Alerts[0].State)
	assert.Equal(t, first.FirstSeen, st.Alerts[0].FirstSeen)
	tickEvery(o2, clock, 3, time.Second)
	assert.Equal(t, []string{"open web/test.down"}, alerts.Notices(), "no duplicate open after the restart")

	ch.Set(redundancytest.Healthy())
	tickEvery(o2, clock, 1, time.Second)
	require.Equal(t, []string{"open web/test.down", "resolved web/test.down"}, alerts.Notices())
	res := alerts.Alerts()[1]
	assert.Equal(t, first.FirstSeen, res.FirstSeen)
	assert.Equal(t, first.Opened, res.Opened)
	assert.Equal(t, 2, res.Notifications)
}

// A check that cannot run FailureThreshold times raises a warning alert
// of its own problem; findings that come later take over.
func TestCheckFailedAlert(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	ch := redundancytest.NewChecker(redundancy.ErrorReport(assert.AnError))
	p := fastPolicy()
	p.FailureThreshold = 2
	require.NoError(t, o.Add(redundancy.Target{Name: "db", Checker: ch, Policy: p}))
	tickEvery(o, clock, 2, time.Second)
	require.Equal(t, []string{"open db/redundancy.check-failed"}, alerts.Notices())
	assert.Equal(t, redundancy.SeverityWarning, alerts.Alerts()[0].Severity)

	ch.Set(redundancytest.Unhealthy("db"))
	tickEvery(o, clock, 2, time.Second)
	assert.Equal(t, []string{"open db/redundancy.check-failed", "resolved db/redundancy.check-failed", "open db/test.down"}, alerts.Notices(),
		"once the check runs again and finds the problem, the problem is the alert")
}

// The alerts' text goes through the orchestrator's redactor.
func TestAlertsAreRedacted(t *testing.T) {
	t.Parallel()
	secret := "s3cr3t-value-42"
	o, clock, alerts, logs := newAlertOrch(t, redundancy.WithRedactor(redundancy.NewRedactor(secret)))
	ch := redundancytest.NewChecker(redundancy.NewReport("down", redundancy.Finding{Subject: "api " + secret, Problem: "test.down",
		Status: redundancy.StatusUnhealthy, Detail: "answered 401 for " + secret}))
	require.NoError(t, o.Add(redundancy.Target{Name: "api", Checker: ch, Policy: fastPolicy()}))
	tickEvery(o, clock, 1, time.Second)
	require.Len(t, alerts.Alerts(), 1)
	a := alerts.Alerts()[0]
	for _, s := range append([]string{a.Summary, a.Findings[0].Detail, a.Findings[0].Subject}, a.Subjects...) {
		assert.NotContains(t, s, secret)
	}
	assert.Contains(t, a.Summary, redundancy.Redacted)
	st, _ := o.Target("api")
	assert.NotContains(t, st.Alerts[0].Summary, secret)
	assert.NotContains(t, logs.String(), secret)
}

func TestAlertPolicyValidation(t *testing.T) {
	t.Parallel()
	o := redundancy.New()
	err := o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(), Alerts: redundancy.AlertPolicy{FlapWindow: -time.Minute}})
	require.ErrorIs(t, err, redundancy.ErrInvalidTarget)
	assert.Contains(t, err.Error(), "alerts.FlapWindow is negative")
	assert.True(t, strings.HasPrefix(redundancy.ErrRepairsPaused.Error(), "redundancy: "))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v))
}

// A report with more distinct problems than a target keeps alerts for
// folds the rest into one alert, and the state stays loadable.
func TestAlertsPerTargetAreBounded(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	var fs []redundancy.Finding
	for i := range 100 {
		fs = append(fs, redundancy.Finding{Subject: "s", Problem: redundancy.Problem("p." + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))),
			Status: redundancy.StatusUnhealthy})
	}
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	target := redundancy.Target{Name: "big", Checker: redundancytest.NewChecker(redundancy.NewReport("many", fs...)), Policy: fastPolicy()}
	require.NoError(t, o.Add(target))
	o.Tick(context.Background())
	st, _ := o.Target("big")
	assert.Len(t, st.Alerts, 64)
	var folded bool
	for _, a := range st.Alerts {
		folded = folded || a.Problem == redundancy.ProblemTargetFailing
	}
	assert.True(t, folded)

	o2 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	require.NoError(t, o2.Add(target))
	st, _ = o2.Target("big")
	assert.Len(t, st.Alerts, 64, "restored")
	aside, _ := filepath.Glob(path + ".corrupt-*")
	assert.Empty(t, aside, "the file was not set aside")
}
