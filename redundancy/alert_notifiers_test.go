package redundancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// hookServer records the bodies posted to it.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newHookServer(t *testing.T) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) Bodies() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// The webhook payload of an alert carries its key, severity, first-seen
// and resolved times; raw events keep their own shape, told apart by
// "type". The README documents this payload.
func TestWebhookAlertPayload(t *testing.T) {
	t.Parallel()
	hook := newHookServer(t)
	w, err := redundancy.NewWebhookNotifier(hook.URL + "/alerts")
	require.NoError(t, err)
	o, clock := newOrch(t, redundancy.WithAlertNotifier(w), redundancy.WithNotifier(w))
	ch := redundancytest.NewChecker(redundancytest.Unhealthy("web"))
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: ch, Policy: fastPolicy()}))
	tickEvery(o, clock, 2, time.Minute)
	ch.Set(redundancytest.Healthy())
	tickEvery(o, clock, 1, time.Minute)
	require.NoError(t, w.Close(context.Background()))

	var alerts, events []map[string]any
	for _, b := range hook.Bodies() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), string(b))
		switch m["type"] {
		case "alert":
			alerts = append(alerts, m)
		case "event":
			events = append(events, m)
		default:
			t.Fatalf("body without a type: %s", b)
		}
	}
	assert.Len(t, events, 2, "status changes, posted as events")
	require.Len(t, alerts, 2)
	open, resolved := alerts[0], alerts[1]
	assert.Equal(t, "open", open["notice"])
	assert.Equal(t, "web/test.down", open["key"])
	assert.Equal(t, "critical", open["severity"])
	assert.Equal(t, "open", open["state"])
	assert.Equal(t, "2026-03-01T12:00:00Z", open["first_seen"])
	assert.NotContains(t, open, "resolved")
	assert.Equal(t, "resolved", resolved["notice"])
	assert.Equal(t, "web/test.down", resolved["key"])
	assert.Equal(t, "resolved", resolved["state"])
	assert.Equal(t, "2026-03-01T12:00:00Z", resolved["first_seen"])
	assert.Equal(t, "2026-03-01T12:02:00Z", resolved["resolved"])
	assert.EqualValues(t, 2, resolved["notifications"])
	for _, k := range []string{"silenced", "quiet", "held_by"} {
		assert.NotContains(t, open, k, "internal marks never reach a receiver")
	}
}

// The Slack-compatible notifier posts one escaped line of text per notice.
func TestSlackNotifierText(t *testing.T) {
	t.Parallel()
	hook := newHookServer(t)
	red := redundancy.NewRedactor("xoxb-secret-token-1")
	s, err := redundancy.NewSlackNotifier(hook.URL+"/services/T/B/X", redundancy.WithWebhookRedactor(red))
	require.NoError(t, err)
	first := t0
	require.NoError(t, s.NotifyAlert(context.Background(), redundancy.Alert{Key: "web/test.down", Notice: redundancy.NoticeOpen,
		Severity: redundancy.SeverityCritical, Summary: "web: <script> & xoxb-secret-token-1", FirstSeen: first,
		Affected: []string{"app1/test.down"}}))
	require.NoError(t, s.NotifyAlert(context.Background(), redundancy.Alert{Key: "web/test.down", Notice: redundancy.NoticeResolved,
		Severity: redundancy.SeverityCritical, FirstSeen: first, Resolved: first.Add(5 * time.Minute)}))
	require.NoError(t, s.Notify(context.Background(), redundancy.Event{Target: "web", Kind: redundancy.EventRecoveryStarted, Attempt: 1}))
	require.NoError(t, s.Close(context.Background()))
	bodies := hook.Bodies()
	require.Len(t, bodies, 3)
	var texts []string
	for _, b := range bodies {
		var m map[string]string
		require.NoError(t, json.Unmarshal(b, &m))
		require.Len(t, m, 1, "only text: %s", b)
		texts = append(texts, m["text"])
	}
	assert.Equal(t, "[OPEN critical] web/test.down: web: &lt;script&gt; &amp; [REDACTED] (first seen 2026-03-01 12:00:00 UTC); also affected: app1/test.down", texts[0])
	assert.Equal(t, "[RESOLVED critical] web/test.down (after 5m0s)", texts[1])
	assert.Equal(t, "web recovery-started attempt 1", texts[2])
}

// TestCommandHelper is the program the command notifier tests run (the
// helper-process pattern of os/exec's tests); it does nothing in a normal
// test run.
func TestCommandHelper(t *testing.T) {
	mode := os.Getenv("URAS_TEST_COMMAND")
	if mode == "" {
		return
	}
	switch mode {
	case "save":
		data, _ := io.ReadAll(os.Stdin)
		_ = os.WriteFile(os.Getenv("URAS_TEST_OUT"), data, 0o600)
	case "fail":
		fmt.Fprint(os.Stderr, "paging failed for token ghp_abcdefghijklmnopqrstuvwxyz0123 ")
		fmt.Print(strings.Repeat("x", 100_000))
		os.Exit(3)
	case "env":
		fmt.Println("env:", os.Getenv("GITHUB_TOKEN"), os.Getenv("URAS_TEST_KEEP"))
		os.Exit(1)
	case "hang":
		time.Sleep(time.Minute) // killed by the notifier's timeout
	}
	os.Exit(0)
}

