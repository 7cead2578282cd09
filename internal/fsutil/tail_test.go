package fsutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadTail(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o600))
	b, err := ReadTail(p, 4)
	require.NoError(t, err)
	assert.Equal(t, "6789", string(b))
	b, err = ReadTail(p, 100)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(b))
	_, err = ReadTail(t.TempDir(), 4)
	require.ErrorIs(t, err, ErrNotRegular)
	_, err = ReadTail(os.DevNull, 4)
	require.ErrorIs(t, err, ErrNotRegular)
}
