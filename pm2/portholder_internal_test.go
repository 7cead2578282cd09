//go:build linux

package pm2

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseListeners(t *testing.T) {
	t.Parallel()
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
   3: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 444 1
   4: garbage
   5: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 0 0 555
`
	got := map[uint64]bool{}
	parseListeners([]byte(table), 3000, got)
	assert.Equal(t, map[uint64]bool{111: true, 444: true}, got, "LISTEN sockets on port 3000 (0x0BB8), IPv4 and IPv6")
}

// TestStopHolderProvesIdentity: a holder whose start time no longer
// matches (its pid was reused) is never signalled.
func TestStopHolderProvesIdentity(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, "-test.run=^TestRunnerHelperProcess$", "marker-xyz")
	cmd.Env = append(os.Environ(), "URAS_RUNNER_HELPER=listen")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "port ")))
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, out) }()

	holders, err := portHolders(port, map[int]bool{}, []string{"marker-xyz"})
	require.NoError(t, err)
	require.Len(t, holders, 1)
	h := holders[0]
	assert.Equal(t, cmd.Process.Pid, h.PID)
	assert.True(t, h.Ours)
	assert.False(t, h.InPM2)

	recycled := h
	recycled.start++
	require.NoError(t, stopHolder(context.Background(), recycled, port, []string{"marker-xyz"}))
	require.NoError(t, syscall.Kill(h.PID, 0), "a recycled pid is not signalled")

	err = stopHolder(context.Background(), h, port, []string{"something-else"})
	require.Error(t, err, "a holder that no longer matches is refused")
	require.NoError(t, syscall.Kill(h.PID, 0))

	require.NoError(t, stopHolder(context.Background(), h, port+1, []string{"marker-xyz"}))
	require.NoError(t, syscall.Kill(h.PID, 0), "a holder not on that port is not signalled")
}

func TestTitleNamesHome(t *testing.T) {
	t.Parallel()
	home := "/tmp/uras-ci-wvTJlE/uras-pm2-KYkDxZKcFo/h"
	for title, want := range map[string]bool{
		"PM2 v7.0.4: God Daemon (" + home + ")":                               true,
		"PM2 v7.0.4: God Daemon (" + home + ")       ":                        true, // padded
		"PM2 v7.0.4: God Daemon (/tmp/uras-ci-wvTJlE/uras-pm2-KYk":            true, // cut short
		"PM2 v7.0.4: God Daemon (/tmp/uras-ci-wvTJlE/uras-pm2-KYkDxZKcFo/h2)": false,
		"PM2 v7.0.4: God Daemon (/home/other/.pm2)":                           false,
		"PM2 v7.0.4: God Daemon (":                                            false,
		"node /srv/app/" + home:                                               false,
	} {
		assert.Equal(t, want, titleNamesHome(title, home), title)
	}
}
