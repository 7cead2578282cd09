package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
)

// monitors returns the pids of the live monitor processes of the binary
// name whose working directory is dir.
func monitors(t *testing.T, name, dir string) []int {
	t.Helper()
	exe := bin(t, name)
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		p := filepath.Join("/proc", e.Name())
		if x, err := os.Readlink(filepath.Join(p, "exe")); err != nil || x != exe {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join(p, "cwd")); err != nil || cwd != dir {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if strings.Contains(string(cmdline), "\x00monitor\x00") {
			out = append(out, pid)
		}
	}
	return out
}

// Six starts at once, round after round: exactly one monitor runs each
// time, one start says started and the others already running (exit 4).
func TestConcurrentStartsLeaveOneMonitor(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	dir, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	const starters, rounds = 6, 5
	for round := range rounds {
		var wg sync.WaitGroup
		results := make([]result, starters)
		for i := range starters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run(t, dir, nil, "launcher", "-config", cfg, "start")
			}()
		}
		wg.Wait()
		codes := map[int]int{}
		for _, r := range results {
			codes[r.code]++
			if r.code != 0 {
				assert.Contains(t, r.stderr, "already running (pid", "round %d", round)
			}
		}
		assert.Equal(t, map[int]int{0: 1, 4: starters - 1}, codes, "round %d: %+v", round, results)
		running := monitors(t, "launcher", dir)
		assert.Len(t, running, 1, "round %d: monitors %v", round, running)
		for _, pid := range running {
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		}
		r := run(t, dir, nil, "launcher", "-config", cfg, "stop")
		require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
		require.Eventually(t, func() bool { return len(monitors(t, "launcher", dir)) == 0 }, 10*time.Second, 20*time.Millisecond)
	}
}

// A stale PID file naming a live stranger: status says not running, start
// proceeds, stop stops only our monitor, and the stranger is never signalled.
func TestStalePIDFileNeverHurtsAStranger(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	pidPath := filepath.Join(dir, "state", "launcher.pid")
	stranger := exec.Command("sleep", "120")
	require.NoError(t, stranger.Start())
	exited := make(chan error, 1)
	go func() { exited <- stranger.Wait() }()
	t.Cleanup(func() { _ = stranger.Process.Kill(); <-exited })
	spid := strconv.Itoa(stranger.Process.Pid)
	write(t, pidPath, spid+"\n")

	r := run(t, dir, nil, "launcher", "-config", cfg, "status")
	assert.Equal(t, 3, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "launcher: not running (stale PID file "+filepath.Join("state", "launcher.pid")+": pid "+spid+" is another process")

	r = run(t, dir, nil, "launcher", "-config", cfg, "stop")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "removed stale PID file")

	write(t, pidPath, spid+"\n")
	r = run(t, dir, nil, "launcher", "-config", cfg, "start")
	require.Equal(t, 0, r.code, "start proceeds over a stale file: %s%s", r.stdout, r.stderr)
	m := regexp.MustCompile(`started \(pid (\d+)\)`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	assert.NotEqual(t, spid, m[1])
	mpid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { _ = syscall.Kill(mpid, syscall.SIGKILL) })

	r = run(t, dir, nil, "launcher", "-config", cfg, "stop")
	assert.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "stopped (pid "+m[1]+")")
	assert.False(t, alive(mpid))

	select {
	case err := <-exited:
		t.Fatalf("the stranger was hurt: %v", err)
	default:
	}
	assert.True(t, alive(stranger.Process.Pid), "the stranger lives")
}

// netlifySite is a fake Netlify whose newest deploy failed, and a build
// hook that holds its request until released: a recovery in flight.
type netlifySite struct {
	api     *netlifytest.Server
	hook    *httptest.Server
	hit     chan struct{}
	release chan struct{}
	once    sync.Once
}

