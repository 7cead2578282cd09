package launch

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// twoParts is a command with one orchestrator over two parts: "app"
// (critical; its target fails until its restart, which works) and "cache"
// (non-critical; it always fails and has no recoverer), plus a webhook
// registered through Build.Metrics.
func twoParts(t *testing.T) (Command[struct{}], *Settings, *atomic.Bool) {
	t.Helper()
	dir := t.TempDir()
	set := &Settings{LogDir: filepath.Join(dir, "logs"), StateDir: filepath.Join(dir, "state"), Listen: "127.0.0.1:0"}
	fixed := &atomic.Bool{}
	app := redundancy.Target{Name: "app-web",
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			if fixed.Load() {
				return redundancy.NewReport("fine")
			}
			return redundancy.NewReport("down", redundancy.Finding{Subject: "web", Problem: "app.down", Status: redundancy.StatusUnhealthy})
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "app.restart", Subject: "web", Do: func(context.Context) error { fixed.Store(true); return nil }}}, nil
		}),
		Policy: redundancy.Policy{Interval: time.Second, FailureThreshold: 1, Retry: -1},
	}
	cache := redundancy.Target{Name: "cache-redis", Criticality: redundancy.NonCritical,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "redis", Problem: "cache.down", Status: redundancy.StatusUnhealthy})
		}),
		Policy: redundancy.Policy{Interval: time.Second, FailureThreshold: 1},
	}
	c := Command[struct{}]{
		Name: "test",
		Load: func(string) (struct{}, Settings, error) { return struct{}{}, *set, nil },
		Build: func(ctx context.Context, _ struct{}, b Build) (*System, error) {
			root := redundancy.New(redundancy.WithLogger(b.Logger("")))
			for _, tg := range []redundancy.Target{app, cache} {
				if err := root.Add(tg); err != nil {
					return nil, err
				}
			}
			wh, err := redundancy.NewWebhookNotifier("http://127.0.0.1:1/hook-secret-path")
			if err != nil {
				return nil, err
			}
			b.Metrics.Webhook("alerts-0", wh)
			b.Metrics.RateLimit("app", "core", func() (int, int, bool) { return 99, 100, true })
			return &System{Root: root, Parts: []Part{{Name: "app", Orch: root, Targets: []string{"app-web"}},
				{Name: "cache", Orch: root, Targets: []string{"cache-redis"}}},
				Close: func(ctx context.Context) error { return wh.Close(ctx) }}, nil
		},
		Env: []string{},
	}
	return c, set, fixed
}

// monitorRun is a monitor running in the test.
type monitorRun struct {
	url    string
	cancel func()
	done   chan result
}

