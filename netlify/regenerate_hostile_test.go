package netlify_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
)

// A manifest path that is a FIFO is never opened for reading (that hung
// the recovery for ever, deaf to SIGTERM) nor replaced: a clear error.
func TestRegenerateManifestRefusesAFIFO(t *testing.T) {
	t.Parallel()
	fnDir, mp := project(t, t0)
	require.NoError(t, os.MkdirAll(filepath.Dir(mp), 0o755))
	require.NoError(t, syscall.Mkfifo(mp, 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := netlify.RegenerateManifest(fnDir, mp, t0.Add(time.Hour))
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a regular file")
		assert.Contains(t, err.Error(), mp)
	case <-time.After(10 * time.Second):
		// Unblock the open so the goroutine can end.
		if w, err := os.OpenFile(mp, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = w.Close()
		}
		t.Fatal("RegenerateManifest blocked on a FIFO")
	}
	st, err := os.Lstat(mp)
	require.NoError(t, err)
	assert.Equal(t, os.ModeNamedPipe, st.Mode().Type(), "the FIFO is left alone")
	assert.NoFileExists(t, mp+".bak")
}

// A manifest over the size limit is never read into memory: it is kept,
// every byte, as .bak (renamed), and the new one is written.
func TestRegenerateManifestKeepsAHugeOneUnread(t *testing.T) {
	t.Parallel()
	fnDir, mp := project(t, t0)
	require.NoError(t, os.MkdirAll(filepath.Dir(mp), 0o755))
	f, err := os.Create(mp)
	require.NoError(t, err)
	const size = 9 << 20 // over the 8 MiB a manifest may be
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	_, err = netlify.RegenerateManifest(fnDir, mp, t0.Add(time.Hour))
	require.NoError(t, err)
	st, err := os.Stat(mp + ".bak")
	require.NoError(t, err)
	assert.EqualValues(t, size, st.Size(), "the previous file is kept whole")
	_, err = netlify.ReadManifest(mp)
	require.NoError(t, err)
}