func newNetlifySite(t *testing.T) *netlifySite {
	t.Helper()
	s := &netlifySite{api: netlifytest.NewServer(), hit: make(chan struct{}, 16), release: make(chan struct{})}
	t.Cleanup(s.api.Close)
	now := time.Now()
	s.api.AddSite(netlify.Site{ID: "shop", Name: "shop"})
	s.api.AddDeploy("shop", netlify.Deploy{ID: "good", CreatedAt: now.Add(-2 * time.Hour)}, true)
	s.api.AddDeploy("shop", netlify.Deploy{ID: "bad", State: netlify.DeployError, ErrorMessage: "build failed", CreatedAt: now.Add(-time.Hour)}, false)
	s.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.hit <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(func() { s.free(); s.hook.Close() })
	return s
}

func (s *netlifySite) free() { s.once.Do(func() { close(s.release) }) }

func (s *netlifySite) config(t *testing.T, dir string) (cfg string, env []string) {
	t.Helper()
	cfg = write(t, filepath.Join(dir, "shop.yaml"), `
logs: {dir: logs, level: debug}
state: {dir: state}
policy: {interval: 1s, failure_threshold: 1, retries: 0, action_timeout: 1m}
netlify:
  site_id: shop
  api_url: `+s.api.APIURL()+`
  build_hook_env: HOOK
`)
	return cfg, []string{"NETLIFY_AUTH_TOKEN=" + netlifytest.DefaultToken, "HOOK=" + s.hook.URL + "/build_hooks/abc"}
}

// startMonitor runs `name -config cfg monitor -detached` in dir.
func startMonitor(t *testing.T, dir string, env []string, name, cfg string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.Command(bin(t, name), "-config", cfg, "monitor", "-detached")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	out, err := os.Create(filepath.Join(dir, name+".test.out"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = out.Close() })
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, done
}

func logText(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}

// logFile returns the path of a command's log file of today under dir
// (logs/<mode>-YYYY-MM-DD.log, the seed's layout).
func logFile(dir, mode string) string {
	return filepath.Join(dir, "logs", mode+"-"+time.Now().Format("2006-01-02")+".log")
}

// SIGTERM while a recovery is in flight: the monitor stops starting work,
// lets the action finish, records its result (the log; in ultimate mode
// the state file too) and exits 0.
func TestSIGTERMMidRecoveryRecordsTheResult(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"launcher", "master", "ultimate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := newNetlifySite(t)
			dir := t.TempDir()
			cfg, env := s.config(t, dir)
			cmd, done := startMonitor(t, dir, env, mode, cfg)
			select {
			case <-s.hit:
			case err := <-done:
				t.Fatalf("the monitor exited (%v): %s", err, logText(t, filepath.Join(dir, mode+".test.out")))
			case <-time.After(60 * time.Second):
				t.Fatal("no recovery started")
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			logPath := logFile(dir, mode)
			require.Eventually(t, func() bool { return strings.Contains(logText(t, logPath), "waiting for in-flight work to finish") },
				20*time.Second, 20*time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("the monitor exited (%v) with a recovery in flight", err)
			case <-time.After(500 * time.Millisecond):
			}
			s.free()
			select {
			case err := <-done:
				require.NoError(t, err, logText(t, logPath))
			case <-time.After(60 * time.Second):
				t.Fatal("the monitor did not exit after the recovery finished")
			}
			logs := logText(t, logPath)
			assert.Regexp(t, `"msg":"[^"]*netlify.rebuild[^"]*".*"event":"action-succeeded"|"event":"action-succeeded".*"action":"netlify.rebuild`, logs)
			assert.Contains(t, logs, `"msg":"monitor stopped"`)
			select {
			case <-s.hit:
				t.Error("a new recovery started after the signal")
			default:
			}
			// Every orchestrator's state file is written; the one of the
			// target that recovered holds the action's result.
			files, err := filepath.Glob(filepath.Join(dir, "state", "state*.json"))
			require.NoError(t, err)
			require.NotEmpty(t, files, "state files written")
			withResult := 0
			for _, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				if strings.Contains(string(b), `"verb": "netlify.rebuild"`) {
					withResult++
				}
			}
			assert.Equal(t, 1, withResult, "one state file holds the action's result: %v", files)
			if mode == "ultimate" {
				assert.FileExists(t, filepath.Join(dir, "state", "state-netlify.json"))
			}
			assert.NoFileExists(t, filepath.Join(dir, "state", mode+".pid"))
		})
	}
}

