package launch

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

func post(t *testing.T, url, token, body string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodPost, url, token, body)
}

func do(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// The endpoint's /silences sets and removes silences only for a request
// bearing the token; the other paths stay read-only.
func TestEndpointSilences(t *testing.T) {
	t.Parallel()
	url, _, _ := serve(t, "tok-123456")
	resp, _ := post(t, url+"/silences", "", `{"target":"leaky","duration":"1h"}`)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, body := post(t, url+"/silences", "tok-123456", `{"id":"maint","target":"leaky","duration":"1h","pause_repairs":true}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"id": "maint"`)
	resp, body = get(t, url+"/silences", "tok-123456")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"active": true`)
	resp, body = get(t, url+"/status", "tok-123456")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"silences"`, "the status shows them")
	resp, body = post(t, url+"/silences", "tok-123456", `{"target":"leaky"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "no end: %s", body)
	resp, _ = do(t, http.MethodDelete, url+"/silences?id=maint", "tok-123456", "")
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = do(t, http.MethodDelete, url+"/silences?id=maint", "tok-123456", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = post(t, url+"/health", "tok-123456", "")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "the rest stays read-only")
}

// The hooks listener serves each receiver at /hooks/<name> and nothing
// else, counting its answers on the metrics.
func TestHooksHandler(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, healthy("web"))
	c.Build = wrapBuild(c.Build, func(s *System) {
		s.Receivers = map[string]http.Handler{"github": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if !bytes.Equal(b, []byte("signed")) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		})}
	})
	r := run(t, t.Context(), c, "monitor", "-detached")
	assert.Equal(t, ExitUsage, r.code, "receivers and nowhere to receive")
	assert.Contains(t, r.stderr, "webhook secrets are set (/hooks/github) but hooks_listen is empty")

	set.HooksListen = "127.0.0.1:0"
	url := runMonitor(t, c, set)
	logPath := todayLog(set)
	var hooks string
	require.Eventually(t, func() bool {
		for _, l := range strings.Split(readFile(logPath), "\n") {
			if strings.Contains(l, `"msg":"webhooks"`) {
				_, rest, _ := strings.Cut(l, `"addr":"`)
				hooks, _, _ = strings.Cut(rest, `"`)
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	resp, _ := post(t, "http://"+hooks+"/hooks/github", "", "signed")
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, _ = post(t, "http://"+hooks+"/hooks/github", "", "forged")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, "http://"+hooks+"/health", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "only the hooks on their listener")
	resp, _ = post(t, url+"/hooks/github", "", "signed")
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "and no hook on the endpoint")
	_, body := get(t, url+"/metrics", "")
	assert.Contains(t, body, `uras_webhook_requests_total{code="202",receiver="github"} 1`)
	assert.Contains(t, body, `uras_webhook_requests_total{code="401",receiver="github"} 1`)
}

// repairable is down, with a repair that does not help.
func repairable(name string) redundancy.Target {
	t := down(name)
	t.Recoverer = redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
		return []redundancy.Action{{Verb: "x.restart", Subject: "app", Do: func(context.Context) error { return nil }}}, nil
	})
	return t
}

func readFile(path string) string {
	b, _ := readStatus(path)
	return string(b)
}

// The dashboard shows the open alerts, what holds repairs back, and the
// silences.
func TestRenderShowsAlertsSilencesAndHeldRepairs(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, repairable("web"))
	set.Alerts.Silences = []redundancy.Silence{{ID: "config-deploys", Target: "web", Problem: "x.*", Every: "@daily", Duration: 24 * time.Hour,
		PauseRepairs: true, Comment: "deploy window"}}
	c.Build = wrapBuild(c.Build, func(s *System) {
		s.Root.Tick(context.Background())
	})
	r := run(t, t.Context(), c, "health-check")
	assert.Equal(t, ExitFailure, r.code)
	assert.Regexp(t, `web\s+unhealthy \(repairs held\)`, r.stdout)
	assert.Contains(t, r.stdout, "  alerts:\n")
	assert.Regexp(t, `OPEN\s+critical\s+app/web/x.down\s+\S+\s+since \d\d:\d\d:\d\d, silenced by config-deploys`, r.stdout)
	assert.Contains(t, r.stdout, "  repairs held:\n    app/web: redundancy: recover \"web\": redundancy: repairs paused by a maintenance window: silence \"config-deploys\"")
	assert.Regexp(t, `  silences:\n    config-deploys\s+active until .*target web, problem x.\*, every "@daily" for 24h0m0s, pauses repairs, "deploy window"`, r.stdout)
}
