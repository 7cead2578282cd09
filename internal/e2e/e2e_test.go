package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/pm2/pm2test"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// bin builds the three example commands once, with the demo verb (-tags
// demo), into a temporary directory removed by TestMain, and returns the
// path of one.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "uras-e2e-bin-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "demo", "-o", binDir+string(os.PathSeparator),
			"github.com/uras-dev/uras/examples/launcher", "github.com/uras-dev/uras/examples/master", "github.com/uras-dev/uras/examples/ultimate")
		cmd.WaitDelay = 10 * time.Second
		buildOut, buildErr = cmd.CombinedOutput()
	})
	require.NoError(t, buildErr, "go build: %s", buildOut)
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs a command in dir with extra environment and returns its result.
func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(t, name), args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, out.String(), errb.String()}
}

// cleanEnv is the test's environment without the variables the commands read.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(name, "REDUNDANCY_LOG_LEVEL") || name == "GITHUB_TOKEN" || name == "NETLIFY_AUTH_TOKEN" || name == "PM2_HOME" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// site makes a project with one Netlify function; withManifest writes its manifest.
func site(t *testing.T, withManifest bool) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	fns := filepath.Join(dir, "netlify", "functions")
	write(t, filepath.Join(fns, "hello.mts"), "export default () => new Response('hi')\n")
	if withManifest {
		past := time.Now().Add(-time.Hour)
		require.NoError(t, os.Chtimes(filepath.Join(fns, "hello.mts"), past, past))
		_, err := netlify.RegenerateManifest(fns, filepath.Join(dir, netlify.DefaultManifestPath), time.Now())
		require.NoError(t, err)
	}
	cfg = write(t, filepath.Join(dir, "uras.yaml"), `
logs: {dir: logs}
state: {dir: state}
listen: 127.0.0.1:0
policy: {interval: 1s, failure_threshold: 1}
netlify:
  functions_dir: netlify/functions
`)
	return dir, cfg
}

func TestBadConfigExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := write(t, filepath.Join(dir, "bad.yaml"), "pm2:\n  home: /x\n  hme: /y\n")
	dur := write(t, filepath.Join(dir, "dur.yaml"), "policy:\n  interval: soon\n")
	for _, tc := range []struct {
		name, mode string
		args       []string
		want       string
	}{
		{"unknown key", "ultimate", []string{"-config", bad, "health-check"}, "config " + bad + ":3: pm2.hme: unknown key in pm2"},
		{"bad duration, flag after verb", "master", []string{"status", "-config", dur}, "config " + dur + `:2: policy.interval: bad duration "soon"`},
		{"unreadable", "launcher", []string{"-config", filepath.Join(dir, "none.yaml"), "start"}, "none.yaml: cannot read file: no such file or directory"},
		{"unknown verb", "launcher", []string{"frobnicate"}, `unknown verb "frobnicate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, dir, nil, tc.mode, tc.args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
}

func TestHealthCheckExitCodes(t *testing.T) {
	t.Parallel()
	good, goodCfg := site(t, true)
	r := run(t, good, nil, "master", "-config", goodCfg, "health-check")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "overall HEALTHY")
	assert.Contains(t, r.stdout, "netlify-functions")

	bad, badCfg := site(t, false)
	r = run(t, bad, nil, "master", "-config", badCfg, "health-check")
	assert.Equal(t, 1, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "netlify.manifest-missing")

	// The embedded default in an empty directory watches nothing, and says why.
	empty := t.TempDir()
	r = run(t, empty, []string{"PATH=/usr/bin:/bin", "PM2_HOME=" + filepath.Join(empty, "no-pm2")}, "launcher", "health-check")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "note: github: not present")
	assert.Contains(t, r.stdout, "note: netlify: not present")
	assert.Contains(t, r.stdout, "note: pm2: not present")
}

func TestRecoverDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, false)
	manifest := filepath.Join(dir, netlify.DefaultManifestPath)
	r := run(t, dir, nil, "ultimate", "-config", cfg, "recover", "-dry-run")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "dry run: the plan (nothing was done)")
	assert.Contains(t, r.stdout, "netlify.regenerate-manifest")
	assert.NoFileExists(t, manifest, "a dry run must not regenerate the manifest")
	assert.NoDirExists(t, filepath.Join(dir, "state", "escalations"))

	r = run(t, dir, nil, "ultimate", "-config", cfg, "recover")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Regexp(t, `netlify-functions\s+netlify.regenerate-manifest\s+\S*\s*ok`, r.stdout)
	assert.FileExists(t, manifest)

	r = run(t, dir, nil, "ultimate", "-config", cfg, "health-check")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
}

func TestStartStatusStop(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	pidPath := filepath.Join(dir, "state", "launcher.pid")

	r := run(t, dir, nil, "launcher", "-config", cfg, "start")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "launcher: started (pid ")
	b, err := os.ReadFile(pidPath)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, syscall.Kill(pid, 0), "the monitor runs")

	r = run(t, dir, nil, "launcher", "-config", cfg, "start")
	assert.Equal(t, 4, r.code, "a second start is refused")
	assert.Contains(t, r.stderr, "already running (pid "+strconv.Itoa(pid))

	// The monitor writes its status file; status shows it.
	require.Eventually(t, func() bool {
		r = run(t, dir, nil, "launcher", "-config", cfg, "status")
		return r.code == 0 && strings.Contains(r.stdout, "netlify-functions  healthy")
	}, 30*time.Second, 100*time.Millisecond, "status: %s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "launcher: running (pid "+strconv.Itoa(pid)+")")

	r = run(t, dir, nil, "launcher", "-config", cfg, "status", "-json")
	require.Equal(t, 0, r.code)
	var st struct {
		Mode    string `json:"mode"`
		Status  string `json:"status"`
		PID     int    `json:"pid"`
		Systems []struct {
			Name string `json:"name"`
		} `json:"systems"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	assert.Equal(t, "launcher", st.Mode)
	assert.Equal(t, "healthy", st.Status)
	assert.Equal(t, pid, st.PID)

	r = run(t, dir, nil, "launcher", "-config", cfg, "logs", "-n", "3", "-json")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, `"msg":`)

	r = run(t, dir, nil, "launcher", "-config", cfg, "stop")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "stopped (pid "+strconv.Itoa(pid)+")")
	assert.NoFileExists(t, pidPath)
	assert.False(t, alive(pid), "the monitor is gone")

	r = run(t, dir, nil, "launcher", "-config", cfg, "status")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout, "launcher: not running; checking now")

	// A stale PID file (a dead process) is removed by stop and ignored by start.
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	write(t, pidPath, strconv.Itoa(dead.Process.Pid)+"\n")
	r = run(t, dir, nil, "launcher", "-config", cfg, "stop")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "removed stale PID file")
	assert.NoFileExists(t, pidPath)
}

