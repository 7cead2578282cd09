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

	// dump.pm2 cut short (a full disk): it held apps, so the home is
	// watched, and the check says the dump is unreadable.
	truncated := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(truncated, pm2.DumpFile), []byte(`[{"name":"web","pm_exec_pa`), 0o600))
	s = pm2.InspectHome(ctx, truncated)
	assert.True(t, s.Present(), "an unreadable dump is something to watch")
	rep := pm2.NewChecker(pm2test.NewFakeClient(), pm2.Config{Home: truncated, MinFreeBytes: -1, LogMaxBytes: -1}).Check(ctx)
	assert.Contains(t, problems(rep), "dump.pm2 pm2.dump-empty", rep.Summary)

	withPID := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(withPID, pm2.PIDFile), []byte("12345"), 0o600))
	assert.True(t, pm2.InspectHome(ctx, withPID).PIDFile)

	d := pm2test.StartDaemon(t)
	s = pm2.InspectHome(ctx, d.Home)
	assert.True(t, s.Listening)
	assert.True(t, s.Socket)
	assert.True(t, s.Present())
}

// A daemon that runs nothing, with no app guarded and dump.pm2 unreadable,
// is not saved over: the guarded save says why and the finding stays.
func TestGuardedSaveOfNothingIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, pm2.DumpFile), []byte(`[{"name":"web"`), 0o600))
	fake := pm2test.NewFakeClient()
	fake.SetHome(home)
	cfg := pm2.Config{Home: home, MinFreeBytes: -1, LogMaxBytes: -1, SaveSettle: -1}
	actions, err := pm2.NewRecoverer(fake, cfg).Plan(ctx, pm2.NewChecker(fake, cfg).Check(ctx))
	require.NoError(t, err)
	require.Equal(t, []string{"pm2.save dump.pm2"}, verbs(actions))
	err = actions[0].Do(ctx)
	require.ErrorIs(t, err, pm2.ErrSaveRefused)
	assert.Contains(t, err.Error(), "nothing to save")
	b, err := os.ReadFile(filepath.Join(home, pm2.DumpFile))
	require.NoError(t, err)
	assert.Equal(t, `[{"name":"web"`, string(b), "the unreadable dump is left as it was")
}
