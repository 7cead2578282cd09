package netlify_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// times returns f hitting n calls.
func times(f redundancytest.Fault, n int) redundancytest.Fault {
	f.Times = n
	return f
}

// t0 is the tests' reference time: a whole second, so X-RateLimit-Reset
// (whole seconds) lands exactly.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// recClock is a clock whose After fires at once, moving the time forward by
// the wait and recording it: a client's waits are observed, never slept.
type recClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newRecClock(t time.Time) *recClock { return &recClock{now: t} }

func (c *recClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *recClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *recClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// stepClock advances by step on every Now: a probe measuring start and end
// sees exactly step of latency.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

// writeFile writes content to dir/rel (creating folders) with mtime mt.
func writeFile(t *testing.T, dir, rel, content string, mt time.Time) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(p, mt, mt))
	return p
}

// project makes a project with a functions directory of:
// hello.mts, sync-background/index.js, _shared/util.js, gofn/main.go,
// types.d.ts, README.md; all modified at mt. It returns the functions
// directory and the manifest path.
func project(t *testing.T, mt time.Time) (fnDir, manifest string) {
	t.Helper()
	root := t.TempDir()
	fnDir = filepath.Join(root, "netlify", "functions")
	writeFile(t, fnDir, "hello.mts", "export default async () => new Response('hi')", mt)
	writeFile(t, fnDir, "sync-background/index.js", "exports.handler = async () => ({statusCode: 202})", mt)
	writeFile(t, fnDir, "sync-background/lib.js", "module.exports = {}", mt)
	writeFile(t, fnDir, "_shared/util.js", "module.exports = {}", mt)
	writeFile(t, fnDir, "gofn/main.go", "package main\nfunc main() {}\n", mt)
	writeFile(t, fnDir, "types.d.ts", "export {}", mt)
	writeFile(t, fnDir, "README.md", "# functions", mt)
	return fnDir, filepath.Join(root, ".netlify", "functions", "manifest.json")
}

// timeNowPlusHour is a manifest stamp safely after files written now.
func timeNowPlusHour() time.Time { return time.Now().Add(time.Hour) }
