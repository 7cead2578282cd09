package redundancy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/uras-dev/uras/internal/fsutil"
)

// Store keeps small records that must outlive the process and that
// providers own: the known-good PM2 process list, the Netlify deploys that
// passed their probes. Keys are slash-separated names of letters, digits,
// '.', '_' and '-' ("netlify/site-1/known-good"); no segment may be "." or
// "..". A Store is safe for concurrent use.
//
// FileStore (one file per key) and MemoryStore ship here; a store shared by
// several monitors implements the same two methods.
type Store interface {
	// Load returns the record saved under key, or an error wrapping
	// ErrNoRecord when there is none.
	Load(ctx context.Context, key string) ([]byte, error)
	// Save replaces the record under key, atomically.
	Save(ctx context.Context, key string, data []byte) error
}

// ErrNoRecord is wrapped by Store.Load's error for a key never saved.
var ErrNoRecord = errors.New("no record")

// ErrInvalidKey is wrapped by a Store's error for a key it refuses.
var ErrInvalidKey = errors.New("invalid store key")

// MaxRecordSize bounds one record of a FileStore (16 MiB): a larger file is
// refused on Load and on Save.
const MaxRecordSize = 16 << 20

var keySegment = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ValidateKey reports whether key is a key every Store accepts.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	for seg := range splitKey(key) {
		if seg == "." || seg == ".." || !keySegment.MatchString(seg) {
			return fmt.Errorf("%w: %q (segments are letters, digits, '.', '_' and '-', never \".\" or \"..\")", ErrInvalidKey, key)
		}
	}
	return nil
}

func splitKey(key string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i <= len(key); i++ {
			if i == len(key) || key[i] == '/' {
				if !yield(key[start:i]) {
					return
				}
				start = i + 1
			}
		}
	}
}

// FileStore is a Store with one file per key under a directory: key
// "a/b" is the file dir/a/b.json, written atomically with mode 0600.
type FileStore struct {
	dir string
	mu  sync.Mutex
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store under dir, creating it (mode 0700) if needed.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("redundancy: file store: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redundancy: file store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

func (s *FileStore) path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", fmt.Errorf("redundancy: file store: %w", err)
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)+".json"), nil
}

// Load reads key's file (at most MaxRecordSize bytes; never a FIFO or device).
func (s *FileStore) Load(ctx context.Context, key string) ([]byte, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := fsutil.ReadFile(p, MaxRecordSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("redundancy: file store: %q: %w", key, ErrNoRecord)
	}
	if err != nil {
		return nil, fmt.Errorf("redundancy: file store: %w", err)
	}
	return data, nil
}

// Save writes key's file atomically (temporary file, fsync, rename).
func (s *FileStore) Save(ctx context.Context, key string, data []byte) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if len(data) > MaxRecordSize {
		return fmt.Errorf("redundancy: file store: %q: %w: %d bytes, limit %d", key, fsutil.ErrTooLarge, len(data), MaxRecordSize)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("redundancy: file store: %w", err)
	}
	if err := fsutil.WriteFileAtomic(p, data, 0o600); err != nil {
		return fmt.Errorf("redundancy: file store: %w", err)
	}
	return nil
}

// MemoryStore is a Store in memory, for tests and for records that need
// not survive the process.
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string][]byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{recs: map[string][]byte{}} }

// Load returns a copy of key's record.
func (s *MemoryStore) Load(_ context.Context, key string) ([]byte, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("redundancy: memory store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.recs[key]
	if !ok {
		return nil, fmt.Errorf("redundancy: memory store: %q: %w", key, ErrNoRecord)
	}
	return slices.Clone(d), nil
}

// Save stores a copy of data under key.
func (s *MemoryStore) Save(_ context.Context, key string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("redundancy: memory store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[key] = slices.Clone(data)
	return nil
}
