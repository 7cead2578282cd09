package launch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPIDFileLockRelease(t *testing.T) {
	t.Parallel()
	p := pidFile{path: filepath.Join(t.TempDir(), "sub", "x.pid")}
	o, err := p.owner()
	require.NoError(t, err)
	assert.Equal(t, owner{}, o, "no file: no owner, not stale")

	l, err := p.lock()
	require.NoError(t, err)
	b, err := os.ReadFile(p.path)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(b), "the file holds just the pid")
	o, err = p.owner()
	require.NoError(t, err)
	assert.Equal(t, owner{PID: os.Getpid(), Running: true}, o)

	_, err = p.lock()
	require.ErrorIs(t, err, errAlreadyRunning)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))

	l.release()
	assert.NoFileExists(t, p.path)
	l, err = p.lock()
	require.NoError(t, err, "released: a new monitor may take it")
	l.release()
}

// Of many monitors taking the file at once, exactly one gets it.
func TestPIDFileConcurrentLock(t *testing.T) {
	t.Parallel()
	p := pidFile{path: filepath.Join(t.TempDir(), "x.pid")}
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var held []*pidLock
		refused := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := p.lock()
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					held = append(held, l)
				} else {
					assert.ErrorIs(t, err, errAlreadyRunning)
					refused++
				}
			}()
		}
		wg.Wait()
		require.Len(t, held, 1, "round %d", round)
		assert.Equal(t, 7, refused)
		held[0].release()
	}
}

// A stale PID file naming a live process that is not our monitor: status
// says not running, a new monitor takes the file, and the stranger is never
// signalled.
func TestStalePIDFileNamingAStranger(t *testing.T) {
	t.Parallel()
	stranger := exec.Command("sleep", "60")
	require.NoError(t, stranger.Start())
	t.Cleanup(func() { _ = stranger.Process.Kill(); _ = stranger.Wait() })
	pid := stranger.Process.Pid

	p := pidFile{path: filepath.Join(t.TempDir(), "x.pid")}
	require.NoError(t, os.WriteFile(p.path, []byte(strconv.Itoa(pid)+"\n"), 0o644))
	o, err := p.owner()
	require.NoError(t, err)
	assert.False(t, o.Running)
	assert.Equal(t, pid, o.PID)
	assert.Contains(t, o.Stale, "is another process (it does not hold the PID file)")

	proc, err := os.FindProcess(pid)
	require.NoError(t, err)
	assert.ErrorIs(t, p.signal(proc, syscall.SIGTERM), errNotOurs, "never signal a process not proved ours")

	c, set := testCommand(t, healthy("a"))
	require.NoError(t, os.MkdirAll(set.StateDir, 0o755))
	pf := filepath.Join(set.StateDir, "test.pid")
	require.NoError(t, os.WriteFile(pf, []byte(strconv.Itoa(pid)+"\n"), 0o644))
	r := run(t, t.Context(), c, "status")
	assert.Equal(t, ExitNotRunning, r.code, r.stderr)
	assert.Contains(t, r.stdout, "test: not running (stale PID file "+pf+": pid "+strconv.Itoa(pid)+" is another process")
	r = run(t, t.Context(), c, "stop")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "test: not running (removed stale PID file")
	assert.NoFileExists(t, pf)
	assert.NoError(t, stranger.Process.Signal(syscall.Signal(0)), "the stranger lives")
	st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	require.NoError(t, err)
	assert.NotContains(t, string(st), ") Z", "and was not killed")

	// A new monitor takes a file that names the stranger.
	require.NoError(t, os.WriteFile(p.path, []byte(strconv.Itoa(pid)+"\n"), 0o644))
	l, err := p.lock()
	require.NoError(t, err)
	l.release()
}

func TestStalePIDFiles(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	require.NoError(t, dead.Run()) // a pid that has exited and been reaped
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.pid")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, tc := range []struct{ name, content, stale string }{
		{"dead", strconv.Itoa(dead.Process.Pid) + "\n", "is not running"},
		{"garbled", "not-a-pid", `garbled content "not-a-pid"`},
		{"negative", "-5", "garbled"},
		{"huge", "99999999999", "garbled"},
		{"empty", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := pidFile{path: filepath.Join(t.TempDir(), "x.pid")}
			require.NoError(t, os.WriteFile(p.path, []byte(tc.content), 0o644))
			o, err := p.owner()
			require.NoError(t, err)
			assert.False(t, o.Running)
			assert.Contains(t, o.Stale, tc.stale)
			l, err := p.lock()
			require.NoError(t, err, "a stale file is taken over")
			l.release()
		})
	}
	t.Run("fifo", func(t *testing.T) {
		t.Parallel()
		done := make(chan owner, 1)
		go func() { o, _ := pidFile{path: fifo}.owner(); done <- o }()
		select {
		case o := <-done:
			assert.Contains(t, o.Stale, "not a regular file")
		case <-time.After(10 * time.Second):
			t.Fatal("reading a FIFO as a PID file blocked")
		}
		_, err := pidFile{path: fifo}.lock()
		assert.ErrorContains(t, err, "not a regular file")
	})
}

// FuzzParsePID: any content is a pid in range or an error; never a panic.
func FuzzParsePID(f *testing.F) {
	for _, s := range []string{"123\n", "", "0", "-1", " 42 ", "4194304", "4194305", "+7", "1e3", "0x10", "١٢٣", "12\n34"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, err := parsePID(b)
		if err != nil {
			require.Zero(t, pid)
			require.Contains(t, err.Error(), "garbled content")
			return
		}
		require.Greater(t, pid, 0)
		require.LessOrEqual(t, pid, maxPID)
	})
}

// A stale PID file naming a stranger that happens to have the file open
// (a `tail -f` of it, say) but holds no lock on it: the stranger is not
// our monitor and is never signalled.
func TestStalePIDFileNamingAStrangerThatHasItOpen(t *testing.T) {
	t.Parallel()
	p := pidFile{path: filepath.Join(t.TempDir(), "x.pid")}
	require.NoError(t, os.WriteFile(p.path, nil, 0o644))
	in, err := os.Open(p.path)
	require.NoError(t, err)
	defer in.Close()
	stranger := exec.Command("sleep", "60")
	stranger.Stdin = in // the stranger has the PID file open, unlocked
	require.NoError(t, stranger.Start())
	t.Cleanup(func() { _ = stranger.Process.Kill(); _ = stranger.Wait() })
	pid := stranger.Process.Pid
	require.NoError(t, os.WriteFile(p.path, []byte(strconv.Itoa(pid)+"\n"), 0o644))

	o, err := p.owner()
	require.NoError(t, err)
	assert.False(t, o.Running, "a process that merely has the file open is not the monitor")
	assert.Contains(t, o.Stale, "has the PID file open but does not hold the lock")
	proc, err := os.FindProcess(pid)
	require.NoError(t, err)
	assert.ErrorIs(t, p.signal(proc, syscall.SIGTERM), errNotOurs)
	assert.NoError(t, stranger.Process.Signal(syscall.Signal(0)), "the stranger lives")
}