func helperArgv() []string { return []string{os.Args[0], "-test.run=^TestCommandHelper$"} }

// The command notifier runs a program (argv, no shell) with the notice's
// JSON on stdin, without the monitor's secret variables by default.
func TestCommandNotifierRunsTheProgram(t *testing.T) {
	t.Setenv("URAS_TEST_COMMAND", "save")
	out := filepath.Join(t.TempDir(), "alert.json")
	t.Setenv("URAS_TEST_OUT", out)
	var logs bytes.Buffer
	c, err := redundancy.NewCommandNotifier(helperArgv(), redundancy.WithCommandLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	a := redundancy.Alert{Key: "web/test.down", Notice: redundancy.NoticeOpen, State: redundancy.AlertOpen, Target: "web",
		Problem: "test.down", Severity: redundancy.SeverityCritical, FirstSeen: t0}
	require.NoError(t, c.NotifyAlert(context.Background(), a))
	require.NoError(t, c.Close(context.Background()))
	ran, failed, dropped := c.Stats()
	assert.Equal(t, [3]int{1, 0, 0}, [3]int{ran, failed, dropped})
	var got map[string]any
	readJSON(t, out, &got)
	assert.Equal(t, "alert", got["type"])
	assert.Equal(t, "web/test.down", got["key"])
	assert.Equal(t, "open", got["notice"])
	assert.Equal(t, "critical", got["severity"])
	assert.Empty(t, logs.String(), "a run that works logs nothing")
}

// A failing run is counted and logged with its output capped and
// redacted; a run past its timeout is killed; bad argv is refused.
func TestCommandNotifierFailures(t *testing.T) {
	t.Setenv("URAS_TEST_COMMAND", "fail")
	var logs bytes.Buffer
	c, err := redundancy.NewCommandNotifier(helperArgv(), redundancy.WithCommandOutputLimit(1000),
		redundancy.WithCommandLogger(slog.New(slog.NewTextHandler(&logs, nil))), redundancy.WithCommandRedactor(redundancy.NewRedactor()))
	require.NoError(t, err)
	require.NoError(t, c.NotifyAlert(context.Background(), redundancy.Alert{Key: "k", Notice: redundancy.NoticeOpen}))
	require.NoError(t, c.Close(context.Background()))
	_, failed, _ := c.Stats()
	assert.Equal(t, 1, failed)
	assert.Contains(t, logs.String(), "exit status 3")
	assert.Contains(t, logs.String(), "more bytes not kept")
	assert.Contains(t, logs.String(), "paging failed for token [REDACTED]")
	assert.NotContains(t, logs.String(), "ghp_abcdefghijklmnopqrstuvwxyz0123")
	assert.Less(t, logs.Len(), 3000, "the output is capped")

	t.Setenv("URAS_TEST_COMMAND", "hang")
	c, err = redundancy.NewCommandNotifier(helperArgv(), redundancy.WithCommandTimeout(200*time.Millisecond),
		redundancy.WithCommandEnv(append(os.Environ(), "URAS_TEST_COMMAND=hang")))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c.NotifyAlert(context.Background(), redundancy.Alert{Key: "k", Notice: redundancy.NoticeOpen}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.Close(ctx))
	_, failed, _ = c.Stats()
	assert.Equal(t, 1, failed)
	assert.Less(t, time.Since(start), 20*time.Second, "killed at its timeout, not after the minute")

	for _, argv := range [][]string{nil, {""}, {" "}, {"/bin/true", "a\x00b"}} {
		_, err := redundancy.NewCommandNotifier(argv)
		require.Error(t, err, "%q", argv)
		assert.True(t, strings.HasPrefix(err.Error(), "redundancy: command notifier: "), err.Error())
	}
}

// The environment the program gets: SecretEnvNames are left out unless
// WithCommandEnv sets it.
func TestCommandNotifierEnvironment(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "ghp_should_not_pass_0000000000000000")
	t.Setenv("URAS_TEST_KEEP", "kept")
	t.Setenv("URAS_TEST_COMMAND", "env") // prints what it got, then fails so that the output is logged
	for _, tc := range []struct {
		name string
		opts []redundancy.CommandOption
		want string
	}{
		{"default", nil, "env:  kept"},
		{"set", []redundancy.CommandOption{redundancy.WithCommandEnv(append(os.Environ(), "URAS_TEST_KEEP=set"))},
			"env: ghp_should_not_pass_0000000000000000 set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			opts := append([]redundancy.CommandOption{redundancy.WithCommandLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tc.opts...)
			c, err := redundancy.NewCommandNotifier(helperArgv(), opts...)
			require.NoError(t, err)
			require.NoError(t, c.NotifyAlert(context.Background(), redundancy.Alert{Key: "k"}))
			require.NoError(t, c.Close(context.Background()))
			assert.Contains(t, logs.String(), tc.want)
		})
	}
}
