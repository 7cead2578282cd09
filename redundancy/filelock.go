package redundancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultLockPoll is how often FileLock.Campaign tries a lock held elsewhere.
const DefaultLockPoll = 250 * time.Millisecond

// lockFileLimit bounds what is read of a lock file.
const lockFileLimit = 4096

// FileLock is an Elector for the monitors of one host: the leader holds an
// exclusive flock(2) on one file (in the state directory) for as long as
// its term lasts. The kernel drops the lock when the process dies, so a
// crashed leader's successor takes over within one poll. The file records
// the leader's id and a token that grows with each term, for Leader and
// fencing. Flock is not reliable on network file systems: for monitors on
// several hosts use the etcd elector (package redundancy/etcd). On
// platforms without flock, Campaign fails.
type FileLock struct {
	path  string
	id    string
	clock Clock
	poll  time.Duration

	mu   sync.Mutex
	held *fileTerm
}

var _ Elector = (*FileLock)(nil)

// FileLockOption tunes a FileLock.
type FileLockOption func(*FileLock)

// WithLockClock sets the clock Campaign waits on between tries (default RealClock).
func WithLockClock(c Clock) FileLockOption {
	return func(l *FileLock) {
		if c != nil {
			l.clock = c
		}
	}
}

// WithLockPoll sets how often Campaign tries a lock held elsewhere
// (default DefaultLockPoll).
func WithLockPoll(d time.Duration) FileLockOption {
	return func(l *FileLock) {
		if d > 0 {
			l.poll = d
		}
	}
}

// NewFileLock returns an elector whose replicas lock path (created, mode
// 0600, with its directory) and are named id. It fails for an empty path
// or an id that is empty, padded or longer than 256 bytes.
func NewFileLock(path, id string, opts ...FileLockOption) (*FileLock, error) {
	if path == "" {
		return nil, errors.New("redundancy: file lock: empty path")
	}
	if err := checkReplicaID(id); err != nil {
		return nil, fmt.Errorf("redundancy: file lock: %w", err)
	}
	l := &FileLock{path: path, id: id, clock: RealClock{}, poll: DefaultLockPoll}
	for _, opt := range opts {
		opt(l)
	}
	return l, nil
}

// checkReplicaID refuses an id no Leader could report faithfully.
func checkReplicaID(id string) error {
	switch {
	case id == "":
		return errors.New("empty replica id")
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("replica id %q has leading or trailing space", id)
	case len(id) > 256:
		return fmt.Errorf("replica id of %d bytes (at most 256)", len(id))
	}
	return nil
}

// ID returns the replica's id.
func (l *FileLock) ID() string { return l.id }

// Path returns the lock file's path.
func (l *FileLock) Path() string { return l.path }

// lockRecord is the content of the lock file.
type lockRecord struct {
	ID    string    `json:"id,omitempty"` // "" when the last leader resigned
	Token int64     `json:"token"`
	Since time.Time `json:"since,omitzero"`
}

// Campaign takes the lock, trying every poll interval until ctx ends.
func (l *FileLock) Campaign(ctx context.Context) (Leadership, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return nil, fmt.Errorf("redundancy: file lock: %w", err)
	}
	for {
		term, err := l.try()
		if err != nil {
			return nil, err
		}
		if term != nil {
			return term, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.clock.After(l.poll):
		}
	}
}

// try takes the lock if it is free: a term, or nil when it is held.
func (l *FileLock) try() (*fileTerm, error) {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|lockOpenFlags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redundancy: file lock: %w", err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("redundancy: file lock: %s is not a regular file", l.path)
	}
	if err := flock(f, true); err != nil {
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, nil
		}
		return nil, fmt.Errorf("redundancy: file lock: %s: %w", l.path, err)
	}
	if !sameFile(f, l.path) { // removed or replaced between open and lock
		_ = f.Close()
		return nil, nil
	}
	prev, _ := readLockRecord(f)
	rec := lockRecord{ID: l.id, Token: prev.Token + 1, Since: l.clock.Now().UTC()}
	if err := writeLockRecord(f, rec); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("redundancy: file lock: %s: %w", l.path, err)
	}
	t := &fileTerm{lock: l, f: f, token: rec.Token, done: make(chan struct{})}
	l.mu.Lock()
	l.held = t
	l.mu.Unlock()
	return t, nil
}

