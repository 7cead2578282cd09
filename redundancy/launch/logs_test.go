package launch

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeLog writes JSON records to the test command's log file of today.
func writeLog(t *testing.T, set *Settings, lines ...string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(set.LogDir, 0o750))
	path := filepath.Join(set.LogDir, dayFileName("test", time.Now().Format(dayLayout)))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	require.NoError(t, err)
	defer f.Close()
	for _, l := range lines {
		_, err := f.WriteString(l + "\n")
		require.NoError(t, err)
	}
	return path
}

var sample = []string{
	`{"time":"2026-11-28T10:00:00.123Z","level":"INFO","msg":"monitor started","command":"test","pid":42}`,
	`{"time":"2026-11-28T10:00:01Z","level":"DEBUG","msg":"check","target":"pm2-web","status":"healthy","took":"1.5ms","findings":0,"part":"pm2"}`,
	`{"time":"2026-11-28T10:00:02Z","level":"WARN","msg":"pm2-web status-changed healthy→unhealthy","target":"pm2-web","summary":"web is down","part":"pm2"}`,
	`{"time":"2026-11-28T10:00:03Z","level":"ERROR","msg":"github-ci escalated","target":"github-ci","part":"github"}`,
	`not json at all`,
}

func TestLogsPrintsAlignedText(t *testing.T) {
	t.Parallel()
	c, set := testCommand(t, healthy("web"))
	writeLog(t, set, sample...)
	r := run(t, t.Context(), c, "logs")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	require.Len(t, lines, 5)
	local := func(s string) string {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tm.Local().Format("2006-01-02 15:04:05.000")
	}
	assert.Equal(t, local("2026-11-28T10:00:00.123Z")+" INFO  -        monitor started  command=test  pid=42", lines[0])
	assert.Equal(t, local("2026-11-28T10:00:01Z")+" DEBUG pm2      check  target=pm2-web  status=healthy  took=1.5ms  findings=0", lines[1])
	assert.Equal(t, local("2026-11-28T10:00:02Z")+` WARN  pm2      pm2-web status-changed healthy→unhealthy  target=pm2-web  summary="web is down"`, lines[2])
	assert.Equal(t, "not json at all", lines[4])
	// The columns line up.
	msgCol := strings.Index(lines[0], "monitor started")
	assert.Equal(t, msgCol, strings.Index(lines[1], "check"))
	assert.Equal(t, msgCol, strings.Index(lines[3], "github-ci escalated"))

	r = run(t, t.Context(), c, "logs", "-json", "-n", "2")
	assert.Equal(t, sample[3]+"\n"+sample[4]+"\n", r.stdout)
}

func TestLogsFiltersBySystemAndLevel(t *testing.T) {
	t.Parallel()
	c, set := testCommand(t, healthy("web"))
	writeLog(t, set, sample...)
	r := run(t, t.Context(), c, "logs", "-system", "pm2")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "\n"), r.stdout)
	assert.NotContains(t, r.stdout, "github-ci")

	r = run(t, t.Context(), c, "logs", "-level", "warn")
	assert.Equal(t, 2, strings.Count(r.stdout, "\n"), r.stdout)
	assert.Contains(t, r.stdout, "WARN ")
	assert.Contains(t, r.stdout, "ERROR")

	r = run(t, t.Context(), c, "logs", "-level", "warn", "-system", "PM2,-", "-json")
	assert.Equal(t, sample[2]+"\n", r.stdout)

	r = run(t, t.Context(), c, "logs", "-n", "1", "-system", "-")
	assert.Contains(t, r.stdout, "monitor started", "-n counts the lines that pass the filter: %s", r.stderr)

	r = run(t, t.Context(), c, "logs", "-level", "loud")
	assert.Equal(t, ExitUsage, r.code)
	r = run(t, t.Context(), c, "logs", "backwards")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `unexpected argument "backwards"`)
}

func TestLogsFollowAcceptsTheSeedsPositionalForm(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"logs", "follow", "-n", "1"}, {"logs", "-n", "1", "follow"}, {"logs", "-follow", "-n", "1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			c, set := testCommand(t, healthy("web"))
			path := writeLog(t, set, sample[0], sample[1])
			ctx, cancel := context.WithCancel(t.Context())
			var out, errb syncBuffer
			done := make(chan int, 1)
			go func() { done <- Run(ctx, c, args, &out, &errb) }()
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "check  target=pm2-web") }, 10*time.Second, 10*time.Millisecond)
			assert.NotContains(t, out.String(), "monitor started", "-n 1")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString(sample[3][:40]) // half a record: held back until its newline
			require.NoError(t, err)
			_, err = f.WriteString(sample[3][40:] + "\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "github-ci escalated") }, 10*time.Second, 10*time.Millisecond)
			cancel()
			assert.Equal(t, ExitOK, <-done, errb.String())
		})
	}
}

