package pm2_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// nodeCounter is a Runner standing in for node: it counts the runs and
// prints what its func makes of the file.
type nodeCounter struct {
	runs  atomic.Int32
	print func(file string) pm2.Result
}

func (n *nodeCounter) Run(_ context.Context, c pm2.Command) (pm2.Result, error) {
	n.runs.Add(1)
	if n.print == nil {
		return pm2.Result{}, exec.ErrNotFound
	}
	return n.print(c.Args[len(c.Args)-1]), nil
}

// echoApps answers with the file's own content, which the tests keep as
// the JSON node would print.
func echoApps(file string) pm2.Result {
	b, err := os.ReadFile(file)
	if err != nil {
		return pm2.Result{ExitCode: 1, Stderr: []byte("Error: " + err.Error())}
	}
	return pm2.Result{Stdout: b}
}

// age sets the file's times an hour back, out of the racy window.
func age(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))
}

func ecoChecker(file string, r pm2.Runner, apps ...string) *pm2.Checker {
	var procs []pm2.Process
	var want []pm2.App
	for _, a := range apps {
		procs = append(procs, pm2.Process{Name: a, Status: pm2.StatusOnline})
		want = append(want, pm2.App{Name: a})
	}
	return pm2.NewChecker(pm2test.NewFakeClient(procs...), pm2.Config{Ecosystem: file, Apps: want, Runner: r,
		LogMaxBytes: -1, MinFreeBytes: -1, DaemonLogMaxBytes: -1})
}

func TestCheckerLoadsJSEcosystemOnlyWhenItChanges(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ecosystem.config.js")
	require.NoError(t, os.WriteFile(file, []byte(`{"apps":[{"name":"web"}]}`), 0o644))
	age(t, file)
	node := &nodeCounter{print: echoApps}
	c := ecoChecker(file, node, "web", "api")

	for range 10 {
		assert.Equal(t, []string{file + " pm2.ecosystem-app-missing"}, problems(c.Check(context.Background())))
	}
	assert.EqualValues(t, 1, node.runs.Load(), "node ran once for ten checks of an unchanged file")

	// Same size, same modification time: only the change time and the
	// content tell.
	require.NoError(t, os.WriteFile(file, []byte(`{"apps":[{"name":"api"}]}`), 0o644))
	age(t, file)
	assert.Equal(t, []string{file + " pm2.ecosystem-app-missing"}, problems(c.Check(context.Background())))
	assert.EqualValues(t, 2, node.runs.Load(), "a rewrite of the same size and mtime is seen")
	require.Contains(t, c.Check(context.Background()).Findings[0].Detail, `"web"`)
	assert.EqualValues(t, 2, node.runs.Load())

	require.NoError(t, os.WriteFile(file, []byte(`{"apps":[{"name":"api"},{"name":"web"}]}`), 0o644))
	assert.Empty(t, problems(c.Check(context.Background())))
	assert.EqualValues(t, 3, node.runs.Load())
}

// TestCheckerEcosystemRecentFileIsHashed: a file written just now cannot be
// trusted by its stat alone; its content is hashed on each check, and node
// runs only when the content differs.
func TestCheckerEcosystemRecentFileIsHashed(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ecosystem.config.js")
	require.NoError(t, os.WriteFile(file, []byte(`{"apps":[{"name":"web"}]}`), 0o644))
	node := &nodeCounter{print: echoApps}
	c := ecoChecker(file, node, "web")
	for range 5 {
		assert.Empty(t, problems(c.Check(context.Background())))
	}
	assert.EqualValues(t, 1, node.runs.Load())
}

func TestCheckerEcosystemCachesWhatDoesNotLoad(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ecosystem.config.js")
	require.NoError(t, os.WriteFile(file, []byte(`syntax error`), 0o644))
	age(t, file)
	broken := &nodeCounter{print: func(string) pm2.Result {
		return pm2.Result{ExitCode: 1, Stderr: []byte("SyntaxError: Unexpected identifier")}
	}}
	c := ecoChecker(file, broken, "web")
	for range 3 {
		assert.Equal(t, []string{file + " pm2.ecosystem-invalid"}, problems(c.Check(context.Background())))
	}
	assert.EqualValues(t, 1, broken.runs.Load(), "a file that does not load keeps not loading until it changes")

	noNode := &nodeCounter{} // exec.ErrNotFound: tried again every time
	c = ecoChecker(file, noNode, "web")
	for range 3 {
		assert.Equal(t, []string{file + " pm2.ecosystem-invalid"}, problems(c.Check(context.Background())))
	}
	assert.EqualValues(t, 3, noNode.runs.Load())

	require.NoError(t, os.Remove(file))
	assert.Equal(t, []string{file + " pm2.ecosystem-missing"}, problems(ecoChecker(file, broken, "web").Check(context.Background())))
}

func TestCheckerEcosystemYAMLChange(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ecosystem.yaml")
	require.NoError(t, os.WriteFile(file, []byte("apps:\n  - name: web\n"), 0o644))
	age(t, file)
	c := ecoChecker(file, nil, "web")
	assert.Empty(t, problems(c.Check(context.Background())))
	require.NoError(t, os.WriteFile(file, []byte("apps:\n  - name: api\n"), 0o644))
	age(t, file)
	assert.Equal(t, []string{file + " pm2.ecosystem-app-missing"}, problems(c.Check(context.Background())))
}
