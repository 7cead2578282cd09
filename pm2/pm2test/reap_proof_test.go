//go:build linux

package pm2test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Node cuts the daemon's title short, so a title can name a prefix of the
// home only. The pm2.pid of an orphaned directory, naming a pid that is
// now another directory's daemon whose title shows the same prefix, gets
// no signal: the daemon of home also has PM2_HOME=home in its
// environment (PM2's launchDaemon sets it).
func TestReapNeedsMoreThanATitleCutShort(t *testing.T) {
	t.Parallel()
	tmp := privateTemp(t)
	dir, err := os.MkdirTemp(tmp, dirPrefix)
	require.NoError(t, err)
	home := filepath.Join(dir, "h")
	require.NoError(t, os.Mkdir(home, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFile), []byte("1 1\n"), 0o600)) // owner gone

	// Another daemon, of a home sharing the prefix the title shows.
	title := "PM2 v7.0.4: God Daemon (" + home[:len(home)-4]
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cat, err := exec.LookPath("cat")
	require.NoError(t, err)
	other := &exec.Cmd{Path: cat, Args: []string{title}, Stdin: r, Env: []string{"PM2_HOME=" + home + "-other"}}
	require.NoError(t, other.Start())
	_ = r.Close()
	t.Cleanup(func() { _ = other.Process.Kill(); _ = w.Close(); _ = other.Wait() })
	pid := other.Process.Pid
	require.Eventually(t, func() bool { return strings.TrimSpace(cmdline(pid)) == title }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2PIDFile), []byte(strconv.Itoa(pid)), 0o600))

	assert.Equal(t, []string{dir}, reapOrphans(tmp))
	assert.NoError(t, syscall.Kill(pid, 0), "the other daemon lives")
	assert.True(t, alive(pid))
}
