package launch

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// dayLayout is the date in a daily log file's name.
const dayLayout = "2006-01-02"

// dailyFile writes <dir>/<stem>-YYYY-MM-DD.log, a new file each day (local
// time), each rotated by size by lumberjack. Past days' files are
// gzipped when Compress is set, and files of days older than MaxAgeDays
// are removed, with their rotated pieces.
type dailyFile struct {
	dir, stem string
	rot       Rotation
	now       func() time.Time

	mu   sync.Mutex
	day  string
	lj   *lumberjack.Logger
	bg   sync.WaitGroup // compression and clean-up of past days
	errs []error

	tidyMu sync.Mutex // one tidy at a time: two would race for the same files
}

// openDaily opens today's file (creating the directory) and tidies past
// days. It fails now when the file cannot be written.
func openDaily(dir, stem string, rot Rotation, now func() time.Time) (*dailyFile, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("launch: logs: %w", err)
	}
	d := &dailyFile{dir: dir, stem: stem, rot: rot, now: now}
	if err := d.roll(now().Format(dayLayout)); err != nil {
		return nil, err
	}
	return d, nil
}

// dayFileName returns the name of stem's file for day.
func dayFileName(stem, day string) string { return stem + "-" + day + ".log" }

// dayFiles returns the paths of stem's daily files in dir (not their
// rotated pieces), oldest first.
func dayFiles(dir, stem string) []string {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(stem) + `-(\d{4}-\d{2}-\d{2})\.log$`)
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if re.MatchString(e.Name()) && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

// Path returns the file written today.
func (d *dailyFile) Path() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return filepath.Join(d.dir, dayFileName(d.stem, d.day))
}

func (d *dailyFile) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if day := d.now().Format(dayLayout); day != d.day {
		if err := d.roll(day); err != nil {
			return 0, err
		}
	}
	return d.lj.Write(p)
}

// roll switches to day's file; the caller holds mu (or is openDaily).
func (d *dailyFile) roll(day string) error {
	path := filepath.Join(d.dir, dayFileName(d.stem, day))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, logFileMode)
	if err != nil {
		return fmt.Errorf("launch: logs: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&^logFileMode != 0 {
		_ = f.Chmod(st.Mode().Perm() & logFileMode)
	}
	_ = f.Close()
	if d.lj != nil {
		_ = d.lj.Close()
	}
	d.day = day
	d.lj = &lumberjack.Logger{Filename: path, MaxSize: d.rot.MaxSizeMB, MaxAge: d.rot.MaxAgeDays,
		MaxBackups: d.rot.MaxBackups, Compress: d.rot.Compress}
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		if err := d.tidy(day); err != nil {
			d.mu.Lock()
			d.errs = append(d.errs, err)
			d.mu.Unlock()
		}
	}()
	return nil
}

// tidy gzips the daily files of days before today (when Compress is
// set) and removes every file of stem older than MaxAgeDays.
func (d *dailyFile) tidy(today string) error {
	d.tidyMu.Lock()
	defer d.tidyMu.Unlock()
	t, err := time.ParseInLocation(dayLayout, today, time.Local)
	if err != nil {
		return err
	}
	cutoff := t.AddDate(0, 0, -d.rot.MaxAgeDays).Format(dayLayout)
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(d.stem) + `-(\d{4}-\d{2}-\d{2})[.-]`)
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(d.dir, e.Name())
		var err error
		switch day := m[1]; {
		case day < cutoff:
			err = os.Remove(path)
		case day < today && d.rot.Compress && e.Name() == dayFileName(d.stem, day):
			err = gzipFile(path)
		}
		if !errors.Is(err, os.ErrNotExist) { // gone meanwhile: nothing to do
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// gzipFile replaces path with path.gz.
func gzipFile(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, logFileMode)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	err = errors.Join(err, zw.Close(), out.Close())
	if err == nil {
		err = os.Rename(tmp, path+".gz")
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Remove(path)
}

// Close closes today's file and waits for the tidying of past days.
func (d *dailyFile) Close() error {
	d.mu.Lock()
	var err error
	if d.lj != nil {
		err = d.lj.Close()
	}
	d.mu.Unlock()
	d.bg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(append([]error{err}, d.errs...)...)
}
