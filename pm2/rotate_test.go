package pm2

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var rotT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(b)
}

func TestRotateLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "web-out.log")
	require.NoError(t, os.WriteFile(log, []byte("one\ntwo\n"), 0o640))

	archive, err := RotateLog(log, RotateOptions{Now: rotT0})
	require.NoError(t, err)
	assert.Equal(t, log+".20260304T050607.000Z.gz", archive)
	assert.Equal(t, "one\ntwo\n", gunzip(t, archive))
	fi, err := os.Stat(log)
	require.NoError(t, err, "the live file stays")
	assert.Zero(t, fi.Size())
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	// Same instant again: a distinct name.
	require.NoError(t, os.WriteFile(log, []byte("three\n"), 0o640))
	archive2, err := RotateLog(log, RotateOptions{Now: rotT0})
	require.NoError(t, err)
	assert.Equal(t, log+".20260304T050607.000Z-2.gz", archive2)
	assert.Equal(t, "three\n", gunzip(t, archive2))

	list, err := Archives(log)
	require.NoError(t, err)
	assert.Equal(t, []string{archive, archive2}, list)
}

func TestRotateLogPrunes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "web-out.log")
	other := filepath.Join(dir, "web-out.log.keep-me.gz") // not an archive name
	require.NoError(t, os.WriteFile(other, nil, 0o644))
	for i := range 5 {
		require.NoError(t, os.WriteFile(log, []byte(fmt.Sprintf("run %d\n", i)), 0o644))
		_, err := RotateLog(log, RotateOptions{Now: rotT0.Add(time.Duration(i) * 24 * time.Hour), Keep: 3, KeepFor: 30 * 24 * time.Hour})
		require.NoError(t, err)
	}
	list, err := Archives(log)
	require.NoError(t, err)
	require.Len(t, list, 3, "count limit")
	assert.Equal(t, "run 2\n", gunzip(t, list[0]))

	// Age limit: 40 days later only the new archive survives.
	require.NoError(t, os.WriteFile(log, []byte("late\n"), 0o644))
	_, err = RotateLog(log, RotateOptions{Now: rotT0.Add(40 * 24 * time.Hour)})
	require.NoError(t, err)
	list, err = Archives(log)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "late\n", gunzip(t, list[0]))
	assert.FileExists(t, other)
	assert.FileExists(t, log)
}

func TestRotateLogRefuses(t *testing.T) {
	t.Parallel()
	_, err := RotateLog(os.DevNull, RotateOptions{})
	assert.ErrorContains(t, err, "not a regular log file")
	_, err = RotateLog(filepath.Join(t.TempDir(), "nope.log"), RotateOptions{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = RotateLog(t.TempDir(), RotateOptions{})
	assert.Error(t, err)
}

// TestRotateLogConcurrentWriterLosesNothing rotates while a writer appends
// (as PM2 does, O_APPEND), with a Pause that holds the writer: every line
// ends up in exactly one of the archives or the live file.
func TestRotateLogConcurrentWriterLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "chatty-out.log")
	w, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer w.Close()

	var mu sync.Mutex // the writer holds it per line; Pause takes it
	const lines = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= lines; i++ {
			mu.Lock()
			_, _ = fmt.Fprintf(w, "line %d\n", i)
			mu.Unlock()
		}
	}()
	pause := func() (func(), error) { mu.Lock(); return mu.Unlock, nil }
	for i := 0; ; i++ {
		_, err := RotateLog(log, RotateOptions{Now: rotT0.Add(time.Duration(i) * time.Second), Keep: 1000, Pause: pause})
		require.NoError(t, err)
		select {
		case <-done:
		default:
			continue
		}
		break
	}
	var all strings.Builder
	list, err := Archives(log)
	require.NoError(t, err)
	for _, a := range list {
		all.WriteString(gunzip(t, a))
	}
	live, err := os.ReadFile(log)
	require.NoError(t, err)
	all.Write(live)
	got := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	require.Len(t, got, lines)
	for i, l := range got {
		require.Equal(t, fmt.Sprintf("line %d", i+1), l)
	}
}
