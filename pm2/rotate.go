package pm2

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RotateOptions tunes RotateLog. Zero fields take the defaults.
type RotateOptions struct {
	// Now names the archive (UTC). Default time.Now().
	Now time.Time
	// Keep is how many archives of the log to keep. Default DefaultLogKeep.
	Keep int
	// KeepFor drops archives older than this (by the time in their name).
	// Default DefaultLogKeepFor.
	KeepFor time.Duration
	// Pause, when set, stops the log's writer while RotateLog reads the
	// last bytes and truncates the file, so that nothing written in between
	// is lost; it returns the function that lets the writer go on. For PM2
	// logs the writer is the daemon: see PauseDaemon. Without Pause a line
	// written in the instant between the last read and the truncation is
	// lost.
	Pause func() (resume func(), err error)
	// Within, when set, are the only directories RotateLog may rotate a
	// log in: a path that (once symbolic links are resolved) lies outside
	// all of them is refused with an error wrapping ErrLogOutsideDirs, and
	// nothing is written. Give it PM2_HOME and the allowed log
	// directories (Config.LogDirs): a log path comes from the daemon, and
	// must not make uras compress and truncate any file it can write.
	Within []string
}

// archiveStamp is the UTC time format of archive names: sortable, no colons.
const archiveStamp = "20060102T150405.000Z"

// RotateLog rotates the log at path without deleting it: it compresses the
// whole current content to path.<UTC time>.gz beside it (written to a
// temporary file, synced, then renamed into place), truncates path to zero,
// and prunes older archives to opts.Keep / opts.KeepFor. The live file is
// never removed or replaced, so a writer holding it open in append mode
// (PM2) carries on at its new start. It returns the archive's path.
func RotateLog(path string, opts RotateOptions) (archive string, err error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultLogKeep
	}
	if opts.KeepFor <= 0 {
		opts.KeepFor = DefaultLogKeepFor
	}
	if !rotatable(path) {
		return "", fmt.Errorf("rotate %s: not a regular log file", path)
	}
	f, err := openWithin(path, opts.Within)
	if err != nil {
		return "", fmt.Errorf("rotate %s: %w", path, err)
	}
	defer f.Close()

	archive = archiveName(path, opts.Now)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(archive)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("rotate %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		_ = tmp.Close()
		if err != nil {
			_ = os.Remove(tmpName)
		}
	}()
	zw := gzip.NewWriter(tmp)
	zw.Name = filepath.Base(path)
	zw.ModTime = opts.Now
	// Copy the bulk while the writer runs on.
	if _, err = io.Copy(zw, f); err != nil {
		return "", fmt.Errorf("rotate %s: compress: %w", path, err)
	}
	if opts.Pause != nil {
		resume, perr := opts.Pause()
		if perr == nil && resume != nil {
			defer resume()
		}
	}
	// The writer is paused (or nearly done): take the rest, make the archive
	// durable, and only then truncate.
	if _, err = io.Copy(zw, f); err != nil {
		return "", fmt.Errorf("rotate %s: compress: %w", path, err)
	}
	if err = zw.Close(); err != nil {
		return "", fmt.Errorf("rotate %s: compress: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("rotate %s: sync archive: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("rotate %s: %w", path, err)
	}
	if err = os.Rename(tmpName, archive); err != nil {
		return "", fmt.Errorf("rotate %s: %w", path, err)
	}
	if err = f.Truncate(0); err != nil {
		return archive, fmt.Errorf("rotate %s: truncate (archive %s written): %w", path, archive, err)
	}
	if perr := pruneArchives(path, opts.Now, opts.Keep, opts.KeepFor); perr != nil {
		return archive, perr
	}
	return archive, nil
}

// archiveName returns path.<stamp>.gz, with a -N suffix when taken.
func archiveName(path string, now time.Time) string {
	base := path + "." + now.UTC().Format(archiveStamp)
	name := base + ".gz"
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d.gz", base, i)
	}
}

// Archives lists the rotated archives of the log at path, oldest first.
func Archives(path string) ([]string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, base) && strings.HasSuffix(n, ".gz") {
			if _, ok := archiveTime(n[len(base):]); ok {
				out = append(out, filepath.Join(dir, n))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ti, ni := archiveOrder(out[i], len(base))
		tj, nj := archiveOrder(out[j], len(base))
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ni < nj
	})
	return out, nil
}

// archiveOrder returns an archive's time and -N suffix (1 when none).
func archiveOrder(path string, prefix int) (time.Time, int) {
	tail := filepath.Base(path)[prefix:]
	t, _ := archiveTime(tail)
	n := 1
	if i := strings.IndexByte(tail, '-'); i >= 0 {
		if v, err := strconv.Atoi(strings.TrimSuffix(tail[i+1:], ".gz")); err == nil {
			n = v
		}
	}
	return t, n
}

// archiveTime parses the "<stamp>[-N].gz" tail of an archive name.
func archiveTime(tail string) (time.Time, bool) {
	tail = strings.TrimSuffix(tail, ".gz")
	if i := strings.IndexByte(tail, '-'); i >= 0 {
		tail = tail[:i]
	}
	t, err := time.Parse(archiveStamp, tail)
	return t, err == nil
}

// pruneArchives removes archives of path older than keepFor, then the
// oldest beyond keep. Only files named like archives are touched.
func pruneArchives(path string, now time.Time, keep int, keepFor time.Duration) error {
	archives, err := Archives(path)
	if err != nil {
		return fmt.Errorf("prune archives of %s: %w", path, err)
	}
	base := filepath.Base(path) + "."
	var errs []error
	kept := archives[:0]
	for _, a := range archives {
		t, _ := archiveTime(filepath.Base(a)[len(base):])
		if now.Sub(t) > keepFor {
			if err := os.Remove(a); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		kept = append(kept, a)
	}
	for len(kept) > keep {
		if err := os.Remove(kept[0]); err != nil {
			errs = append(errs, err)
		}
		kept = kept[1:]
	}
	if len(errs) > 0 {
		return fmt.Errorf("prune archives of %s: %w", path, errors.Join(errs...))
	}
	return nil
}
