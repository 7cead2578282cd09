package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/config"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]config.Size{
		"4096": 4096, "10MB": 10_000_000, "10mb": 10_000_000, "10MiB": 10 << 20, "10M": 10 << 20,
		"512KiB": 512 << 10, "512k": 512 << 10, "1.5G": 3 << 29, "2GB": 2e9, "1 TiB": 1 << 40, "7B": 7, "off": config.SizeOff,
	} {
		got, err := config.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MB", "10 parsecs", "-1MB", "1e3", "10MBs", "99999999999TB", "1..2M"} {
		_, err := config.ParseSize(in)
		assert.Error(t, err, in)
	}
}

func TestPM2Keys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "uras.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
pm2:
  node: /opt/node/bin/node
  cli_timeout: 45s
  rpc_timeout: 3s
  log_dirs: [/var/log/app]
  limits:
    log_max: 10MB
    daemon_log_max: 50MiB
    min_free: "off"
    max_memory: 1G
    daemon_max_memory: 512MiB
    log_keep: 7
    log_keep_for: 168h
    cpu_checks: 5
  apps:
    - name: web
      max_memory: 300MB
      probe: {port: 3000, url: "http://127.0.0.1:3000/health", expect_status: 204, timeout: 1s, grace: 20s, own_holders: ["node /srv/web/server.js"]}
    - {name: worker, max_memory_mb: 64}
`), 0o644))
	cfg, err := config.Load(path, env())
	require.NoError(t, err)
	p := cfg.PM2
	assert.Equal(t, "/opt/node/bin/node", p.Node)
	assert.Equal(t, 45*time.Second, time.Duration(p.CLITimeout))
	assert.Equal(t, 3*time.Second, time.Duration(p.RPCTimeout))
	assert.Equal(t, []string{"/var/log/app"}, p.LogDirs)
	assert.EqualValues(t, 10_000_000, p.Limits.LogMax.Bytes(p.Limits.LogMaxMB))
	assert.EqualValues(t, 50<<20, p.Limits.DaemonLogMax.Bytes(0))
	assert.EqualValues(t, -1, p.Limits.MinFree.Bytes(p.Limits.MinFreeMB), "off: not checked")
	assert.EqualValues(t, 1<<30, p.Limits.MaxMemory.Bytes(0))
	assert.EqualValues(t, 512<<20, p.Limits.DaemonMaxMemory.Bytes(0))
	assert.Equal(t, 7, p.Limits.LogKeep)
	assert.Equal(t, 168*time.Hour, time.Duration(p.Limits.LogKeepFor))
	assert.Equal(t, 5, p.Limits.CPUChecks)
	assert.EqualValues(t, 300_000_000, p.Apps[0].MaxMemory.Bytes(int64(p.Apps[0].MaxMemoryMB)))
	assert.EqualValues(t, 64<<20, p.Apps[1].MaxMemory.Bytes(int64(p.Apps[1].MaxMemoryMB)), "the older _mb key still works")
	probe := p.Apps[0].Probe.Probe()
	require.NotNil(t, probe)
	assert.Equal(t, 3000, probe.Port)
	assert.Equal(t, "http://127.0.0.1:3000/health", probe.URL)
	assert.Equal(t, 204, probe.ExpectStatus)
	assert.Equal(t, time.Second, probe.Timeout)
	assert.Equal(t, 20*time.Second, probe.Grace)
	assert.Equal(t, []string{"node /srv/web/server.js"}, probe.OwnHolders)
	assert.Nil(t, p.Apps[1].Probe.Probe())
	assert.Negative(t, config.Size(0).Bytes(-1), "a negative *_mb still turns the check off, as before")
}

func TestPM2KeysBad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad size", "pm2:\n  limits:\n    log_max: 10 parsecs\n", `:3: pm2.limits.log_max: bad size "10 parsecs"`},
		{"negative size", "pm2:\n  limits:\n    daemon_log_max: -5MB\n", `:3: pm2.limits.daemon_log_max: bad size "-5MB"`},
		{"both units", "pm2:\n  limits:\n    log_max_mb: 5\n    log_max: 10MB\n", ":4: pm2.limits.log_max: give log_max or log_max_mb, not both"},
		{"off memory", "pm2:\n  limits:\n    daemon_max_memory: \"off\"\n", `:3: pm2.limits.daemon_max_memory: "off" is not allowed here`},
		{"negative keep", "pm2:\n  limits:\n    log_keep: -2\n", ":3: pm2.limits.log_keep: may not be negative"},
		{"negative cpu checks", "pm2:\n  limits:\n    cpu_checks: -1\n", ":3: pm2.limits.cpu_checks: may not be negative"},
		{"bad timeout", "pm2:\n  cli_timeout: 30\n", `:2: pm2.cli_timeout: bad duration "30"`},
		{"empty log dir", "pm2:\n  log_dirs: [\"\"]\n", ":2: pm2.log_dirs[0]: empty directory"},
		{"app both units", "pm2:\n  apps:\n    - name: web\n      max_memory_mb: 1\n      max_memory: 2MB\n", ":5: pm2.apps[0].max_memory: give max_memory or max_memory_mb, not both"},
		{"probe empty", "pm2:\n  apps:\n    - name: web\n      probe: {grace: 5s}\n", ":4: pm2.apps[0].probe: needs a port or a URL"},
		{"probe port", "pm2:\n  apps:\n    - name: web\n      probe:\n        port: 99999\n", ":4: pm2.apps[0].probe: port 99999 out of range"},
		{"probe url", "pm2:\n  apps:\n    - name: web\n      probe: {url: \"localhost:3000\"}\n", ":4: pm2.apps[0].probe: URL must be an absolute http or https URL"},
		{"probe unknown key", "pm2:\n  apps:\n    - name: web\n      probe: {port: 80, prot: 81}\n", ":4: pm2.apps[0].probe.prot: unknown key in pm2.apps[0].probe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o644))
			_, err := config.Load(path, env())
			require.Error(t, err)
			assert.ErrorIs(t, err, config.ErrInvalid)
			assert.Contains(t, err.Error(), "config "+path+tc.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
