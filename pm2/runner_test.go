package pm2

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runnerHelper returns a Command that runs this test binary as
// TestRunnerHelperProcess in mode (os/exec's helper-process pattern).
func runnerHelper(t *testing.T, mode string) Command {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	return Command{Path: self, Args: []string{"-test.run=^TestRunnerHelperProcess$"},
		Env: append(os.Environ(), "URAS_RUNNER_HELPER="+mode)}
}

func TestExecRunnerCapsEndlessOutput(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{"flood-stdout", "flood-stderr"} {
		t.Run(stream, func(t *testing.T) {
			t.Parallel()
			const limit = 1 << 20
			// Only the cap stops it: the context would allow a minute.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			res, err := ExecRunner{MaxOutput: limit}.Run(ctx, runnerHelper(t, stream))
			require.ErrorIs(t, err, ErrOutputTooLarge)
			assert.Contains(t, err.Error(), "1.0 MiB")
			assert.NoError(t, ctx.Err(), "stopped by the cap, not by the deadline")
			assert.Less(t, time.Since(start), 30*time.Second)
			assert.LessOrEqual(t, len(res.Stdout), limit)
			assert.LessOrEqual(t, len(res.Stderr), limit)
			if stream == "flood-stdout" {
				assert.Len(t, res.Stdout, limit)
			} else {
				assert.Len(t, res.Stderr, limit)
			}
		})
	}
}

func TestExecRunnerDefaultCap(t *testing.T) {
	t.Parallel()
	b := &cappedBuffer{limit: DefaultMaxOutput, full: func() {}}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 65 {
		n, err := b.Write(chunk)
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
	}
	assert.True(t, b.over())
	assert.Len(t, b.buf, DefaultMaxOutput)
}

// TestExecRunnerKillsGrandchildren: a program that started a child sharing
// its output is killed with that child when the deadline passes.
func TestExecRunnerKillsGrandchildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := ExecRunner{WaitDelay: 200 * time.Millisecond}.Run(ctx, runnerHelper(t, "grandchild"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	pid := grandchildPID(t, res.Stdout)
	require.Eventually(t, func() bool { return gone(pid) }, 10*time.Second, 10*time.Millisecond,
		"grandchild %d still running after the deadline", pid)
}

func TestExecRunnerLeavesNormalExitAlone(t *testing.T) {
	t.Parallel()
	res, err := ExecRunner{}.Run(context.Background(), runnerHelper(t, "exit7"))
	require.NoError(t, err)
	assert.Equal(t, 7, res.ExitCode)
	assert.Equal(t, "bye\n", string(res.Stdout))
}

func grandchildPID(t *testing.T, out []byte) int {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "grandchild "); ok {
			pid, err := strconv.Atoi(v)
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatalf("no grandchild pid in %q", out)
	return 0
}

// gone reports whether pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestRunnerHelperProcess(t *testing.T) {
	switch os.Getenv("URAS_RUNNER_HELPER") {
	case "":
		t.Skip("helper process for the ExecRunner tests")
	case "flood-stdout", "flood-stderr":
		w := os.Stdout
		if os.Getenv("URAS_RUNNER_HELPER") == "flood-stderr" {
			w = os.Stderr
		}
		line := bytes.Repeat([]byte("[{\"name\":\"web\"},"), 4096)
		for {
			if _, err := w.Write(line); err != nil {
				os.Exit(1)
			}
		}
	case "grandchild":
		self, _ := os.Executable()
		c := exec.Command(self, "-test.run=^TestRunnerHelperProcess$")
		c.Env = append(os.Environ(), "URAS_RUNNER_HELPER=hang")
		c.Stdout = os.Stdout // the grandchild holds the runner's pipe too
		if err := c.Start(); err != nil {
			os.Exit(2)
		}
		fmt.Printf("grandchild %d\n", c.Process.Pid)
		time.Sleep(time.Minute) // killed by the runner's context
		os.Exit(0)
	case "hang":
		time.Sleep(time.Minute)
		os.Exit(0)
	case "listen": // holds a TCP port until its stdin closes
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(2)
		}
		fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "exit7":
		fmt.Println("bye")
		os.Exit(7)
	}
}