func TestMonitorServesHealth(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(t, "master"), "-config", cfg, "monitor", "-listen", "127.0.0.1:0", "-refresh", "1h")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`health endpoint (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-ctx.Done():
		t.Fatalf("no endpoint announced; stderr: %s", stderr.String())
	}
	var body map[string]any
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Type") != "application/health+json" || resp.StatusCode != http.StatusOK {
			return false
		}
		body = nil
		return json.NewDecoder(resp.Body).Decode(&body) == nil && body["status"] == "pass" && len(body["checks"].(map[string]any)) > 0
	}, 30*time.Second, 50*time.Millisecond)
	assert.Contains(t, body["checks"], "netlify:status", "the master's view: one check per system")
	base := strings.TrimSuffix(url, "/health")
	for path, want := range map[string]string{
		"/livez":   `"status": "pass"`,
		"/readyz":  `"status": "pass"`,
		"/metrics": `uras_target_status{status="healthy",system="netlify",target="netlify-functions"} 1`,
	} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(b), want, path)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	assert.NoFileExists(t, filepath.Join(dir, "state", "master.pid"))
}

func TestSecretsRedactedInLogFiles(t *testing.T) {
	t.Parallel()
	dir, _ := site(t, true)
	cfg := write(t, filepath.Join(dir, "secret.yaml"), `
logs: {dir: logs}
state: {dir: state}
netlify:
  functions_dir: netlify/functions
  site_id: shop
  api_url: http://127.0.0.1:1/api/v1
github:
  api_url: http://127.0.0.1:1/
  repos: [{owner: o, name: r, branch: main}]
alerts:
  webhooks: [{url: "http://127.0.0.1:1/hook?token=hook-secret-314"}, {url_env: HOOK}]
`)
	env := []string{"GITHUB_TOKEN=ghp_e2eSecretToken0123456789abcdef", "NETLIFY_AUTH_TOKEN=nf-e2e-secret-271",
		"HOOK=https://user:pw-secret-161@hooks.example/x", "REDUNDANCY_LOG_LEVEL=DEBUG"}
	r := run(t, dir, env, "ultimate", "-config", cfg, "health-check")
	assert.NotEqual(t, 2, r.code, "%s%s", r.stdout, r.stderr)
	b, err := os.ReadFile(logFile(dir, "ultimate"))
	require.NoError(t, err)
	logText := string(b)
	assert.Contains(t, logText, `"msg":"configuration"`, "the debug line with the webhook URLs was written")
	assert.Contains(t, logText, "[REDACTED]")
	assert.NotContains(t, logText, "127.0.0.1:1/hook", "an inline webhook URL is never logged, not even at DEBUG")
	for _, secret := range []string{"hook-secret-314", "ghp_e2eSecretToken0123456789abcdef", "nf-e2e-secret-271", "pw-secret-161"} {
		assert.NotContains(t, logText, secret)
		assert.NotContains(t, r.stdout+r.stderr, secret)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	t.Run("fake pm2", func(t *testing.T) {
		t.Parallel()
		r := run(t, t.TempDir(), nil, "launcher", "demo", "-duration", "4s", "-fake-pm2")
		require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
		assert.Contains(t, r.stdout, "FAKE PM2")
		assert.Contains(t, r.stdout, "RESULT: every fault recovered")
		assertTimeline(t, r.stdout)
	})
	t.Run("real pm2", func(t *testing.T) {
		t.Parallel()
		pm2bin := pm2test.FindPM2(t) // fails under CI=true when missing, skips otherwise
		r := run(t, t.TempDir(), []string{pm2test.EnvPM2Bin + "=" + pm2bin}, "ultimate", "demo", "-duration", "6s")
		require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
		m := regexp.MustCompile(`real PM2 \S* ?daemon in (\S+)`).FindStringSubmatch(r.stdout)
		require.NotNil(t, m, r.stdout)
		for _, want := range []string{"fault     pm2: killed worker", "plan      pm2: pm2.restart worker",
			"plan      github-demo-app:", "plan      netlify-demo-site:", "final dashboard",
			"application/health+json", "RESULT: every fault recovered", "cleanup: PM2 daemon killed"} {
			assert.Contains(t, r.stdout, want)
		}
		assertTimeline(t, r.stdout)
		assert.NoDirExists(t, filepath.Dir(m[1]), "the demo removes its temporary directory")
	})
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}
