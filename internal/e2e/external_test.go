package e2e

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

// externalMain is a launcher written outside this module: the public
// launcher package and the core, one CheckerFunc target.
const externalMain = `package main

import (
	"context"
	"os"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

func main() {
	os.Exit(launch.Main(launch.Command[struct{}]{
		Name: "mine",
		Load: func(string) (struct{}, launch.Settings, error) {
			return struct{}{}, launch.Settings{LogDir: "logs", StateDir: "state"}, nil
		},
		Build: func(ctx context.Context, _ struct{}, b launch.Build) (*launch.System, error) {
			root := redundancy.New(redundancy.WithLogger(b.Logger("")))
			err := root.Add(redundancy.Target{Name: "mine", Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
				return redundancy.NewReport("fine")
			})})
			return &launch.System{Root: root}, err
		},
	}))
}
`

// A custom launcher compiles in another module (a replace to this
// checkout, no network) and runs: nothing it needs is internal.
func TestCustomLauncherBuildsOutsideTheModule(t *testing.T) {
	t.Parallel()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir := t.TempDir()
	write(t, filepath.Join(dir, "main.go"), externalMain)
	write(t, filepath.Join(dir, "go.mod"), "module example.com/mine\n\ngo 1.26\n\nrequire github.com/uras-dev/uras v0.0.0\n\nreplace github.com/uras-dev/uras => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goCmd := func(args ...string) string {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	goCmd("build", "-o", "mine", ".")
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "mine"), "health-check")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "mine — overall HEALTHY")
	deps := goCmd("list", "-deps", ".")
	assert.NotContains(t, deps, "github.com/uras-dev/uras/internal/cli")
	assert.NotContains(t, "\n"+deps, "\ntesting\n", "a launcher without the demo links no testing package")
}
