package pm2_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

func TestInspectHome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	empty := t.TempDir()
	assert.False(t, pm2.InspectHome(ctx, empty).Present(), "an empty home")
	assert.False(t, pm2.InspectHome(ctx, filepath.Join(empty, "none")).Present(), "no home at all")

	require.NoError(t, os.WriteFile(filepath.Join(empty, pm2.DumpFile), []byte("[]"), 0o600))
	assert.False(t, pm2.InspectHome(ctx, empty).Present(), "a dump of nothing")

	withDump := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(withDump, pm2.DumpFile), []byte(`[{"name":"web"}]`), 0o600))
	s := pm2.InspectHome(ctx, withDump)
	assert.True(t, s.Present())
	assert.True(t, s.Dump)
	assert.False(t, s.Listening)

	withPID := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(withPID, pm2.PIDFile), []byte("12345"), 0o600))
	assert.True(t, pm2.InspectHome(ctx, withPID).PIDFile)

	d := pm2test.StartDaemon(t)
	s = pm2.InspectHome(ctx, d.Home)
	assert.True(t, s.Listening)
	assert.True(t, s.Socket)
	assert.True(t, s.Present())
}