// Leader reads the lock file: its leader when some process holds the
// lock, none otherwise.
func (l *FileLock) Leader(context.Context) (Leader, error) {
	f, err := os.OpenFile(l.path, os.O_RDONLY|lockOpenFlags, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Leader{}, nil
	}
	if err != nil {
		return Leader{}, fmt.Errorf("redundancy: file lock: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return Leader{}, fmt.Errorf("redundancy: file lock: %s is not a regular file", l.path)
	}
	rec, err := readLockRecord(f)
	if err != nil {
		return Leader{}, fmt.Errorf("redundancy: file lock: %s: %w", l.path, err)
	}
	l.mu.Lock()
	mine := l.held != nil
	l.mu.Unlock()
	if !mine {
		// A shared lock is granted only while nobody holds the exclusive one.
		if err := flock(f, false); err == nil {
			funlock(f)
			return Leader{}, nil
		}
	}
	if rec.ID == "" {
		return Leader{}, nil
	}
	return Leader{ID: rec.ID, Token: rec.Token}, nil
}

// Store returns a Store over inner whose writes succeed only while this
// FileLock leads: give it to WithElection (Election.Store) and to the
// providers of shared targets. Reads pass through.
func (l *FileLock) Store(inner Store) Store { return &lockedStore{lock: l, inner: inner} }

type lockedStore struct {
	lock  *FileLock
	inner Store
}

func (s *lockedStore) Load(ctx context.Context, key string) ([]byte, error) {
	return s.inner.Load(ctx, key)
}

// Save writes when the term ctx carries (or else the term held) is this
// lock's and still held; otherwise its error wraps ErrNotLeader.
func (s *lockedStore) Save(ctx context.Context, key string, data []byte) error {
	t, _ := LeadershipFromContext(ctx)
	ft, ok := t.(*fileTerm)
	if !ok || ft.lock != s.lock {
		s.lock.mu.Lock()
		ft = s.lock.held
		s.lock.mu.Unlock()
	}
	if ft == nil {
		return fmt.Errorf("redundancy: file lock store: %q: %w", key, ErrNotLeader)
	}
	// The write happens under the term's mutex: Resign waits for it.
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if err := ft.verifyLocked(); err != nil {
		return fmt.Errorf("redundancy: file lock store: %q: %w", key, err)
	}
	return s.inner.Save(ctx, key, data)
}

// fileTerm is a held FileLock.
type fileTerm struct {
	lock  *FileLock
	token int64
	done  chan struct{}

	mu sync.Mutex
	f  *os.File // nil once resigned
}

func (t *fileTerm) Done() <-chan struct{} { return t.done }
func (t *fileTerm) Token() int64          { return t.token }

// Verify checks that the term was not resigned and that the lock file is
// still the one locked, holding this term's token.
func (t *fileTerm) Verify(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.verifyLocked()
}

func (t *fileTerm) verifyLocked() error {
	if t.f == nil {
		return fmt.Errorf("%w: the file lock was resigned", ErrNotLeader)
	}
	if !sameFile(t.f, t.lock.path) {
		return fmt.Errorf("%w: the lock file %s was removed or replaced", ErrNotLeader, t.lock.path)
	}
	rec, err := readLockRecord(t.f)
	if err != nil || rec.Token != t.token || rec.ID != t.lock.id {
		return fmt.Errorf("%w: the lock file %s no longer records this term", ErrNotLeader, t.lock.path)
	}
	return nil
}

// Resign clears the leader from the file (keeping the token, so that the
// next term's is higher) and releases the lock.
func (t *fileTerm) Resign(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	var err error
	if t.verifyLocked() == nil {
		err = writeLockRecord(t.f, lockRecord{Token: t.token})
	}
	cerr := t.f.Close() // releases the flock
	t.f = nil
	t.lock.mu.Lock()
	if t.lock.held == t {
		t.lock.held = nil
	}
	t.lock.mu.Unlock()
	close(t.done)
	if err = errors.Join(err, cerr); err != nil {
		return fmt.Errorf("redundancy: file lock: resign: %w", err)
	}
	return nil
}

func readLockRecord(f *os.File) (lockRecord, error) {
	var rec lockRecord
	b, err := io.ReadAll(io.NewSectionReader(f, 0, lockFileLimit+1))
	if err != nil {
		return rec, err
	}
	if len(b) > lockFileLimit {
		return rec, fmt.Errorf("lock file over %d bytes", lockFileLimit)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return rec, nil
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return lockRecord{}, fmt.Errorf("garbled lock file: %w", err)
	}
	if rec.Token < 0 {
		return lockRecord{}, fmt.Errorf("garbled lock file: negative token %d", rec.Token)
	}
	return rec, nil
}

func writeLockRecord(f *os.File, rec lockRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// sameFile reports whether path still names the file f has open.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
