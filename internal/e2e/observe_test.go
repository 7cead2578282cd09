package e2e

import (
	"bytes"
	"context"
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
)

// assertTimeline checks the demo's final table: a row per system, every
// stage in seconds, in order.
func assertTimeline(t *testing.T, out string) {
	t.Helper()
	require.Contains(t, out, "recovery timeline (seconds after each fault, from the orchestrators' events):")
	assert.Regexp(t, `(?m)^  SYSTEM\s+FAULT\s+DETECTED\s+PLAN\s+RECOVERED\s+VERIFIED$`, out)
	for _, sys := range []string{"pm2", "github", "netlify"} {
		m := regexp.MustCompile(`(?m)^  ` + sys + `\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$`).FindStringSubmatch(out)
		require.NotNil(t, m, "no row for %s:\n%s", sys, out)
		prev := -1.0
		for i, cell := range m[1:] {
			v, err := strconv.ParseFloat(cell, 64)
			require.NoError(t, err, "%s: stage %d is %q:\n%s", sys, i, cell, out)
			if i != 3 { // a recovery may end after the target was seen healthy again
				assert.GreaterOrEqual(t, v, prev, "%s: the stages are in order: %v", sys, m[1:])
				prev = v
			}
		}
		assert.Equal(t, "0.00", m[1], "measured from the fault")
	}
}

// The log, as the seed lays it out, read as people read it.
func TestLogsAsText(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	r := run(t, dir, []string{"REDUNDANCY_LOG_LEVEL=DEBUG"}, "launcher", "-config", cfg, "health-check")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)
	ents, err := os.ReadDir(filepath.Join(dir, "logs"))
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Contains(t, names, "launcher-"+time.Now().Format("2006-01-02")+".log", "one file per mode and day")

	r = run(t, dir, nil, "launcher", "-config", cfg, "logs")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, `{"time"`, "text, not JSON")
	line := regexp.MustCompile(`(?m)^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} DEBUG netlify  check  target=netlify-functions  status=healthy  took=\S+  findings=0$`)
	assert.Regexp(t, line, r.stdout, "one debug line per check, in the netlify column")
	assert.Regexp(t, `(?m)^\S+ \S+ INFO  -        health check  status=healthy$`, r.stdout)

	r = run(t, dir, nil, "launcher", "-config", cfg, "logs", "-system", "netlify", "-level", "debug", "-json")
	require.Equal(t, 0, r.code, r.stderr)
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		assert.Contains(t, l, `"part":"netlify"`)
	}
	r = run(t, dir, nil, "launcher", "-config", cfg, "logs", "-level", "info")
	assert.NotContains(t, r.stdout, " DEBUG ")
}

// "logs follow", the seed's spelling, keeps printing what is appended.
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	dir, cfg := site(t, true)
	r := run(t, dir, nil, "launcher", "-config", cfg, "health-check")
	require.Equal(t, 0, r.code, "%s%s", r.stdout, r.stderr)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(t, "launcher"), "-config", cfg, "logs", "follow", "-n", "1")
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	var out syncBuf
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "health check") }, 20*time.Second, 20*time.Millisecond)
	before := strings.Count(out.String(), "health check")

	r = run(t, dir, []string{"REDUNDANCY_LOG_LEVEL=DEBUG"}, "launcher", "-config", cfg, "health-check")
	require.Equal(t, 0, r.code)
	require.Eventually(t, func() bool {
		return strings.Count(out.String(), "health check") > before && strings.Contains(out.String(), "check  target=netlify-functions")
	}, 20*time.Second, 20*time.Millisecond, "the new lines are printed: %s", out.String())
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), errb.String())
}

// syncBuf is a buffer a process writes while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
