package launch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// slowTarget fails its check and recovers with an action that blocks
// until release is closed.
type slowTarget struct {
	started, release chan struct{}
	once             sync.Once
	finished         atomic.Bool
	runs             atomic.Int32
}

func newSlow() *slowTarget {
	return &slowTarget{started: make(chan struct{}), release: make(chan struct{})}
}

func (s *slowTarget) target() redundancy.Target {
	return redundancy.Target{
		Name: "slow",
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "app", Problem: "x.down", Status: redundancy.StatusUnhealthy})
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "x.restart", Subject: "app", Do: func(context.Context) error {
				s.runs.Add(1)
				s.once.Do(func() { close(s.started) })
				<-s.release
				s.finished.Store(true)
				return nil
			}}}, nil
		}),
		Policy: redundancy.Policy{Interval: time.Second, FailureThreshold: 1, Retry: -1},
	}
}

// withRoot makes c's Build hand its root orchestrator to *root.
func withRoot(c Command[struct{}], root **redundancy.Orchestrator) Command[struct{}] {
	c.Build = wrapBuild(c.Build, func(s *System) { *root = s.Root })
	return c
}

// The first signal stops new work and the monitor waits for the action in
// flight: it returns only after the action finished and its result was
// recorded, then exits 0 and removes its PID and status files.
func TestMonitorWaitsForInFlightWork(t *testing.T) {
	t.Parallel()
	{
		slow := newSlow()
		c, set := testCommand(t, slow.target())
		var root *redundancy.Orchestrator
		c = withRoot(c, &root)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result, 1)
		go func() { done <- run(t, ctx, c, "monitor", "-detached") }()
		<-slow.started
		pidPath := filepath.Join(set.StateDir, "test.pid")
		assert.FileExists(t, pidPath)
		cancel()
		logPath := todayLog(set)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(logPath)
			return strings.Contains(string(b), "waiting for in-flight work to finish")
		}, 10*time.Second, 5*time.Millisecond, "the monitor saw the signal")
		select {
		case r := <-done:
			t.Fatalf("the monitor returned (%d) with an action in flight: %s", r.code, r.stderr)
		case <-time.After(300 * time.Millisecond): // a monitor that does not wait returns at once
		}
		o, err := pidFile{path: pidPath}.owner()
		require.NoError(t, err)
		assert.True(t, o.Running, "the PID file is held while the monitor waits")

		close(slow.release)
		r := <-done
		assert.Equal(t, ExitOK, r.code, r.stderr)
		assert.True(t, slow.finished.Load())
		assert.Equal(t, int32(1), slow.runs.Load(), "no new action after the signal")
		ts, ok := root.Target("slow")
		require.True(t, ok)
		require.NotEmpty(t, ts.History, "the action's result is recorded")
		assert.True(t, ts.History[len(ts.History)-1].OK())
		assert.NoFileExists(t, pidPath)
		assert.NoFileExists(t, filepath.Join(set.StateDir, "test.status.json"))
		logs, err := os.ReadFile(todayLog(set))
		require.NoError(t, err)
		assert.Contains(t, string(logs), "waiting for in-flight work to finish")
		assert.Contains(t, string(logs), `"msg":"monitor stopped"`)
	}
}

// A second signal cuts the wait short: the monitor exits 1 at once with
// the action still blocked, and still releases its PID file.
func TestMonitorSecondSignalStopsNow(t *testing.T) {
	t.Parallel()
	{
		slow := newSlow()
		c, set := testCommand(t, slow.target())
		var root *redundancy.Orchestrator
		c = withRoot(c, &root)
		t.Cleanup(func() {
			// In a process the exit ends the abandoned work; here, let it
			// finish before the directory goes.
			close(slow.release)
			stopped, cancel := context.WithCancel(context.Background())
			cancel()
			require.Eventually(t, func() bool { return root.Run(stopped) == nil }, 10*time.Second, 5*time.Millisecond)
		})
		force := make(chan struct{})
		ctx, cancel := context.WithCancel(context.WithValue(t.Context(), forceKey{}, (<-chan struct{})(force)))
		done := make(chan result, 1)
		go func() { done <- run(t, ctx, c, "monitor", "-detached") }()
		<-slow.started
		cancel()
		logPath := todayLog(set)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(logPath)
			return strings.Contains(string(b), "waiting for in-flight work to finish")
		}, 10*time.Second, 5*time.Millisecond, "the monitor saw the signal")
		close(force)
		var r result
		select {
		case r = <-done:
		case <-time.After(forcedDrain + endpointShutdown + time.Second):
			t.Fatal("a second signal did not stop the monitor in time")
		}
		assert.Equal(t, ExitFailure, r.code, r.stderr)
		assert.False(t, slow.finished.Load())
		assert.NoFileExists(t, filepath.Join(set.StateDir, "test.pid"))
		logs, err := os.ReadFile(todayLog(set))
		require.NoError(t, err)
		assert.Contains(t, string(logs), "second signal: stopping now")
	}
}

// The monitor keeps a status file (0600, redacted) while it runs, and
// status reads it.
func TestMonitorStatusFile(t *testing.T) {
	t.Parallel()
	{
		c, set := testCommand(t, leaky("leaky"), healthy("fine"))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result, 1)
		go func() { done <- run(t, ctx, c, "monitor", "-detached") }()
		path := filepath.Join(set.StateDir, "test.status.json")
		var b []byte
		require.Eventually(t, func() bool {
			var err error
			b, err = os.ReadFile(path)
			return err == nil && strings.Contains(string(b), `"last_check"`) && !strings.Contains(string(b), `"last_check": "0001`)
		}, 10*time.Second, 5*time.Millisecond)
		assert.NotContains(t, string(b), secret)
		var st Status
		require.NoError(t, json.Unmarshal(b, &st))
		assert.Equal(t, os.Getpid(), st.PID)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(statusFileMode), fi.Mode().Perm())

		r := run(t, t.Context(), c, "status")
		assert.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "test: running (pid")
		assert.NotContains(t, r.stdout, secret)
		r = run(t, t.Context(), c, "monitor", "-detached")
		assert.Equal(t, ExitAlreadyRunning, r.code)
		assert.Contains(t, r.stderr, "already running (pid")

		cancel()
		assert.Equal(t, ExitOK, (<-done).code)
	}
}

// A one-shot verb gives System.Close a bounded time (queued alerts to a
// receiver that hangs do not hold it up).
func TestOneShotCloseIsBounded(t *testing.T) {
	t.Parallel()
	{
		c, _ := testCommand(t, healthy("a"))
		deadlines := make(chan time.Duration, 1)
		start := time.Now()
		c.Build = wrapBuild(c.Build, func(s *System) {
			s.Close = func(ctx context.Context) error {
				d, _ := ctx.Deadline()
				deadlines <- d.Sub(start)
				<-t.Context().Done() // a Close that ignores its context
				return nil
			}
		})
		r := run(t, t.Context(), c, "health-check")
		assert.Equal(t, ExitOK, r.code, r.stderr)
		took := time.Since(start)
		assert.LessOrEqual(t, took, oneShotDrain+time.Second, "health-check returned %s after it started", took)
		assert.InDelta(t, oneShotDrain.Seconds(), (<-deadlines).Seconds(), 0.5)
	}
}
