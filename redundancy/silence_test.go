package redundancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// A silenced target pages nothing, but its alerts are logged and given to
// subscribers; repairs go on; when the silence ends an alert still open
// is sent then.
func TestSilencedTargetPagesNothingButIsLogged(t *testing.T) {
	t.Parallel()
	o, clock, alerts, logs := newAlertOrch(t)
	rec := redundancytest.NewRecoverer()
	rec.Fail("test.fix", 1000)
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")),
		Recoverer: rec, Policy: fastPolicy()}))
	require.NoError(t, o.Add(redundancy.Target{Name: "db", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("db")),
		Policy: fastPolicy()}))
	s, err := o.Silence(redundancy.Silence{Target: "web", Duration: time.Hour, Comment: "deploy"})
	require.NoError(t, err)
	assert.NotEmpty(t, s.ID)
	assert.Equal(t, t0.Add(time.Hour), s.Until)
	events := redundancytest.NewRecorder(o)

	tickEvery(o, clock, 10, time.Minute)
	assert.Equal(t, []string{"open db/test.down"}, alerts.Notices(), "web pages nothing; db is not silenced")
	assert.NotEmpty(t, rec.Runs(), "a silence does not stop repairs")
	var silenced []*redundancy.Alert
	for _, e := range events.Events() {
		if e.Alert != nil && e.Alert.Silenced != "" {
			silenced = append(silenced, e.Alert)
		}
	}
	require.NotEmpty(t, silenced, "the silenced notices reach subscribers")
	assert.Equal(t, "web/test.down", silenced[0].Key)
	assert.Equal(t, s.ID, silenced[0].Silenced)
	assert.Contains(t, logs.String(), "silenced="+s.ID, "and the log")

	snap := o.Snapshot()
	require.Len(t, snap.Silences, 1)
	assert.True(t, snap.Silences[0].Active)
	assert.Equal(t, s.Until, snap.Silences[0].Ends)
	assert.Equal(t, s.ID, snap.Targets[0].Silenced)
	assert.Empty(t, snap.Targets[1].Silenced)
	rr := httptest.NewRecorder()
	o.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	var h redundancy.HealthResponse
	require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &h))
	require.Len(t, h.Silences, 1)
	assert.Equal(t, "deploy", h.Silences[0].Comment)
	assert.Equal(t, s.ID, h.Checks["web:status"][0].Silenced)
	assert.Equal(t, []string{"db/test.down (critical)"}, h.Checks["db:status"][0].Alerts)

	clock.Set(t0.Add(time.Hour))
	tickEvery(o, clock, 1, time.Minute)
	assert.Equal(t, []string{"open db/test.down", "open web/test.down"}, alerts.Notices(), "the silence ended: web's open alert is sent now")
	assert.Empty(t, o.Silences(), "an ended silence is no longer listed")
}

// A silence may match problems only, by pattern.
func TestSilenceByProblem(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	rep := redundancy.NewReport("two problems",
		redundancy.Finding{Subject: "a", Problem: "disk.low", Status: redundancy.StatusDegraded},
		redundancy.Finding{Subject: "b", Problem: "net.down", Status: redundancy.StatusUnhealthy})
	require.NoError(t, o.Add(redundancy.Target{Name: "host", Checker: redundancytest.NewChecker(rep), Policy: fastPolicy()}))
	_, err := o.Silence(redundancy.Silence{ID: "disk", Problem: "disk.*", Until: t0.Add(time.Hour)})
	require.NoError(t, err)
	tickEvery(o, clock, 2, time.Second)
	require.Equal(t, []string{"open host/net.down"}, alerts.Notices())
	snap := o.Snapshot()
	assert.Empty(t, snap.Targets[0].Silenced, "not every problem is silenced")
	require.Len(t, snap.Targets[0].Alerts, 2)
	assert.Equal(t, "disk", snap.Targets[0].Alerts[0].Silenced)
	assert.Equal(t, redundancy.SeverityWarning, snap.Targets[0].Alerts[0].Severity, "degraded is a warning")
}