// A second SIGTERM cuts the wait short: the monitor exits 1 within
// seconds, with its PID file released, though the recovery still hangs.
func TestSecondSIGTERMStopsNow(t *testing.T) {
	t.Parallel()
	s := newNetlifySite(t)
	dir := t.TempDir()
	cfg, env := s.config(t, dir)
	cmd, done := startMonitor(t, dir, env, "launcher", cfg)
	select {
	case <-s.hit:
	case <-time.After(60 * time.Second):
		t.Fatal("no recovery started")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	logPath := logFile(dir, "launcher")
	require.Eventually(t, func() bool { return strings.Contains(logText(t, logPath), "waiting for in-flight work to finish") },
		20*time.Second, 20*time.Millisecond)
	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 1, ee.ExitCode())
		assert.Less(t, time.Since(sent), 8*time.Second)
		t.Logf("exit %s after the second SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("a second SIGTERM did not stop the monitor")
	}
	assert.Contains(t, logText(t, logPath), "second signal: stopping now")
	assert.NoFileExists(t, filepath.Join(dir, "state", "launcher.pid"))
}

// A config path that is a device, a FIFO or a huge file ends at once in a
// one-line configuration error, with nothing read.
func TestHostileConfigPathsAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(50<<20))
	require.NoError(t, f.Close())
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "not a regular file but a character device"},
		{fifo, "not a regular file but a named pipe (FIFO)"},
		{huge, "larger than 1048576 bytes"},
		{write(t, filepath.Join(dir, "empty.yaml"), ""), "nothing to watch: the file is empty"},
		{write(t, filepath.Join(dir, "dashes.yaml"), "---\n"), "nothing to watch: the file is empty"},
		{write(t, filepath.Join(dir, "fast.yaml"), "pm2: {}\npolicy: {interval: 1ns}\n"), ":2: policy.interval: 1ns is below the minimum 1s"},
		{write(t, filepath.Join(dir, "backoff.yaml"), "pm2:\n  policy:\n    backoff: {base: 10m}\n"), ":3: pm2.policy.backoff.base: backoff base 10m0s is above backoff max 5m0s (the default) in pm2"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			cmd := exec.Command(bin(t, "ultimate"), "-config", tc.path, "health-check")
			cmd.Dir = dir
			cmd.Env = cleanEnv()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, string(out))
			assert.Equal(t, 2, ee.ExitCode(), string(out))
			assert.Contains(t, string(out), "ultimate: config "+tc.path)
			assert.Contains(t, string(out), tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(string(out)), "\n")+1, "one line: %s", out)
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			assert.Less(t, ru.Maxrss, int64(200<<10), "max RSS %d KiB", ru.Maxrss)
			assert.Less(t, took, 10*time.Second)
		})
	}
	r := run(t, dir, nil, "master", "monitor", "-refresh", "0")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "master: monitor: -refresh 0s: want at least 100ms")
}

// A one-shot verb does not wait on a webhook receiver that hangs: queued
// alerts get a few seconds, not tens per event.
func TestOneShotDrainIsBounded(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); receiver.Close() })
	dir, _ := site(t, false) // the manifest is missing: events to alert about
	cfg := write(t, filepath.Join(dir, "hooks.yaml"), `
logs: {dir: logs}
state: {dir: state}
policy: {failure_threshold: 1}
netlify: {functions_dir: netlify/functions}
alerts: {webhooks: [{url: "`+receiver.URL+`/alert"}]}
`)
	bin(t, "ultimate") // built before the clock starts
	start := time.Now()
	r := run(t, dir, nil, "ultimate", "-config", cfg, "health-check")
	took := time.Since(start)
	assert.Equal(t, 1, r.code, "%s%s", r.stdout, r.stderr)
	assert.Less(t, took, 10*time.Second, "health-check took %s", took)
	// One-shot verbs page nobody (without the monitor's state an alert
	// would open again at every run), so nothing waits on the receiver.
	assert.Zero(t, hits.Load(), "a one-shot verb sent an alert")
	t.Logf("health-check with a hanging webhook receiver took %s", took.Round(time.Millisecond))
}

