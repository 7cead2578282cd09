package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fakeWebhook struct{ sent, failed, dropped, queued int }

func (f fakeWebhook) Stats() (int, int, int) { return f.sent, f.failed, f.dropped }
func (f fakeWebhook) Queued() int            { return f.queued }

type conn struct{ up atomic.Bool }

func (c *conn) Connected() bool { return c.up.Load() }

type connChecker struct {
	redundancy.Checker
	*conn
}

// fixture is an orchestrator of two systems with scripted faults, watched
// by metrics on a registry served over HTTP.
type fixture struct {
	o      *redundancy.Orchestrator
	clock  *redundancytest.FakeClock
	web    *redundancytest.Checker
	rec    *redundancytest.Recoverer
	reg    *prometheus.Registry
	m      *metrics.Metrics
	srv    *httptest.Server
	pm2Src *conn
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: redundancytest.NewFakeClock(t0), pm2Src: &conn{}}
	f.o = redundancy.New(redundancy.WithClock(f.clock))
	p := redundancy.Policy{Interval: time.Second, FailureThreshold: 1, Retry: -1, Backoff: redundancy.Backoff{Base: time.Second, Jitter: -1},
		Budget: redundancy.Budget{Max: 2}}
	f.web = redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	f.rec = redundancytest.NewRecoverer("pm2.restart")
	f.rec.OnRun = func(context.Context, string) error {
		f.clock.Advance(0)
		f.web.Set(redundancytest.Healthy())
		return nil
	}
	slow := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		f.clock.Advance(30 * time.Millisecond)
		return redundancytest.Unhealthy("ci")
	})
	ciRec := redundancytest.NewRecoverer("github.rerun-failed-jobs")
	ciRec.Fail("github.rerun-failed-jobs", 100)
	require.NoError(t, f.o.Add(redundancy.Target{Name: "pm2-web", Checker: connChecker{f.web, f.pm2Src}, Recoverer: f.rec, Policy: p}))
	require.NoError(t, f.o.Add(redundancy.Target{Name: "github-ci", Checker: slow, Recoverer: ciRec, Policy: p}))
	f.m = metrics.New()
	f.reg = prometheus.NewRegistry()
	f.reg.MustRegister(f.m)
	f.m.Watch(f.o, "pm2", "pm2-web")
	f.m.Watch(f.o, "github", "github-ci")
	f.m.Webhook("alerts-0", fakeWebhook{sent: 7, failed: 1, dropped: 2, queued: 3})
	f.m.RateLimit("github", "core", func() (int, int, bool) { return 4321, 5000, true })
	f.m.RateLimit("netlify", "api", func() (int, int, bool) { return 0, 0, false })
	f.srv = httptest.NewServer(promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func (f *fixture) tick(n int) {
	for range n {
		f.o.Tick(context.Background())
		f.clock.Advance(time.Second)
	}
}

func TestScrapeAfterScriptedFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := f.scrape(t)
	assert.Contains(t, before, `uras_target_status{status="unknown",system="pm2",target="pm2-web"} 1`, "not checked yet")
	assert.Contains(t, before, `uras_event_source_connected{system="pm2",target="pm2-web"} 0`)
	assert.NotContains(t, before, "uras_checks_total{", "no check yet")

	f.pm2Src.up.Store(true)
	// Tick 1: pm2-web unhealthy, restarted (succeeds); github-ci unhealthy,
	// re-run fails. Tick 2: pm2-web healthy; github-ci backs off.
	// Tick 3: github-ci's second attempt fails. Tick 4: budget spent: escalated.
	f.tick(4)
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP uras_actions_total Recovery actions run, by verb and result (succeeded, failed).
# TYPE uras_actions_total counter
uras_actions_total{result="failed",system="github",target="github-ci",verb="github.rerun-failed-jobs"} 2
uras_actions_total{result="succeeded",system="pm2",target="pm2-web",verb="pm2.restart"} 1
# HELP uras_recoveries_total Recovery attempts, by result (succeeded, failed).
# TYPE uras_recoveries_total counter
uras_recoveries_total{result="failed",system="github",target="github-ci"} 2
uras_recoveries_total{result="succeeded",system="pm2",target="pm2-web"} 1
# HELP uras_escalations_total Times a target was escalated: its recovery budget or options were spent.
# TYPE uras_escalations_total counter
uras_escalations_total{system="github",target="github-ci"} 1
# HELP uras_checks_total Checks run, by the status the check reported (healthy, degraded, unhealthy, unknown).
# TYPE uras_checks_total counter
uras_checks_total{result="degraded",system="github",target="github-ci"} 0
uras_checks_total{result="degraded",system="pm2",target="pm2-web"} 0
uras_checks_total{result="healthy",system="github",target="github-ci"} 0
uras_checks_total{result="healthy",system="pm2",target="pm2-web"} 3
uras_checks_total{result="unhealthy",system="github",target="github-ci"} 4
uras_checks_total{result="unhealthy",system="pm2",target="pm2-web"} 1
uras_checks_total{result="unknown",system="github",target="github-ci"} 0
uras_checks_total{result="unknown",system="pm2",target="pm2-web"} 0
# HELP uras_target_status The target's status after thresholds: 1 for the current status, 0 for the others.
# TYPE uras_target_status gauge
uras_target_status{status="degraded",system="github",target="github-ci"} 0
uras_target_status{status="degraded",system="pm2",target="pm2-web"} 0
uras_target_status{status="healthy",system="github",target="github-ci"} 0
uras_target_status{status="healthy",system="pm2",target="pm2-web"} 1
uras_target_status{status="unhealthy",system="github",target="github-ci"} 1
uras_target_status{status="unhealthy",system="pm2",target="pm2-web"} 0
uras_target_status{status="unknown",system="github",target="github-ci"} 0
uras_target_status{status="unknown",system="pm2",target="pm2-web"} 0
# HELP uras_recovery_budget_remaining Recovery attempts left in the target's budget window.
# TYPE uras_recovery_budget_remaining gauge
uras_recovery_budget_remaining{system="github",target="github-ci"} 0
uras_recovery_budget_remaining{system="pm2",target="pm2-web"} 1
# HELP uras_target_escalated 1 while the target is escalated (no automatic recovery), else 0.
# TYPE uras_target_escalated gauge
uras_target_escalated{system="github",target="github-ci"} 1
uras_target_escalated{system="pm2",target="pm2-web"} 0
# HELP uras_event_source_connected 1 while the event source (PM2's event socket, a webhook receiver) is connected, else 0.
# TYPE uras_event_source_connected gauge
uras_event_source_connected{system="pm2",target="pm2-web"} 1
# HELP uras_api_rate_limit_remaining API calls left in the current rate-limit window, as the API last reported.
# TYPE uras_api_rate_limit_remaining gauge
uras_api_rate_limit_remaining{resource="core",system="github"} 4321
# HELP uras_webhook_queue_depth Events waiting in the webhook notifier's queue.
# TYPE uras_webhook_queue_depth gauge
uras_webhook_queue_depth{webhook="alerts-0"} 3
# HELP uras_webhook_dropped_total Events dropped from the webhook notifier's full queue.
# TYPE uras_webhook_dropped_total counter
uras_webhook_dropped_total{webhook="alerts-0"} 2
# HELP uras_webhook_deliveries_total Webhook deliveries, by result (sent, failed after retries).
# TYPE uras_webhook_deliveries_total counter
uras_webhook_deliveries_total{result="failed",webhook="alerts-0"} 1
uras_webhook_deliveries_total{result="sent",webhook="alerts-0"} 7
# HELP uras_loop_alive 1 while the orchestrator's loop makes progress (the liveness probe), else 0.
# TYPE uras_loop_alive gauge
uras_loop_alive{system="github"} 1
uras_loop_alive{system="pm2"} 1
`), "uras_actions_total", "uras_recoveries_total", "uras_escalations_total", "uras_checks_total", "uras_target_status",
		"uras_recovery_budget_remaining", "uras_target_escalated", "uras_event_source_connected", "uras_api_rate_limit_remaining",
		"uras_webhook_queue_depth", "uras_webhook_dropped_total", "uras_webhook_deliveries_total", "uras_loop_alive"))

	body := f.scrape(t)
	// github-ci's checks took 30ms each on the orchestrator's clock.
	assert.Contains(t, body, `uras_check_duration_seconds_bucket{system="github",target="github-ci",le="0.025"} 0`)
	assert.Contains(t, body, `uras_check_duration_seconds_bucket{system="github",target="github-ci",le="0.05"} 4`)
	assert.Contains(t, body, `uras_check_duration_seconds_count{system="pm2",target="pm2-web"} 4`)
	// The last healthy check of pm2-web was at the fourth tick (t0+3s, and
	// the github-ci checks before it in that tick); github-ci never had one.
	m := regexp.MustCompile(`uras_target_last_success_timestamp_seconds\{system="pm2",target="pm2-web"\} (\S+)`).FindStringSubmatch(body)
	require.NotNil(t, m, body)
	ts, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.InDelta(t, float64(t0.Add(3*time.Second).Unix()), ts, 0.5)
	assert.NotContains(t, body, `uras_target_last_success_timestamp_seconds{system="github"`)
	assert.NotContains(t, body, `system="netlify"`, "a rate limit not known yet is not exported")

	// Nobody ticks: the loop is not alive any more.
	f.clock.Advance(time.Minute)
	assert.Contains(t, f.scrape(t), `uras_loop_alive{system="pm2"} 0`)
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.pm2Src.up.Store(true)
	f.m.EventSource("pm2", "pm2-events", f.pm2Src)
	f.tick(4)
	require.Greater(t, testutil.CollectAndCount(f.m), 30, "every kind of series is present")
	problems, err := testutil.CollectAndLint(f.m)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestWatchStopAndUnwatchedTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := redundancy.New(redundancy.WithClock(f.clock))
	require.NoError(t, other.Add(redundancy.Target{Name: "x", Checker: redundancytest.NewChecker()}))
	require.NoError(t, other.Add(redundancy.Target{Name: "y", Checker: redundancytest.NewChecker()}))
	stop := f.m.Watch(other, "netlify", "x") // y is not watched
	other.Tick(context.Background())
	body := f.scrape(t)
	assert.Contains(t, body, `uras_checks_total{result="healthy",system="netlify",target="x"} 1`)
	assert.NotContains(t, body, `target="y"`)
	stop()
	other.Tick(context.Background())
	assert.NotContains(t, f.scrape(t), `uras_target_status{status="healthy",system="netlify",target="x"}`, "no state after stop")
	// Overlapping Watch calls never export a series twice.
	f.m.Watch(f.o, "pm2", "pm2-web")
	f.m.EventSource("pm2", "pm2-web", f.pm2Src)
	_ = f.scrape(t)
}

// uras_election_leading says whether this monitor leads its group: absent
// without an election, 1 while a term is held, 0 while another leads.
func TestElectionLeadingGauge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir() + "/leader.lock"
	other, err := redundancy.NewFileLock(path, "other")
	require.NoError(t, err)
	held, err := other.Campaign(ctx)
	require.NoError(t, err)
	lock, err := redundancy.NewFileLock(path, "me")
	require.NoError(t, err)
	o := redundancy.New(redundancy.WithClock(redundancytest.NewFakeClock(t0)),
		redundancy.WithElection(redundancy.Election{Elector: lock, CampaignWait: 10 * time.Millisecond}))
	require.NoError(t, o.Add(redundancy.Target{Name: "site", Shared: true, Checker: redundancytest.NewChecker()}))
	m := metrics.New()
	m.Watch(o, "netlify")
	o.Tick(ctx)
	want := "# HELP uras_election_leading 1 while this monitor leads its group and so repairs the shared targets (redundancy.WithElection), else 0.\n# TYPE uras_election_leading gauge\n"
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want+`uras_election_leading{system="netlify"} 0`+"\n"), "uras_election_leading"))

	plain := redundancy.New(redundancy.WithClock(redundancytest.NewFakeClock(t0)))
	require.NoError(t, plain.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker()}))
	m2 := metrics.New()
	m2.Watch(plain, "pm2")
	plain.Tick(ctx)
	assert.Zero(t, testutil.CollectAndCount(m2, "uras_election_leading"), "no election, no series")
	require.NoError(t, held.Resign(ctx))
}

// A webhook receiver's requests are counted by the status it answers:
// bad signatures (401) apart from accepted deliveries (202).
func TestReceiverCountsByStatus(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	h := m.Receiver("github", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hub-Signature-256") != "sha256=good" {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	for _, sig := range []string{"sha256=good", "sha256=bad", "", "sha256=good"} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/github", strings.NewReader("{}"))
		req.Header.Set("X-Hub-Signature-256", sig)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	assert.Contains(t, body, `uras_webhook_requests_total{code="202",receiver="github"} 2`)
	assert.Contains(t, body, `uras_webhook_requests_total{code="401",receiver="github"} 2`)
	problems, err := testutil.CollectAndLint(m, "uras_webhook_requests_total")
	require.NoError(t, err)
	assert.Empty(t, problems)
}