// A maintenance window that pauses repairs runs none while it is open,
// and silences alerts; after it the repair gets its chance before anyone
// is paged.
func TestMaintenanceWindowPausesRepairs(t *testing.T) {
	t.Parallel()
	o, clock, alerts, _ := newAlertOrch(t)
	// 01:30 UTC is 02:30 in Berlin (CET): inside the nightly 02:00-03:00 window.
	clock.Set(time.Date(2026, 3, 1, 1, 30, 0, 0, time.UTC))
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	rec := redundancytest.NewRecoverer()
	rec.OnRun = func(context.Context, string) error { ch.Set(redundancytest.Healthy()); return nil }
	p := fastPolicy()
	p.Interval = time.Minute
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Recoverer: rec, Policy: p}))
	s, err := o.Silence(redundancy.Silence{ID: "nightly", Target: "web", Every: "0 2 * * *", Duration: time.Hour,
		TimeZone: "Europe/Berlin", PauseRepairs: true, Comment: "backups"})
	require.NoError(t, err)
	assert.Equal(t, "nightly", s.ID)

	tickEvery(o, clock, 25, time.Minute)
	assert.Empty(t, rec.Runs(), "no repair runs inside the window")
	assert.Empty(t, alerts.Alerts(), "and nothing pages")
	st, _ := o.Target("web")
	assert.Contains(t, st.RepairsHeld, "repairs paused")
	assert.Contains(t, st.RepairsHeld, `"nightly"`)
	_, err = o.RecoverNow(context.Background(), []string{"web"})
	require.ErrorIs(t, err, redundancy.ErrRepairsPaused, "a manual recovery waits too")
	assert.Empty(t, rec.Runs())
	sil := o.Silences()
	require.Len(t, sil, 1)
	assert.True(t, sil[0].Active)
	assert.Equal(t, time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), sil[0].Ends)

	clock.Set(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)) // 03:00 in Berlin: the window is over
	tickEvery(o, clock, 3, time.Minute)
	assert.Equal(t, []string{"test.fix"}, rec.Runs(), "the repair runs once the window ends")
	assert.Empty(t, alerts.Alerts(), "and, as it worked at once, nobody is paged")
	sil = o.Silences()
	require.Len(t, sil, 1)
	assert.False(t, sil[0].Active)
	assert.Equal(t, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), sil[0].Next, "tomorrow at 02:00 Berlin time")
}

// Windows of recurring silences, read in their time zone, across a
// daylight-saving change, with a start and an end to the series.
func TestSilenceWindows(t *testing.T) {
	t.Parallel()
	berlinSummer := time.Date(2026, 7, 1, 0, 30, 0, 0, time.UTC) // 02:30 CEST
	tests := []struct {
		name       string
		s          redundancy.Silence
		at         time.Time
		active     bool
		ends, next time.Time
	}{
		{"one-off before its start", redundancy.Silence{Target: "*", Start: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}, t0,
			false, time.Time{}, t0.Add(time.Hour)},
		{"one-off inside", redundancy.Silence{Target: "*", Until: t0.Add(2 * time.Hour)}, t0.Add(time.Hour), true, t0.Add(2 * time.Hour), time.Time{}},
		{"daily in summer time", redundancy.Silence{Target: "*", Every: "0 2 * * *", Duration: time.Hour, TimeZone: "Europe/Berlin"},
			berlinSummer, true, time.Date(2026, 7, 1, 1, 0, 0, 0, time.UTC), time.Time{}},
		{"weekdays only, on a Sunday", redundancy.Silence{Target: "*", Every: "0 9 * * MON-FRI", Duration: 8 * time.Hour},
			time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), false, time.Time{}, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		{"weekly descriptor", redundancy.Silence{Target: "*", Every: "@weekly", Duration: 2 * time.Hour},
			time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), time.Time{}},
		{"recurring, not yet started", redundancy.Silence{Target: "*", Every: "@daily", Duration: time.Hour, Start: t0.AddDate(0, 0, 3)},
			t0, false, time.Time{}, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"recurring, the last window cut by until", redundancy.Silence{Target: "*", Every: "@daily", Duration: 4 * time.Hour,
			Until: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)}, time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC),
			true, time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, clock := newOrch(t)
			clock.Set(tc.at)
			_, err := o.Silence(tc.s)
			require.NoError(t, err)
			got := o.Silences()
			require.Len(t, got, 1)
			assert.Equal(t, tc.active, got[0].Active)
			assert.True(t, tc.ends.Equal(got[0].Ends), "ends %s, want %s", got[0].Ends, tc.ends)
			assert.True(t, tc.next.Equal(got[0].Next), "next %s, want %s", got[0].Next, tc.next)
		})
	}
}

