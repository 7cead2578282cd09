package redundancy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

func TestStores(t *testing.T) {
	t.Parallel()
	fs, err := redundancy.NewFileStore(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	for name, s := range map[string]redundancy.Store{"file": fs, "memory": redundancy.NewMemoryStore()} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			_, err := s.Load(ctx, "pm2/default/known-good")
			require.ErrorIs(t, err, redundancy.ErrNoRecord)
			require.NoError(t, s.Save(ctx, "pm2/default/known-good", []byte(`["web"]`)))
			got, err := s.Load(ctx, "pm2/default/known-good")
			require.NoError(t, err)
			assert.Equal(t, `["web"]`, string(got))
			require.NoError(t, s.Save(ctx, "pm2/default/known-good", []byte(`["web","worker"]`)))
			got, _ = s.Load(ctx, "pm2/default/known-good")
			assert.Equal(t, `["web","worker"]`, string(got))
			for _, bad := range []string{"", "../etc/passwd", "a//b", "a/./b", "a/b/", "/abs", "sp ace"} {
				assert.ErrorIs(t, s.Save(ctx, bad, nil), redundancy.ErrInvalidKey, bad)
				_, err := s.Load(ctx, bad)
				assert.ErrorIs(t, err, redundancy.ErrInvalidKey, bad)
			}
		})
	}
}

func TestFileStoreFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := redundancy.NewFileStore(dir)
	require.NoError(t, err)
	require.NoError(t, s.Save(context.Background(), "netlify/site-1/known-good", []byte("{}")))
	st, err := os.Stat(filepath.Join(dir, "netlify", "site-1", "known-good.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	big := make([]byte, redundancy.MaxRecordSize+1)
	assert.Error(t, s.Save(context.Background(), "big", big))
}
