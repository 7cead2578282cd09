//go:build unix

package fsutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFileLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	require.NoError(t, os.WriteFile(small, []byte("hello"), 0o600))
	got, err := ReadFile(small, 5)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))

	_, err = ReadFile(small, 4)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, "5 bytes, limit 4")

	_, err = ReadFile(dir, 1<<20)
	assert.ErrorIs(t, err, ErrNotRegular, "a directory")

	_, err = ReadFile(filepath.Join(dir, "missing"), 10)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadFileRefusesDevicesAndFIFOs(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := ReadFile("/dev/zero", 1<<20)
		assert.ErrorIs(t, err, ErrNotRegular, "/dev/zero is never read")
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(fifo, 10); done <- err }()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrNotRegular, "a FIFO with no writer must not block")
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile blocked on a FIFO")
	}
}
