package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPIDFileAcquireRelease(t *testing.T) {
	t.Parallel()
	p := PIDFile{Path: filepath.Join(t.TempDir(), "sub", "x.pid")}
	release, err := p.Acquire()
	require.NoError(t, err)
	pid, err := p.Read()
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)
	got, stale := p.Running()
	assert.Equal(t, os.Getpid(), got)
	assert.False(t, stale)
	release()
	_, err = os.Stat(p.Path)
	assert.True(t, os.IsNotExist(err))
}

func TestPIDFileRefusesLiveProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := PIDFile{Path: filepath.Join(t.TempDir(), "x.pid")}
	require.NoError(t, os.WriteFile(p.Path, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644))
	_, err := p.Acquire()
	require.ErrorIs(t, err, ErrAlreadyRunning)
	assert.Contains(t, err.Error(), strconv.Itoa(cmd.Process.Pid))
}

func TestPIDFileReplacesStale(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run()) // a pid that has exited and been reaped
	for name, content := range map[string]string{
		"dead":    strconv.Itoa(cmd.Process.Pid) + "\n",
		"garbled": "not-a-pid",
		"empty":   "",
	} {
		t.Run(name, func(t *testing.T) {
			p := PIDFile{Path: filepath.Join(t.TempDir(), "x.pid")}
			require.NoError(t, os.WriteFile(p.Path, []byte(content), 0o644))
			pid, stale := p.Running()
			assert.Zero(t, pid)
			assert.True(t, stale)
			release, err := p.Acquire()
			require.NoError(t, err)
			defer release()
			got, err := p.Read()
			require.NoError(t, err)
			assert.Equal(t, os.Getpid(), got)
		})
	}
}

func TestPIDFileMissing(t *testing.T) {
	t.Parallel()
	p := PIDFile{Path: filepath.Join(t.TempDir(), "none.pid")}
	pid, stale := p.Running()
	assert.Zero(t, pid)
	assert.False(t, stale)
}

func TestAliveZombie(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	// Until Wait reaps it, the exited child is a zombie: not alive.
	require.Eventually(t, func() bool { return !Alive(pid) }, 10e9, 10e6)
	require.NoError(t, cmd.Wait())
	assert.False(t, Alive(pid))
	assert.True(t, Alive(os.Getpid()))
}
