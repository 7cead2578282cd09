package pm2

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// racyWindow is how close to the moment it was read a file's modification
// time may be before a matching stat is no longer trusted: a write within
// the same timestamp tick keeps size and mtime (git's "racily clean").
const racyWindow = 2 * time.Second

// ecosystemCache keeps the last load of an ecosystem file, so that a check
// every second does not start node every second. It loads again only when
// the file changed: a stat that differs (size, modification and change
// time, inode), or, when the stat is too recent to trust, content whose
// SHA-256 differs. Loading a .js file runs it, and the modules it requires
// are not watched: a change in one of them is seen when the file itself
// changes (or the Checker is made anew).
//
// Results are kept when the load completed: the apps, or an error wrapping
// ErrEcosystem (a file that does not load keeps not loading until it
// changes). A missing file, a missing node, a timeout are tried again at
// the next check.
type ecosystemCache struct {
	mu    sync.Mutex
	key   fileKey
	sum   [sha256.Size]byte
	at    time.Time // when key was taken
	node  string
	eco   *Ecosystem
	err   error
	valid bool
	loads int // completed loads, for tests
}

// fileKey is what a stat says of a file's identity and content.
type fileKey struct {
	path         string
	size         int64
	mtime, ctime time.Time
	dev, ino     uint64
}

// load returns the apps of the ecosystem file at path, loading it with
// LoadEcosystem when it changed since the last load.
func (c *ecosystemCache) load(ctx context.Context, path, node string, runner Runner) (*Ecosystem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		c.valid = false
		return LoadEcosystem(ctx, path, node, runner)
	}
	key := keyOf(path, fi)
	now := time.Now()
	if c.valid && c.node == node && key == c.key && c.at.Sub(key.mtime) > racyWindow {
		return c.eco, c.err
	}
	content, rerr := fsutil.ReadFile(path, MaxEcosystemBytes)
	if rerr != nil {
		c.valid = false
		return LoadEcosystem(ctx, path, node, runner)
	}
	sum := sha256.Sum256(content)
	if c.valid && c.node == node && c.key.path == path && sum == c.sum {
		c.key, c.at = key, now
		return c.eco, c.err
	}
	var eco *Ecosystem
	switch ext := ecosystemExt(path); ext {
	case ".json", ".yaml", ".yml":
		eco, err = parseEcosystem(path, ext, content) // the very bytes hashed
	default:
		eco, err = LoadEcosystem(ctx, path, node, runner)
	}
	c.valid = err == nil || errors.Is(err, ErrEcosystem) && ctx.Err() == nil
	if c.valid {
		c.key, c.sum, c.at, c.node, c.eco, c.err = key, sum, now, node, eco, err
		c.loads++
	}
	return eco, err
}
