package pm2test_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2/pm2test"
)

func TestLookPM2Env(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "pm2")
	t.Setenv(pm2test.EnvPM2Bin, missing)
	_, err := pm2test.LookPM2()
	require.Error(t, err)
	assert.Contains(t, err.Error(), pm2test.EnvPM2Bin)

	require.NoError(t, os.WriteFile(missing, []byte("#!/bin/sh\n"), 0o755))
	got, err := pm2test.LookPM2()
	require.NoError(t, err)
	assert.Equal(t, missing, got)
}

func TestLookPM2ModuleRoot(t *testing.T) {
	t.Setenv(pm2test.EnvPM2Bin, "")
	t.Setenv("PATH", t.TempDir()) // no pm2 on PATH
	got, err := pm2test.LookPM2()
	if err != nil {
		// The module root has no .tools install: the error says where it looked.
		assert.Contains(t, err.Error(), filepath.Join(".tools", "node_modules", ".bin", "pm2"))
		return
	}
	assert.True(t, strings.HasSuffix(got, filepath.Join(".tools", "node_modules", ".bin", "pm2")), got)
}
