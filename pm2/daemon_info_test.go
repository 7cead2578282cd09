package pm2

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pm2.pid that is a FIFO or a device (a corrupt or hostile PM2 home) is
// never read: no hang, no endless read; the daemon's pid is just unknown.
func TestDaemonInfoNeverReadsAFIFOOrDevice(t *testing.T) {
	t.Parallel()
	fifoHome := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(fifoHome, PIDFile), 0o600))
	devHome := t.TempDir()
	if _, err := os.Stat("/dev/zero"); err == nil {
		require.NoError(t, os.Symlink("/dev/zero", filepath.Join(devHome, PIDFile)))
	}
	for name, home := range map[string]string{"fifo": fifoHome, "device": devHome} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			done := make(chan DaemonInfo, 1)
			go func() { done <- daemonInfo(home) }()
			select {
			case info := <-done:
				assert.Zero(t, info.PID)
			case <-time.After(10 * time.Second):
				t.Fatal("daemonInfo blocked on pm2.pid")
			}
		})
	}
}
