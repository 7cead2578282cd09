package ghactions_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/internal/fsutil"
)

// FuzzBackupManifest opens a store over an arbitrary manifest.json (and a
// copy file of the same arbitrary bytes): it never panics; it refuses what
// it cannot trust with an error naming the manifest; what it accepts names
// only plain files with well-formed sums; a copy comes back only if it
// matches its sum; and a Put over an accepted manifest keeps every other
// entry and round-trips.
func FuzzBackupManifest(f *testing.F) {
	sum := sha256.Sum256([]byte("on: push\n"))
	good := hex.EncodeToString(sum[:])
	f.Add([]byte(`{"version":1,"files":{"ci.yml":{"sha256":"` + good + `","size":9,"saved":"2024-03-01T12:00:00Z"}}}`))
	f.Add([]byte(`{"version":1,"files":{"../../etc/passwd":{"sha256":"` + good + `","size":9}}}`))
	f.Add([]byte(`{"version":1,"files":{"ci.yml":{"sha256":"` + strings.ToUpper(good) + `","size":9}}}`))
	f.Add([]byte(`{"version":2,"files":{}}`))
	f.Add([]byte(`{"version":1,"files":{"ci.yml":{"sha256":"zz","size":-1}}}`))
	f.Add([]byte(`{"version":1,"files":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("\x00\xff{"))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "files"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "files", "ci.yml"), []byte("on: push\n"), 0o600))
		store, err := ghactions.OpenBackupStore(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ghactions: ") || !strings.Contains(err.Error(), "manifest") {
				t.Fatalf("refusal does not name the manifest: %v", err)
			}
			return
		}
		names, err := store.Names()
		require.NoError(t, err)
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") || filepath.Base(n) != n {
				t.Fatalf("accepted a name that is not a plain file: %q", n)
			}
			s, err := store.Sum(n)
			require.NoError(t, err)
			if _, err := hex.DecodeString(s); err != nil || len(s) != 64 {
				t.Fatalf("accepted a malformed sum %q for %q", s, n)
			}
			data, err := store.Get(n)
			if err == nil {
				got := sha256.Sum256(data)
				if hex.EncodeToString(got[:]) != s {
					t.Fatalf("Get(%q) returned data that does not match its sum", n)
				}
			}
		}
		content := []byte("on: workflow_dispatch\n")
		require.NoError(t, store.Put("new.yml", content, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)))
		after, err := store.Names()
		require.NoError(t, err)
		for _, n := range names {
			assert.Contains(t, after, n, "Put lost an entry")
		}
		back, err := store.Get("new.yml")
		require.NoError(t, err)
		require.True(t, bytes.Equal(content, back))
		_, err = ghactions.OpenBackupStore(dir)
		require.NoError(t, err, "the store reopens what it wrote")
	})
}

// The store reads with a cap and never blocks: a manifest that is a FIFO
// or too large is an error, at once.
func TestBackupStoreRefusesFIFOsAndHugeManifests(t *testing.T) {
	t.Parallel()
	t.Run("fifo", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := syscall.Mkfifo(filepath.Join(dir, "manifest.json"), 0o600); err != nil {
			t.Skipf("no FIFOs here: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := ghactions.OpenBackupStore(dir)
			done <- err
		}()
		select {
		case err := <-done:
			require.ErrorIs(t, err, fsutil.ErrNotRegular)
		case <-time.After(10 * time.Second):
			t.Fatal("opening a store over a FIFO manifest blocked")
		}
	})
	t.Run("huge", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, "manifest.json"))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(64<<20)) // sparse: no disk used
		require.NoError(t, f.Close())
		_, err = ghactions.OpenBackupStore(dir)
		require.ErrorIs(t, err, fsutil.ErrTooLarge)
	})
}
