package pm2_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// PM2's resurrect deletes a dump file it cannot parse (dump.pm2, then
// dump.pm2.bak). A dump truncated by a full disk is still what the user
// had: before uras resurrects, it sets each unreadable dump file aside,
// and brings the daemon back with nothing lost.
func TestResurrectKeepsUnreadableDumps(t *testing.T) {
	t.Parallel()
	d := pm2test.StartDaemon(t, pm2test.App{Name: "web", Script: pm2test.AppUp})
	d.WaitStatus(t, "web", pm2.StatusOnline, waitLong)
	d.Run(t, "save")
	d.Run(t, "kill")
	truncated := map[string]string{pm2.DumpFile: `[{"name":"web","pm_exec_path":"/x`, pm2.DumpBackup: `[{"name":"we`}
	for f, body := range truncated {
		require.NoError(t, os.WriteFile(filepath.Join(d.Home, f), []byte(body), 0o600))
	}

	g := newGuardTarget(t, d, d.Client, pm2.Config{})
	st := g.tick(t)
	assert.Contains(t, verbsOf(st.History), "pm2.resurrect daemon", st.Report.Summary)
	_, err := d.Client.Ping(t.Context())
	require.NoError(t, err, "the daemon is back")
	for f, body := range truncated {
		kept, err := filepath.Glob(filepath.Join(d.Home, f+pm2.DumpUnreadableSuffix+"*"))
		require.NoError(t, err)
		require.Len(t, kept, 1, "%s is kept", f)
		b, err := os.ReadFile(kept[0])
		require.NoError(t, err)
		assert.Equal(t, body, string(b))
	}
}
