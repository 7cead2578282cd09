package pm2_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

func TestReadDumpDefinitions(t *testing.T) {
	t.Parallel()
	// A dump written by PM2 7.0.4 (pm2 save) for web (fork, args), api (2
	// cluster instances) and worker (node args, cwd); the environment was
	// replaced by SECRET.
	d := pm2.ReadDump(filepath.Join("testdata", "dump", "pm2-7.0.4.json"))
	require.NoError(t, d.Err)
	assert.Equal(t, []string{"web", "api", "worker", "api"}, d.Names)
	yes := true
	assert.Equal(t, []pm2.AppDefinition{
		{Name: "web", Namespace: "default", Script: "/srv/app/up.js", Cwd: "/srv/app", Args: []string{"--port", "3000"},
			Interpreter: "node", InterpreterArgs: []string{}, ExecMode: pm2.ExecFork, Instances: 1, Autorestart: &yes,
			OutFile: "/srv/app/.pm2/logs/web-out.log", ErrorFile: "/srv/app/.pm2/logs/web-error.log", MergeLogs: true},
		{Name: "api", Namespace: "default", Script: "/srv/app/up.js", Cwd: "/srv/app", Interpreter: "node", InterpreterArgs: []string{},
			ExecMode: pm2.ExecCluster, Instances: 2, Autorestart: &yes,
			OutFile: "/srv/app/.pm2/logs/api-out.log", ErrorFile: "/srv/app/.pm2/logs/api-error.log"},
		{Name: "worker", Namespace: "default", Script: "/srv/app/up.js", Cwd: "/tmp", Interpreter: "node",
			InterpreterArgs: []string{"--max-old-space-size=100"}, ExecMode: pm2.ExecFork, Instances: 1, Autorestart: &yes,
			OutFile: "/srv/app/.pm2/logs/worker-out.log", ErrorFile: "/srv/app/.pm2/logs/worker-error.log", MergeLogs: true},
	}, d.Apps)

	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t", "the environment is never decoded")
	assert.NotContains(t, fmt.Sprintf("%+v", d), "s3cr3t")
}

func TestReadDumpOddValues(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), pm2.DumpFile)
	// PM2 may hold args as one string, numbers as strings or unit strings,
	// flags as strings; none of it makes the dump unreadable.
	require.NoError(t, os.WriteFile(path, []byte(`[
		{"name":"a","pm_exec_path":"/a.js","args":"--x 1","node_args":null,"max_memory_restart":"300M",
		 "min_uptime":"5000","max_restarts":"x","autorestart":"false","merge_logs":"true","cron_restart":false},
		null, {"name":""}, {"name":"b","instances":4}
	]`), 0o600))
	d := pm2.ReadDump(path)
	require.NoError(t, d.Err)
	assert.Equal(t, []string{"a", "b"}, d.Names)
	no := false
	assert.Equal(t, pm2.AppDefinition{Name: "a", Script: "/a.js", Args: []string{"--x", "1"}, Instances: 1,
		Autorestart: &no, MinUptimeMS: 5000, MergeLogs: true}, d.Apps[0])
	assert.Equal(t, 1, d.Apps[1].Instances, "a dump has one entry per instance; its instances field is not the count")

	for _, bad := range []string{`{"name":"a"}`, `[{"name":1}]`, `[{"name":"a","args":{}}]`} {
		require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
		d := pm2.ReadDump(path)
		require.ErrorIs(t, d.Err, pm2.ErrBadOutput, bad)
		assert.False(t, d.Usable())
	}
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o700))
	d = pm2.ReadDump(path)
	require.Error(t, d.Err, "a directory is no dump")
	assert.True(t, d.Exists)
}
