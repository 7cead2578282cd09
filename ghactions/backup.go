package ghactions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// Backup store errors.
var (
	// ErrNotBackedUp is returned by BackupStore.Get for a file the store has
	// no copy of.
	ErrNotBackedUp = errors.New("no known-good copy")
	// ErrBackupCorrupt is returned by BackupStore.Get when a copy no longer
	// matches the SHA-256 sum in the manifest.
	ErrBackupCorrupt = errors.New("backup copy does not match its manifest sum")
)

// manifestName is the manifest's file name inside the store folder.
const manifestName = "manifest.json"

// Size caps of what the store reads: a manifest, and one workflow file
// (GitHub's workflow files are small; a larger one is not a workflow).
const (
	maxManifestSize = 8 << 20
	MaxWorkflowFile = 4 << 20
)

// BackupStore keeps the last known-good copy of each workflow file: a
// folder holding the copies under files/ and a manifest.json of their
// SHA-256 sums. Every write is atomic (copy first, then manifest), so a
// crash leaves the old copy or the new, never a mix. It is safe for
// concurrent use within one process.
type BackupStore struct {
	dir string
	mu  sync.Mutex
}

// Manifest lists the store's copies.
type Manifest struct {
	Version int                      `json:"version"`
	Files   map[string]ManifestEntry `json:"files"`
}

// ManifestEntry describes one copy.
type ManifestEntry struct {
	SHA256 string    `json:"sha256"`
	Size   int       `json:"size"`
	Saved  time.Time `json:"saved"`
}

// OpenBackupStore opens (creating if needed) the store in dir. A manifest
// that cannot be read is an error naming it.
func OpenBackupStore(dir string) (*BackupStore, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("ghactions: backup store folder is empty")
	}
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o700); err != nil {
		return nil, fmt.Errorf("ghactions: open backup store: %w", err)
	}
	b := &BackupStore{dir: dir}
	if _, err := b.Manifest(); err != nil {
		return nil, err
	}
	return b, nil
}

// Dir returns the store's folder.
func (b *BackupStore) Dir() string { return b.dir }

// Manifest returns the current manifest.
func (b *BackupStore) Manifest() (Manifest, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readManifest()
}

func (b *BackupStore) readManifest() (Manifest, error) {
	m := Manifest{Version: 1, Files: map[string]ManifestEntry{}}
	p := filepath.Join(b.dir, manifestName)
	data, err := fsutil.ReadFile(p, maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("ghactions: read backup manifest: %w", err)
	}
	var got Manifest
	if err := json.Unmarshal(data, &got); err != nil {
		return m, fmt.Errorf("ghactions: backup manifest %s is not valid JSON: %w", p, err)
	}
	if got.Version != 1 {
		return m, fmt.Errorf("ghactions: backup manifest %s: version %d is not 1", p, got.Version)
	}
	for name, e := range got.Files {
		if err := checkName(name); err != nil {
			return m, fmt.Errorf("ghactions: backup manifest %s: %w", p, err)
		}
		if _, err := hex.DecodeString(e.SHA256); err != nil || len(e.SHA256) != 64 || strings.ToLower(e.SHA256) != e.SHA256 {
			return m, fmt.Errorf("ghactions: backup manifest %s: entry %q has no valid sha256", p, name)
		}
		if e.Size < 0 || e.Size > MaxWorkflowFile {
			return m, fmt.Errorf("ghactions: backup manifest %s: entry %q has size %d, outside [0, %d]", p, name, e.Size, MaxWorkflowFile)
		}
		m.Files[name] = e
	}
	return m, nil
}

// Names returns the names of the files the store has copies of, sorted.
func (b *BackupStore) Names() ([]string, error) {
	m, err := b.Manifest()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Sum returns the SHA-256 (hex) of the copy of name, or "" if none.
func (b *BackupStore) Sum(name string) (string, error) {
	m, err := b.Manifest()
	if err != nil {
		return "", err
	}
	return m.Files[name].SHA256, nil
}

// Get returns the known-good copy of name, checked against its sum.
func (b *BackupStore) Get(name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, err := b.readManifest()
	if err != nil {
		return nil, err
	}
	e, ok := m.Files[name]
	if !ok {
		return nil, fmt.Errorf("ghactions: backup of %s: %w", name, ErrNotBackedUp)
	}
	data, err := fsutil.ReadFile(filepath.Join(b.dir, "files", name), MaxWorkflowFile)
	if err != nil {
		return nil, fmt.Errorf("ghactions: backup of %s: %w", name, err)
	}
	if sum := sha256Hex(data); sum != e.SHA256 {
		return nil, fmt.Errorf("ghactions: backup of %s: %w (manifest %s, copy %s)", name, ErrBackupCorrupt, e.SHA256[:12], sum[:12])
	}
	return data, nil
}

// Put records data as the known-good copy of name.
func (b *BackupStore) Put(name string, data []byte, now time.Time) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(data) > MaxWorkflowFile {
		return fmt.Errorf("ghactions: back up %s: %d bytes, more than %d", name, len(data), MaxWorkflowFile)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, err := b.readManifest()
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(b.dir, "files", name), data, 0o600); err != nil {
		return fmt.Errorf("ghactions: back up %s: %w", name, err)
	}
	m.Files[name] = ManifestEntry{SHA256: sha256Hex(data), Size: len(data), Saved: now.UTC()}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ghactions: encode backup manifest: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(b.dir, manifestName), append(out, '\n'), 0o600); err != nil {
		return fmt.Errorf("ghactions: write backup manifest: %w", err)
	}
	return nil
}

// checkName accepts a plain workflow file name: no folders, no "..", no
// control characters, not too long.
func checkName(name string) error {
	if name == "" || len(name) > 255 || name != filepath.Base(name) || strings.ContainsAny(name, "/\\\x00") ||
		strings.HasPrefix(name, ".") || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("ghactions: %q is not a plain workflow file name", name)
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
