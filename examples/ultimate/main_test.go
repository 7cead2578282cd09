package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root returns the module's root directory.
func root(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// goCmd runs the go command in dir without the network (the module cache
// is warm) and returns its output. Only a module of the test's own may
// have its go.mod and go.sum updated (modOK): never this checkout's.
func goCmd(t *testing.T, dir string, modOK bool, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	flags := "GOFLAGS=-mod=readonly"
	if modOK {
		flags = "GOFLAGS=-mod=mod"
	}
	cmd.Env = append(os.Environ(), flags, "GOPROXY=off", "GOWORK=off")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// This main, copied alone into a module of its own (a replace to this
// checkout), builds and runs: it needs nothing from internal/.
func TestCopiedMainBuildsInAnotherModule(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a module")
	}
	src := root(t)
	dir := t.TempDir()
	main, err := os.ReadFile(filepath.Join(src, "examples", "ultimate", "main.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), main, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/mylauncher\n\ngo 1.26\n\n"+
		"require github.com/uras-dev/uras v0.0.0\n\nreplace github.com/uras-dev/uras => "+src+"\n"), 0o644))
	sum, err := os.ReadFile(filepath.Join(src, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	goCmd(t, dir, true, "build", "-o", "mylauncher", ".")
	deps := goCmd(t, dir, true, "list", "-deps", ".")
	assert.NotContains(t, deps, "github.com/uras-dev/uras/internal/demo")
	assert.NotContains(t, "\n"+deps, "\ntesting\n")

	// It runs: the embedded default in an empty directory watches nothing
	// here, and says why.
	work := t.TempDir()
	cmd := exec.Command(filepath.Join(dir, "mylauncher"), "health-check")
	cmd.Dir = work
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + work, "PM2_HOME=" + filepath.Join(work, "no-pm2")}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "note: pm2: not present")
	assert.Contains(t, string(out), "note: github: not present")
	assert.Contains(t, string(out), "note: netlify: not present")
}

// The production binaries link no test code: no testing, no fake (a
// package of the module ending in "test"), no demo. The demo verb comes
// with -tags demo, and the check sees it then.
func TestExamplesLinkNoTestCode(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("lists packages")
	}
	bad := func(deps string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(deps), "\n") {
			std, path, _ := strings.Cut(line, " ")
			if path == "testing" || strings.HasPrefix(path, "testing/") || path == "net/http/httptest" ||
				(std == "false" && (strings.HasSuffix(path, "test") || strings.Contains(path, "/internal/demo"))) {
				out = append(out, path)
			}
		}
		return out
	}
	format := []string{"list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}"}
	deps := goCmd(t, root(t), false, append(format, "./examples/...")...)
	assert.Contains(t, deps, "false github.com/uras-dev/uras/pm2\n", "the listing is what it seems")
	assert.Empty(t, bad(deps), "production binaries")

	withDemo := goCmd(t, root(t), false, "list", "-deps", "-tags", "demo", "-f", "{{.Standard}} {{.ImportPath}}", "./examples/...")
	assert.Contains(t, bad(withDemo), "github.com/uras-dev/uras/internal/demo")
	assert.Contains(t, bad(withDemo), "testing", "the check sees test code when it is there")
}