// One orchestrator over two parts: PM2_REDUNDANCY_LOG_LEVEL=DEBUG shows
// the checks of the pm2 part's targets only, each record named by its part.
func TestPartLevelsReachTargetsOfASharedOrchestrator(t *testing.T) {
	t.Parallel()
	c, set, _ := twoParts(t)
	c.Env = []string{"APP_REDUNDANCY_LOG_LEVEL=DEBUG"}
	r := run(t, t.Context(), c, "health-check")
	require.Equal(t, ExitFailure, r.code, r.stderr)
	b, err := os.ReadFile(todayLog(set))
	require.NoError(t, err)
	var checks []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `"msg":"check"`) {
			checks = append(checks, l)
		}
	}
	require.Len(t, checks, 1, "%s", b)
	assert.Contains(t, checks[0], `"target":"app-web"`)
	assert.Contains(t, checks[0], `"part":"app"`)
	assert.Contains(t, checks[0], `"findings":1`)

	c.Env = []string{"REDUNDANCY_LOG_LEVEL=DEBUG"}
	require.NoError(t, os.Remove(todayLog(set)))
	run(t, t.Context(), c, "health-check")
	r = run(t, t.Context(), c, "logs", "-system", "cache", "-level", "debug")
	assert.Contains(t, r.stdout, "check  target=cache-redis  status=unhealthy")
	assert.NotContains(t, r.stdout, "app-web")
}

// steppedNow is a clock for the daily files.
type steppedNow struct {
	mu sync.Mutex
	t  time.Time
}

func (s *steppedNow) now() time.Time  { s.mu.Lock(); defer s.mu.Unlock(); return s.t }
func (s *steppedNow) set(t time.Time) { s.mu.Lock(); s.t = t; s.mu.Unlock() }

func TestDailyFilesRollCompressAndExpire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "ultimate-2026-09-01.log")
	require.NoError(t, os.WriteFile(old, []byte("{}\n"), 0o640))
	oldPiece := filepath.Join(dir, "ultimate-2026-09-01-2026-09-01T10-00-00.000.log.gz")
	require.NoError(t, os.WriteFile(oldPiece, []byte("x"), 0o640))
	stranger := filepath.Join(dir, "other-2026-09-01.log")
	require.NoError(t, os.WriteFile(stranger, []byte("x"), 0o640))

	clock := &steppedNow{t: time.Date(2026, 11, 27, 23, 59, 0, 0, time.Local)}
	logs, err := OpenLogs(LogOptions{Dir: dir, Name: "ultimate", Now: clock.now, Rotation: Rotation{Compress: true}})
	require.NoError(t, err)
	log := logs.Logger("")
	log.Info("before midnight")
	assert.Equal(t, filepath.Join(dir, "ultimate-2026-11-27.log"), logs.Path())
	clock.set(time.Date(2026, 11, 28, 0, 0, 1, 0, time.Local))
	log.Info("after midnight")
	assert.Equal(t, filepath.Join(dir, "ultimate-2026-11-28.log"), logs.Path())
	require.NoError(t, logs.Close())

	assert.NoFileExists(t, old, "older than 30 days")
	assert.NoFileExists(t, oldPiece, "its rotated pieces too")
	assert.FileExists(t, stranger, "another command's files are left alone")
	assert.NoFileExists(t, filepath.Join(dir, "ultimate-2026-11-27.log"), "yesterday is compressed")
	f, err := os.Open(filepath.Join(dir, "ultimate-2026-11-27.log.gz"))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Contains(t, string(b), "before midnight")
	today, err := os.ReadFile(filepath.Join(dir, "ultimate-2026-11-28.log"))
	require.NoError(t, err)
	assert.Contains(t, string(today), "after midnight")
	assert.NotContains(t, string(today), "before midnight")
	st, err := os.Stat(filepath.Join(dir, "ultimate-2026-11-28.log"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(logFileMode), st.Mode().Perm())
}

func TestLogsReadsEarlierDaysWhenTodayIsShort(t *testing.T) {
	t.Parallel()
	c, set := testCommand(t, healthy("web"))
	require.NoError(t, os.MkdirAll(set.LogDir, 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(set.LogDir, "test-2020-01-01.log"), []byte(sample[0]+"\n"), 0o640))
	writeLog(t, set, sample[1])
	r := run(t, t.Context(), c, "logs", "-n", "2", "-json")
	assert.Equal(t, sample[0]+"\n"+sample[1]+"\n", r.stdout)
}