// An API that echoes the token in its errors: the token reaches no output
// (terminal, JSON, dry run, endpoint, status file, logs).
func TestEchoedTokensReachNoOutput(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "bad credentials: " + r.Header.Get("Authorization") + " for " + r.URL.String()})
	}))
	t.Cleanup(echo.Close)
	dir, _ := site(t, true)
	cfg := write(t, filepath.Join(dir, "echo.yaml"), `
logs: {dir: logs, level: debug}
state: {dir: state}
listen: 127.0.0.1:0
policy: {interval: 1s, failure_threshold: 1, retries: 0}
netlify:
  functions_dir: netlify/functions
  site_id: shop
  api_url: `+echo.URL+`/api/v1
github:
  api_url: `+echo.URL+`/
  repos: [{owner: o, name: r, branch: main}]
alerts:
  webhooks: [{url_env: HOOK}]
`)
	const ghToken, nfToken, hookSecret, endpointToken = "ghp_echoedSecret0123456789abcdefABCD", "nf-echoed-secret-271", "hook-path-secret-314", "endpoint-secret-161"
	env := []string{"GITHUB_TOKEN=" + ghToken, "NETLIFY_AUTH_TOKEN=" + nfToken, "HOOK=" + echo.URL + "/hooks/" + hookSecret,
		"URAS_ENDPOINT_TOKEN=" + endpointToken}
	secrets := []string{ghToken, nfToken, hookSecret, endpointToken}
	var outputs []string
	for _, args := range [][]string{{"health-check"}, {"health-check", "-json"}, {"status", "-json"}, {"recover", "-dry-run"}} {
		r := run(t, dir, env, "ultimate", append([]string{"-config", cfg}, args...)...)
		assert.NotEqual(t, 2, r.code, "%v: %s%s", args, r.stdout, r.stderr)
		outputs = append(outputs, fmt.Sprint(args)+"\n"+r.stdout+r.stderr)
	}
	// The running monitor: its endpoint, its status file, status.
	cmd := exec.Command(bin(t, "ultimate"), "-config", cfg, "monitor", "-refresh", "1h")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urlc := make(chan string, 1)
	var term strings.Builder
	var termMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			termMu.Lock()
			term.WriteString(sc.Text() + "\n")
			termMu.Unlock()
			if m := regexp.MustCompile(`health endpoint (http://\S+)/health`).FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case <-time.After(60 * time.Second):
		t.Fatal("no endpoint")
	}
	statusPath := filepath.Join(dir, "state", "ultimate.status.json")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(statusPath)
		return err == nil && strings.Contains(string(b), "bad credentials")
	}, 60*time.Second, 50*time.Millisecond, "the monitor checked the echoing API")
	b, _ := os.ReadFile(statusPath)
	outputs = append(outputs, "status file\n"+string(b))
	for _, path := range []string{"/health", "/status"} {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the endpoint wants its token")
		req.Header.Set("Authorization", "Bearer "+endpointToken)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		outputs = append(outputs, path+"\n"+string(body))
	}
	r := run(t, dir, env, "ultimate", "-config", cfg, "status")
	outputs = append(outputs, "status\n"+r.stdout+r.stderr)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	termMu.Lock()
	outputs = append(outputs, "terminal\n"+term.String())
	termMu.Unlock()
	logs, err := os.ReadFile(logFile(dir, "ultimate"))
	require.NoError(t, err)
	outputs = append(outputs, "log file\n"+string(logs))
	reports, _ := filepath.Glob(filepath.Join(dir, "state", "escalations", "*.json"))
	for _, p := range reports {
		b, _ := os.ReadFile(p)
		outputs = append(outputs, p+"\n"+string(b))
	}
	all := strings.Join(outputs, "\n")
	assert.Contains(t, all, "bad credentials", "the echoed errors did reach the outputs")
	assert.Contains(t, all, "[REDACTED]")
	for _, s := range secrets {
		for _, o := range outputs {
			assert.NotContains(t, o, s, "%s", strings.SplitN(o, "\n", 2)[0])
		}
	}
}
