package pm2_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// logTree makes a PM2 home, an allowed log directory and a directory
// outside both, each with a 2 KiB log, and a symbolic link in the home
// that points at the outside log.
func logTree(t *testing.T) (home, allowed, outside, link string) {
	t.Helper()
	root := t.TempDir()
	home, allowed, outside = filepath.Join(root, "home"), filepath.Join(root, "var-log-app"), filepath.Join(root, "etc")
	for _, d := range []string{home, allowed, outside} {
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "web-out.log"), []byte(strings.Repeat("x", 2048)), 0o644))
	}
	link = filepath.Join(home, "linked-out.log")
	require.NoError(t, os.Symlink(filepath.Join(outside, "web-out.log"), link))
	return home, allowed, outside, link
}

func TestCheckerLogOutsideHomeIsNotForRotation(t *testing.T) {
	t.Parallel()
	home, allowed, outside, link := logTree(t)
	logOf := func(d string) string { return filepath.Join(d, "web-out.log") }
	fake := pm2test.NewFakeClient(
		pm2.Process{Name: "a", OutLogPath: logOf(home)},
		pm2.Process{Name: "b", OutLogPath: logOf(allowed)},
		pm2.Process{Name: "c", OutLogPath: logOf(outside)},
		pm2.Process{Name: "d", OutLogPath: link},
	)
	cfg := pm2.Config{Home: home, LogMaxBytes: 1024, DaemonLogMaxBytes: -1, MinFreeBytes: -1}
	r := pm2.NewChecker(fake, cfg).Check(context.Background())
	assert.ElementsMatch(t, []string{
		logOf(home) + " pm2.log-large",
		logOf(allowed) + " pm2.log-outside-dirs",
		logOf(outside) + " pm2.log-outside-dirs",
		link + " pm2.log-outside-dirs",
		"dump.pm2 pm2.dump-missing",
	}, problems(r))
	for _, f := range r.Findings {
		if f.Problem == pm2.ProblemLogOutsideDirs {
			assert.Contains(t, f.Detail, "not rotated")
		}
	}

	cfg.LogDirs = []string{allowed}
	r = pm2.NewChecker(fake, cfg).Check(context.Background())
	assert.Contains(t, problems(r), logOf(allowed)+" pm2.log-large")
	assert.Contains(t, problems(r), logOf(outside)+" pm2.log-outside-dirs")

	// Without a home, only the allow-list counts.
	cfg.Home = ""
	r = pm2.NewChecker(fake, cfg).Check(context.Background())
	assert.Contains(t, problems(r), logOf(home)+" pm2.log-outside-dirs")
}

func TestRotateLogWithinRefusesOutside(t *testing.T) {
	t.Parallel()
	home, _, outside, link := logTree(t)
	for _, path := range []string{filepath.Join(outside, "web-out.log"), link, filepath.Join(home, "..", "etc", "web-out.log")} {
		_, err := pm2.RotateLog(path, pm2.RotateOptions{Within: []string{home}})
		require.ErrorIs(t, err, pm2.ErrLogOutsideDirs, path)
		assert.True(t, strings.HasPrefix(err.Error(), "rotate "), err.Error())
	}
	fi, err := os.Stat(filepath.Join(outside, "web-out.log"))
	require.NoError(t, err)
	assert.EqualValues(t, 2048, fi.Size(), "the outside file is untouched")
	archives, err := pm2.Archives(filepath.Join(outside, "web-out.log"))
	require.NoError(t, err)
	assert.Empty(t, archives)

	inside := filepath.Join(home, "web-out.log")
	archive, err := pm2.RotateLog(inside, pm2.RotateOptions{Within: []string{home}})
	require.NoError(t, err)
	assert.FileExists(t, archive)
	fi, err = os.Stat(inside)
	require.NoError(t, err)
	assert.Zero(t, fi.Size())
}
