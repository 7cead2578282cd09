package pm2

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ecoPath(name string) string { return filepath.Join("testdata", "ecosystem", name) }

func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not on PATH")
		}
		t.Skip("node is not on PATH")
	}
}

func TestLoadEcosystem(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ecosystem.json", "ecosystem.yaml", "ecosystem.config.js", "ecosystem.cjs"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if filepath.Ext(name) != ".json" && filepath.Ext(name) != ".yaml" {
				needNode(t)
			}
			eco, err := LoadEcosystem(context.Background(), ecoPath(name), "node", nil)
			require.NoError(t, err)
			assert.Equal(t, []string{"web", "api"}, eco.Names())
			assert.Equal(t, "server.js", eco.Apps[0].Script)
			assert.NotContains(t, fmtAny(eco), fakeSecret)
		})
	}
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestLoadEcosystemErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	tests := []struct {
		name    string
		path    string
		is      error
		wantMsg string
	}{
		{"missing", filepath.Join(dir, "none.json"), fs.ErrNotExist, "ecosystem file"},
		{"extension", write("eco.toml", "x"), ErrEcosystem, `unknown extension ".toml"`},
		{"bad json", write("bad.json", `{"apps":[{"name":"w","env":{"T":"`+fakeSecret), ErrEcosystem, "syntax error"},
		{"no apps", write("noapps.json", `{"name":"w"}`), ErrEcosystem, "declares no apps"},
		{"nameless app", write("nameless.yaml", "apps:\n  - script: a.js\n"), ErrEcosystem, "app 0 has no name"},
		{"bad yaml", write("bad.yml", "apps: [\n"), ErrEcosystem, "bad.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadEcosystem(context.Background(), tt.path, "node", nil)
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), fakeSecret)
		})
	}
}

func TestLoadEcosystemJSErrors(t *testing.T) {
	t.Parallel()
	needNode(t)
	_, err := LoadEcosystem(context.Background(), ecoPath("broken.config.js"), "node", nil)
	require.ErrorIs(t, err, ErrEcosystem)
	assert.Contains(t, err.Error(), "SyntaxError")

	_, err = LoadEcosystem(context.Background(), ecoPath("ecosystem.config.js"), filepath.Join(t.TempDir(), "no-node"), nil)
	require.ErrorIs(t, err, ErrNotInstalled)
}

func TestLoadEcosystemJSUsesArgvAndTimeout(t *testing.T) {
	t.Parallel()
	var got Command
	r := RunnerFunc(func(ctx context.Context, c Command) (Result, error) {
		got = c
		_, hasDeadline := ctx.Deadline()
		assert.True(t, hasDeadline)
		return Result{Stdout: []byte(`{"apps":[{"name":"web","script":"s.js"}]}`)}, nil
	})
	eco, err := LoadEcosystem(context.Background(), ecoPath("ecosystem.config.js"), "/opt/node", r)
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, eco.Names())
	assert.Equal(t, "/opt/node", got.Path)
	require.Len(t, got.Args, 3)
	assert.Equal(t, "-e", got.Args[0])
	abs, _ := filepath.Abs(ecoPath("ecosystem.config.js"))
	assert.Equal(t, abs, got.Args[2])
}
