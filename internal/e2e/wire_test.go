package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
)

// announced waits for the monitor started by startMonitor to print the
// URL after prefix ("health endpoint", "webhook deliveries on").
func announced(t *testing.T, dir, name, prefix string, done <-chan error) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(prefix) + ` (http://[^\s/]+)`)
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if m := re.FindStringSubmatch(logText(t, filepath.Join(dir, name+".test.out"))); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the monitor exited (%v): %s", err, logText(t, filepath.Join(dir, name+".test.out")))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q announced: %s", prefix, logText(t, filepath.Join(dir, name+".test.out")))
		}
	}
	return url
}

func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The built ultimate command with a GitHub webhook secret receives a
// signed "workflow_run completed failure" delivery on its hooks listener
// and re-runs the failed jobs at once, though its safety-net poll is ten
// minutes away; a delivery with a bad signature gets 401 and is counted
// on /metrics, never logged with its body, beside the rate limit.
func TestUltimateReRunsOnAWebhookDelivery(t *testing.T) {
	t.Parallel()
	const token, secret = "ghp_e2eWebhook0123456789abcdefABCDEF", "e2e-hook-secret-value"
	srv := ghtest.NewServer(ghtest.WithToken(token))
	t.Cleanup(srv.Close)
	ci := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	dir := t.TempDir()
	cfg := write(t, filepath.Join(dir, "uras.yaml"), `
logs: {dir: logs}
state: {dir: state}
listen: 127.0.0.1:0
hooks_listen: 127.0.0.1:0
github:
  api_url: `+srv.URL()+`
  repos: [{owner: octo, name: app, branch: main}]
`)
	env := []string{"GITHUB_TOKEN=" + token, "GITHUB_WEBHOOK_SECRET=" + secret}
	cmd, done := startMonitor(t, dir, env, "ultimate", cfg)
	hooks := announced(t, dir, "ultimate", "webhook deliveries on", done)
	endpoint := announced(t, dir, "ultimate", "health endpoint", done)
	require.Eventually(t, func() bool {
		_, body := httpGet(t, endpoint+"/status", "")
		return strings.Contains(body, `"last_check"`) && strings.Contains(body, "github-octo-app")
	}, 30*time.Second, 20*time.Millisecond, "the first check ran")

	run := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Status: ghactions.RunInProgress})
	srv.CompleteRun(run, ghactions.ConclusionFailure)
	body, ok := srv.WorkflowRunPayload(run, "completed")
	require.True(t, ok)
	ctx := context.Background()
	code, err := ghtest.Deliver(ctx, nil, hooks+"/hooks/github", "workflow_run", body, []byte("a forged secret"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code)
	sent := time.Now()
	code, err = ghtest.Deliver(ctx, nil, hooks+"/hooks/github", "workflow_run", body, []byte(secret))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool {
		r, _ := srv.Run(run)
		return r.Attempt == 2
	}, 30*time.Second, 20*time.Millisecond, "re-run after the delivery, not at the next poll")
	t.Logf("delivery to re-run: %s", time.Since(sent).Round(time.Millisecond))

	code, metrics := httpGet(t, endpoint+"/metrics", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, metrics, `uras_webhook_requests_total{code="401",receiver="github"} 1`)
	assert.Contains(t, metrics, `uras_webhook_requests_total{code="202",receiver="github"} 1`)
	assert.Regexp(t, `uras_api_rate_limit_remaining\{resource="core",system="github"\} \d+`, metrics)
	code, _ = httpGet(t, endpoint+"/hooks/github", "")
	assert.Equal(t, http.StatusNotFound, code, "the hooks are not on the endpoint")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-done)
	logs := logText(t, logFile(dir, "ultimate"))
	assert.Contains(t, logs, "github.rerun-failed-jobs")
	assert.NotContains(t, logs, ghtest.SignDelivery([]byte("a forged secret"), body), "no signature in the log")
	assert.NotContains(t, logs, `"head_sha"`, "no body in the log")
	assert.NotContains(t, logs, secret)
}

// Silences from the command line: written into the state file with no
// monitor running (the next start keeps them), and through the running
// monitor's endpoint with the token of URAS_ENDPOINT_TOKEN; status shows
// them.
func TestSilenceVerbs(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	r := run(t, dir, nil, "ultimate", "-config", cfg, "silence", "add", "-target", "netlify", "-for", "2h", "-comment", "migration", "-id", "migration")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "silence migration set (no monitor running: state file state/state-root.json, kept at the next start)")

	const token = "e2e-endpoint-token-0123456789"
	env := []string{"URAS_ENDPOINT_TOKEN=" + token}
	cmd, done := startMonitor(t, dir, env, "ultimate", cfg)
	endpoint := announced(t, dir, "ultimate", "health endpoint", done)
	require.Eventually(t, func() bool {
		r = run(t, dir, env, "ultimate", "-config", cfg, "status")
		return r.code == 0 && strings.Contains(r.stdout, "netlify-functions")
	}, 30*time.Second, 50*time.Millisecond, "%s%s", r.stdout, r.stderr)
	assert.Regexp(t, `silences:\n\s+migration\s+active until .*target netlify, problem \*, "migration"`, r.stdout, "kept at the start")
	assert.Regexp(t, `netlify\s+netlify-functions\s+healthy \(silenced\)`, r.stdout)

	r = run(t, dir, env, "ultimate", "-config", cfg, "silence", "add", "-target", "*", "-problem", "netlify.endpoint-*", "-every", "0 3 * * *", "-duration", "30m", "-tz", "Europe/Berlin", "-pause-repairs")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Regexp(t, `silence s-[0-9a-f]+ set \(running monitor, pid \d+\)`, r.stdout)
	id := strings.Fields(r.stdout)[1]
	r = run(t, dir, nil, "ultimate", "-config", cfg, "silence", "add", "-target", "netlify", "-for", "1h")
	assert.Equal(t, 2, r.code, "no token: refused")
	assert.Contains(t, r.stderr, "set URAS_ENDPOINT_TOKEN")
	code, _ := httpGet(t, endpoint+"/silences", "")
	assert.Equal(t, http.StatusUnauthorized, code, "the endpoint wants the token")

	r = run(t, dir, env, "ultimate", "-config", cfg, "silence", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "migration")
	assert.Contains(t, r.stdout, id)
	r = run(t, dir, env, "ultimate", "-config", cfg, "silence", "remove", "migration")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-done)
	r = run(t, dir, nil, "ultimate", "-config", cfg, "silence", "list", "-json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, id, "the monitor saved it in its state file")
	assert.NotContains(t, r.stdout, `"migration"`)
	_, err := os.Stat(filepath.Join(dir, "state", "state-root.json"))
	require.NoError(t, err)
}

// Every mode serves /metrics beside /health.
func TestMetricsInEveryMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"launcher", "master", "ultimate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir, cfg := site(t, true)
			cmd, done := startMonitor(t, dir, nil, mode, cfg)
			endpoint := announced(t, dir, mode, "health endpoint", done)
			var body string
			require.Eventually(t, func() bool {
				_, body = httpGet(t, endpoint+"/metrics", "")
				return strings.Contains(body, `uras_target_status{status="healthy",system="netlify",target="netlify-functions"} 1`)
			}, 30*time.Second, 50*time.Millisecond, "%s", body)
			assert.Contains(t, body, `uras_loop_alive{system=`)
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(t, <-done)
		})
	}
}