// startMonitor runs the monitor of c and waits for its endpoint.
func startMonitor(t *testing.T, c Command[struct{}]) *monitorRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m := &monitorRun{cancel: cancel, done: make(chan result, 1)}
	var out, errb syncBuffer
	go func() {
		code := Run(ctx, c, []string{"monitor", "-detached"}, &out, &errb)
		m.done <- result{code, out.String(), errb.String()}
	}()
	re := regexp.MustCompile(`health endpoint (http://\S+)/health`)
	require.Eventually(t, func() bool {
		if mm := re.FindStringSubmatch(out.String()); mm != nil {
			m.url = mm[1]
			return true
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "no endpoint: %s", errb.String())
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *monitorRun) stop(t *testing.T) result {
	t.Helper()
	m.cancel()
	select {
	case r := <-m.done:
		m.done <- r
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the monitor did not stop")
	}
	return result{}
}

func TestMonitorServesMetricsThatMoveWithFaults(t *testing.T) {
	t.Parallel()
	c, _, fixed := twoParts(t)
	m := startMonitor(t, c)
	var body string
	require.Eventually(t, func() bool {
		_, body = get(t, m.url+"/metrics", "")
		return strings.Contains(body, `uras_recoveries_total{result="succeeded",system="app",target="app-web"} 1`) &&
			strings.Contains(body, `uras_target_status{status="healthy",system="app",target="app-web"} 1`)
	}, 15*time.Second, 20*time.Millisecond, "%s", body)
	assert.True(t, fixed.Load())
	for _, want := range []string{
		`uras_actions_total{result="succeeded",system="app",target="app-web",verb="app.restart"} 1`,
		`uras_checks_total{result="unhealthy",system="app",target="app-web"} 1`,
		`uras_target_status{status="unhealthy",system="cache",target="cache-redis"} 1`,
		`uras_recovery_budget_remaining{system="app",target="app-web"} 4`,
		`uras_check_duration_seconds_count{system="cache",target="cache-redis"}`,
		`uras_webhook_queue_depth{webhook="alerts-0"} 0`,
		`uras_api_rate_limit_remaining{resource="core",system="app"} 99`,
		`uras_loop_alive{system="app"} 1`,
		"go_goroutines", "process_start_time_seconds",
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "hook-secret-path")
	resp, _ := get(t, m.url+"/metrics", "")
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
}

func TestMonitorProbesFollowCriticality(t *testing.T) {
	t.Parallel()
	c, _, _ := twoParts(t)
	m := startMonitor(t, c)
	var code int
	var body string
	require.Eventually(t, func() bool {
		resp, b := get(t, m.url+"/readyz", "")
		code, body = resp.StatusCode, b
		return code == http.StatusOK
	}, 15*time.Second, 20*time.Millisecond, "ready once the critical app is fixed: %d %s", code, body)
	assert.Contains(t, body, `"status": "warn"`, "the non-critical cache still fails: a warning")
	assert.Contains(t, body, "cache/cache-redis: unhealthy")
	resp, body := get(t, m.url+"/livez", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"status": "pass"`)
	resp, body = get(t, m.url+"/health", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a failing non-critical target never 503s: %s", body)
	resp, _ = get(t, m.url+"/readyz", "")
	assert.Equal(t, "application/health+json", resp.Header.Get("Content-Type"))
}

func TestReadinessNotReadyWhileACriticalTargetFails(t *testing.T) {
	t.Parallel()
	root := redundancy.New()
	require.NoError(t, root.Add(leaky("db")))
	sys := &System{Root: root}
	r := sys.Readiness()
	assert.False(t, r.Ready)
	assert.Equal(t, []string{"db: not checked yet"}, r.Failing, "a single part keeps plain names")
	root.CheckNow(context.Background())
	r = sys.Readiness()
	assert.False(t, r.Ready)
	require.Len(t, r.Failing, 1)
	assert.True(t, strings.HasPrefix(r.Failing[0], "db: unhealthy"))
}

// A part nested under a non-critical root target is non-critical.
func TestReadinessOfANonCriticalNestedPart(t *testing.T) {
	t.Parallel()
	child := redundancy.New()
	require.NoError(t, child.Add(leaky("db")))
	root := redundancy.New()
	nest := redundancy.Nest("store", child, redundancy.Policy{})
	nest.Criticality = redundancy.NonCritical
	require.NoError(t, root.Add(nest))
	root.CheckNow(context.Background())
	sys := &System{Root: root, Parts: []Part{{Name: "store", Orch: child}}}
	r := sys.Readiness()
	assert.True(t, r.Ready, "%+v", r)
	require.Len(t, r.Warnings, 1)
	assert.True(t, strings.HasPrefix(r.Warnings[0], "store/db: unhealthy"))
}

// notifySocket listens where NOTIFY_SOCKET points and collects the
// datagrams, as systemd does.
func notifySocket(t *testing.T) (path string, got func() []string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path is at most 108 bytes
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path = filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	var mu sync.Mutex
	var msgs []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(buf[:n]))
			mu.Unlock()
		}
	}()
	return path, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func count(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestMonitorNotifiesSystemd(t *testing.T) {
	t.Parallel()
	path, got := notifySocket(t)
	c, _, _ := twoParts(t)
	// WATCHDOG_USEC 200ms: a ping every 100ms.
	c.Env = []string{envNotifySocket + "=" + path, envWatchdogUsec + "=200000", envWatchdogPID + "=" + itoa(os.Getpid())}
	m := startMonitor(t, c)
	require.Eventually(t, func() bool { return count(got(), "WATCHDOG=1") >= 3 }, 10*time.Second, 10*time.Millisecond, "%q", got())
	msgs := got()
	require.NotEmpty(t, msgs)
	assert.True(t, strings.HasPrefix(msgs[0], "READY=1\nSTATUS=watching 2 targets: "), "%q", msgs[0])
	assert.Zero(t, count(msgs, "STOPPING=1"))
	r := m.stop(t)
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, 1, count(got(), "STOPPING=1"))
}

func TestWatchdogIsAnotherProcesss(t *testing.T) {
	t.Parallel()
	d, err := watchdogEvery([]string{envWatchdogUsec + "=1000000", envWatchdogPID + "=1"}, 4242)
	require.NoError(t, err)
	assert.Zero(t, d)
	d, err = watchdogEvery([]string{envWatchdogUsec + "=1000000"}, 4242)
	require.NoError(t, err)
	assert.Equal(t, 500*time.Millisecond, d)
	_, err = watchdogEvery([]string{envWatchdogUsec + "=soon"}, 4242)
	assert.Error(t, err)
	_, err = newSDNotifier([]string{envNotifySocket + "=relative/path"})
	assert.Error(t, err)
	n, err := newSDNotifier(nil)
	assert.NoError(t, err)
	assert.Nil(t, n)
	assert.NoError(t, n.notify("READY=1"), "no socket: nothing to do")
}

// A wedged loop gets no WATCHDOG=1 (systemd restarts the monitor) and
// sends no heartbeat; both resume when it makes progress again.
func TestKeepAliveFeedsNothingWhileWedged(t *testing.T) {
	t.Parallel()
	path, got := notifySocket(t)
	sd, err := newSDNotifier([]string{envNotifySocket + "=" + path})
	require.NoError(t, err)
	var pings atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pings.Add(1) }))
	defer srv.Close()

	clock := &steppedClock{now: time.Now()}
	root := redundancy.New(redundancy.WithClock(clock))
	require.NoError(t, root.Add(healthy("web")))
	root.Tick(context.Background())
	sys := &System{Root: root}
	clock.step(time.Hour) // nobody ticks: wedged
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		keepAlive(ctx, discard(), sys, sd, 10*time.Millisecond, newHeartbeat(srv.URL), 10*time.Millisecond)
	}()
	require.Never(t, func() bool { return count(got(), "WATCHDOG=1") > 0 || pings.Load() > 0 }, 300*time.Millisecond, 10*time.Millisecond)
	root.Tick(context.Background())
	require.Eventually(t, func() bool { return count(got(), "WATCHDOG=1") > 0 && pings.Load() > 0 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done
}

func TestMonitorPingsTheHeartbeatWithoutLeakingIt(t *testing.T) {
	t.Parallel()
	var pings atomic.Int32
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping/uuid-secret-1234" {
			ua.Store(r.UserAgent())
			pings.Add(1)
		}
	}))
	defer srv.Close()
	c, set, _ := twoParts(t)
	c.Env = []string{EnvHeartbeatURL + "=" + srv.URL + "/ping/uuid-secret-1234"}
	m := startMonitor(t, c)
	require.Eventually(t, func() bool { return pings.Load() > 0 }, 15*time.Second, 20*time.Millisecond, "pinged once alive and ready")
	assert.Equal(t, "uras-heartbeat", ua.Load())
	r := m.stop(t)
	logs, err := os.ReadFile(todayLog(set))
	require.NoError(t, err)
	assert.NotContains(t, string(logs)+r.stdout+r.stderr, "uuid-secret-1234")
	assert.Contains(t, string(logs), `"msg":"heartbeat"`)
}

func TestHeartbeatErrorsNeverQuoteTheURL(t *testing.T) {
	t.Parallel()
	hb := newHeartbeat("http://127.0.0.1:1/ping/uuid-secret-5678")
	err := hb.ping(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "uuid-secret-5678")
	redirect := httptest.NewServer(http.RedirectHandler("http://elsewhere.invalid/x", http.StatusFound))
	defer redirect.Close()
	err = newHeartbeat(redirect.URL + "/uuid-secret-5678").ping(context.Background())
	require.Error(t, err, "a redirect is not followed, and is not a success")
	assert.NotContains(t, err.Error(), "uuid-secret-5678")
	assert.Error(t, checkHeartbeatURL("ftp://x/y"))
	assert.NotContains(t, checkHeartbeatURL("hc-ping.com/uuid-secret").Error(), "uuid-secret")
}

func TestBadHeartbeatURLIsAUsageError(t *testing.T) {
	t.Parallel()
	c, _, _ := twoParts(t)
	c.Env = []string{EnvHeartbeatURL + "=not a url secret-99"}
	r := run(t, t.Context(), c, "monitor", "-detached")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "heartbeat URL")
	assert.NotContains(t, r.stderr, "secret-99")
}

// steppedClock is a clock moved by hand; After never fires.
type steppedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppedClock) After(time.Duration) <-chan time.Time { return nil }

func (c *steppedClock) step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func itoa(n int) string { return strconv.Itoa(n) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// status -json and health-check -json speak RFC 3339 and duration
// strings, and show no zero time.
func TestStatusJSONIsReadable(t *testing.T) {
	t.Parallel()
	c, _, _ := twoParts(t)
	r := run(t, t.Context(), c, "health-check", "-json")
	assert.NotContains(t, r.stdout, "0001-01-01")
	assert.NotContains(t, r.stdout, `"next_attempt"`)
	assert.Regexp(t, `"last_check": "\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`, r.stdout)
	assert.Contains(t, r.stdout, `"criticality": "non-critical"`)

	// A recovery's result: its elapsed time is a duration string.
	st := Status{Time: time.Now(), Parts: []PartStatus{{Name: "x", Targets: []redundancy.TargetState{{Name: "t",
		History: []redundancy.ActionResult{{Verb: "v", Started: time.Now(), Elapsed: 1500 * time.Millisecond}}}}}}}
	b, err := redactJSON(st, redundancy.NewRedactor())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"elapsed": "1.5s"`)
	assert.NotContains(t, string(b), "0001-01-01")
}