// Bad silences are refused with an error naming what is wrong.
func TestSilenceValidation(t *testing.T) {
	t.Parallel()
	hour := t0.Add(time.Hour)
	tests := []struct {
		name string
		s    redundancy.Silence
		want string
	}{
		{"matches nothing", redundancy.Silence{Until: hour}, "needs a target or a problem"},
		{"bad target pattern", redundancy.Silence{Target: "[", Until: hour}, "target pattern"},
		{"bad problem pattern", redundancy.Silence{Problem: "[", Until: hour}, "problem pattern"},
		{"bad id", redundancy.Silence{ID: "a b", Target: "*", Until: hour}, "id must be"},
		{"long comment", redundancy.Silence{Target: "*", Until: hour, Comment: strings.Repeat("x", 1025)}, "comment is 1025 bytes"},
		{"no end", redundancy.Silence{Target: "*"}, "needs until"},
		{"until and duration", redundancy.Silence{Target: "*", Until: hour, Duration: time.Hour}, "not both"},
		{"negative duration", redundancy.Silence{Target: "*", Duration: -time.Hour}, "duration is negative"},
		{"until before start", redundancy.Silence{Target: "*", Start: hour, Until: t0}, "is not after start"},
		{"ended", redundancy.Silence{Target: "*", Until: t0.Add(-time.Minute)}, "it has ended"},
		{"zone of a one-off", redundancy.Silence{Target: "*", Until: hour, TimeZone: "UTC"}, "for recurring silences"},
		{"@every", redundancy.Silence{Target: "*", Every: "@every 1h", Duration: time.Minute}, "@every has no start"},
		{"TZ in every", redundancy.Silence{Target: "*", Every: "CRON_TZ=UTC 0 2 * * *", Duration: time.Minute}, "time_zone"},
		{"bad schedule", redundancy.Silence{Target: "*", Every: "0 25 * * *", Duration: time.Minute}, `every "0 25 * * *"`},
		{"seconds field", redundancy.Silence{Target: "*", Every: "0 0 2 * * *", Duration: time.Minute}, "every"},
		{"no duration", redundancy.Silence{Target: "*", Every: "@daily"}, "positive duration"},
		{"too long", redundancy.Silence{Target: "*", Every: "@daily", Duration: 32 * 24 * time.Hour}, "above the maximum"},
		{"unknown zone", redundancy.Silence{Target: "*", Every: "@daily", Duration: time.Hour, TimeZone: "Mars/Olympus"}, `time_zone "Mars/Olympus"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOrch(t)
			_, err := o.Silence(tc.s)
			require.ErrorIs(t, err, redundancy.ErrInvalidSilence)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "redundancy: "), err.Error())
			assert.Empty(t, o.Silences())
		})
	}
}

// Silences are set, replaced by ID, listed, removed, and kept in the state
// file across a restart.
func TestSilenceAPIAndPersistence(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	a, err := o.Silence(redundancy.Silence{ID: "deploy", Target: "web", Duration: time.Hour})
	require.NoError(t, err)
	_, err = o.Silence(redundancy.Silence{ID: "nightly", Target: "pm2*", Every: "30 3 * * *", Duration: 30 * time.Minute,
		TimeZone: "America/New_York", PauseRepairs: true})
	require.NoError(t, err)
	_, err = o.Silence(redundancy.Silence{ID: "short", Target: "db", Duration: time.Minute})
	require.NoError(t, err)
	b, err := o.Silence(redundancy.Silence{ID: "deploy", Target: "web", Duration: 2 * time.Hour, Comment: "longer"})
	require.NoError(t, err)
	assert.Equal(t, t0.Add(2*time.Hour), b.Until, "the same ID replaces")
	assert.NotEqual(t, a.Until, b.Until)
	ids := func(o *redundancy.Orchestrator) []string {
		var out []string
		for _, s := range o.Silences() {
			out = append(out, s.ID)
		}
		return out
	}
	assert.Equal(t, []string{"deploy", "nightly", "short"}, ids(o))
	require.ErrorIs(t, o.RemoveSilence("nope"), redundancy.ErrUnknownSilence)

	clock.Advance(2 * time.Minute) // "short" has ended
	o2 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	assert.Equal(t, []string{"deploy", "nightly"}, ids(o2), "a restart keeps them; ended ones are dropped")
	got := o2.Silences()
	assert.Equal(t, "longer", got[0].Comment)
	assert.Equal(t, "America/New_York", got[1].TimeZone)
	assert.True(t, got[1].PauseRepairs)

	require.NoError(t, o2.RemoveSilence("deploy"))
	o3 := redundancy.New(redundancy.WithClock(clock), redundancy.WithStateFile(path))
	assert.Equal(t, []string{"nightly"}, ids(o3), "a removal is saved at once")
}

// Silences set on a parent orchestrator cover the targets of the
// orchestrators nested in it, by their nested names; a nested target
// raises no alert of its own (the child's targets alert).
func TestSilencesReachNestedTargets(t *testing.T) {
	t.Parallel()
	clock := redundancytest.NewFakeClock(t0)
	childAlerts, rootAlerts := &redundancytest.AlertRecorder{}, &redundancytest.AlertRecorder{}
	child := redundancy.New(redundancy.WithClock(clock), redundancy.WithAlertNotifier(childAlerts))
	rec := redundancytest.NewRecoverer()
	rec.Fail("test.fix", 1000)
	require.NoError(t, child.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")),
		Recoverer: rec, Policy: fastPolicy()}))
	require.NoError(t, child.Add(redundancy.Target{Name: "db", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("db")),
		Policy: fastPolicy()}))
	root := redundancy.New(redundancy.WithClock(clock), redundancy.WithAlertNotifier(rootAlerts))
	require.NoError(t, root.Add(redundancy.Nest("pm2", child, redundancy.Policy{FailureThreshold: 1})))
	_, err := root.Silence(redundancy.Silence{ID: "maint", Target: "pm2/web", Duration: time.Hour, PauseRepairs: true})
	require.NoError(t, err)

	tickEvery(root, clock, 5, time.Second)
	assert.Empty(t, rec.Runs(), "the parent's window pauses the child's repairs")
	assert.Equal(t, []string{"open db/test.down"}, childAlerts.Notices(), "the child's other target alerts")
	assert.Empty(t, rootAlerts.Alerts(), "the nested target raises no alert of its own")
	st, _ := child.Target("web")
	assert.Contains(t, st.RepairsHeld, `"maint"`)
}

// The silence endpoint sets, lists and removes silences, with text
// durations, and refuses bad bodies with the reason.
func TestSilenceHandler(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	srv := httptest.NewServer(o.SilenceHandler())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	code, body := do(http.MethodPost, "/", `{"id":"deploy","target":"web","duration":"90m","pause_repairs":true,"comment":"release 4.2"}`)
	require.Equal(t, http.StatusOK, code, body)
	var got redundancy.Silence
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, t0.Add(90*time.Minute), got.Until)
	code, body = do(http.MethodPost, "/", `{"target":"db","every":"0 3 * * SUN","duration":"2h","time_zone":"Europe/Paris"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"duration": "2h0m0s"`)

	code, body = do(http.MethodGet, "/", "")
	require.Equal(t, http.StatusOK, code)
	var list []redundancy.SilenceState
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list, 2)
	assert.True(t, list[0].Active)
	assert.Equal(t, "release 4.2", list[0].Comment)
	assert.False(t, list[1].Active)
	assert.Equal(t, 2*time.Hour, list[1].Duration)

	for _, tc := range []struct{ body, want string }{
		{`{"target":"web","until":"2026-03-01T13:00:00Z","color":"red"}`, "unknown field"},
		{`{"target":"web","duration":"soon"}`, "silence duration"},
		{`{"target":"web","duration":"1h"} {}`, "one JSON object only"},
		{`{"duration":"1h"}`, "needs a target or a problem"},
		{strings.Repeat(" ", 70<<10) + `{}`, "bad body"},
	} {
		code, body := do(http.MethodPost, "/", tc.body)
		assert.Equal(t, http.StatusBadRequest, code, tc.want)
		assert.Contains(t, body, tc.want)
	}
	code, _ = do(http.MethodDelete, "/?id=deploy", "")
	assert.Equal(t, http.StatusNoContent, code)
	code, body = do(http.MethodDelete, "/?id=deploy", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "unknown silence")
	code, _ = do(http.MethodPut, "/", "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Len(t, o.Silences(), 1)
}

// A silence in the state file that this host cannot use (a time zone it
// does not know) is dropped and logged; the others are kept.
func TestStateFileSilenceThatNoLongerCompiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"targets":{},"silences":[
		{"id":"gone","target":"*","every":"@daily","duration":"1h","time_zone":"Nowhere/Else"},
		{"id":"kept","target":"web","until":"2026-03-01T13:00:00Z"}]}`), 0o600))
	var logs bytes.Buffer
	o := redundancy.New(redundancy.WithClock(redundancytest.NewFakeClock(t0)), redundancy.WithStateFile(path),
		redundancy.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	got := o.Silences()
	require.Len(t, got, 1)
	assert.Equal(t, "kept", got[0].ID)
	assert.Contains(t, logs.String(), "silence dropped")
	assert.Contains(t, logs.String(), "Nowhere/Else")
}
