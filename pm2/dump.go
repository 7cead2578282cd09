package pm2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// Dump is what a dump file (dump.pm2 or dump.pm2.bak) says: the names of
// the processes it would resurrect. Nothing else of the file, which holds
// every process's environment, is read.
type Dump struct {
	Path   string
	Exists bool
	Names  []string // in file order; one per saved process
	Err    error    // the file exists but could not be read or decoded
}

// Usable reports whether the dump would restore any process.
func (d Dump) Usable() bool { return d.Exists && d.Err == nil && len(d.Names) > 0 }

// Lacks returns the names in want that the dump does not list.
func (d Dump) Lacks(want []string) []string {
	var out []string
	for _, n := range want {
		if !slices.Contains(d.Names, n) {
			out = append(out, n)
		}
	}
	return out
}

// ReadDump reads the process names from a PM2 dump file.
func ReadDump(path string) Dump {
	d := Dump{Path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d
	}
	d.Exists = true
	if err != nil {
		d.Err = fmt.Errorf("read %s: %w", path, err)
		return d
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return d
	}
	var entries []*struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		d.Err = fmt.Errorf("%w: decode %s: %s", ErrBadOutput, path, safeJSONError(err))
		return d
	}
	for _, e := range entries {
		if e != nil && e.Name != "" {
			d.Names = append(d.Names, e.Name)
		}
	}
	return d
}

// dumpFindings checks dump.pm2 against the apps expected: Config.Apps, or
// when none are declared, the processes the daemon runs now.
func (c *Checker) dumpFindings(procs []Process, daemonUp bool) []redundancy.Finding {
	want := c.cfg.appNames()
	if len(want) == 0 && daemonUp {
		for _, p := range procs {
			if !slices.Contains(want, p.Name) {
				want = append(want, p.Name)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	dump := ReadDump(filepath.Join(c.cfg.Home, DumpFile))
	bak := ReadDump(filepath.Join(c.cfg.Home, DumpBackup))
	f := redundancy.Finding{Subject: DumpFile, Status: redundancy.StatusDegraded}
	switch {
	case !dump.Exists:
		f.Problem = ProblemDumpMissing
		f.Detail = "dump.pm2 does not exist: resurrect would restore nothing"
	case dump.Err != nil:
		f.Problem = ProblemDumpEmpty
		f.Detail = "dump.pm2 is unreadable: " + dump.Err.Error()
	case len(dump.Names) == 0:
		f.Problem = ProblemDumpEmpty
		f.Detail = "dump.pm2 lists no process: resurrect would restore nothing"
	default:
		lacks := dump.Lacks(want)
		if len(lacks) == 0 {
			return nil
		}
		f.Problem = ProblemDumpIncomplete
		f.Detail = "dump.pm2 lacks " + strings.Join(lacks, ", ")
	}
	switch {
	case bak.Usable():
		f.Detail += "; dump.pm2.bak lists " + strings.Join(uniq(bak.Names), ", ")
	case bak.Exists:
		f.Detail += "; dump.pm2.bak restores nothing either"
	}
	return []redundancy.Finding{f}
}

// restoreDumpBackup copies dump.pm2.bak over dump.pm2 (atomically).
func restoreDumpBackup(home string) error {
	src := filepath.Join(home, DumpBackup)
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("restore dump backup: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(home, DumpFile), b, 0o600); err != nil {
		return fmt.Errorf("restore dump backup: %w", err)
	}
	return nil
}

func uniq(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
