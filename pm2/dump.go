package pm2

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// Dump is what a dump file (dump.pm2 or dump.pm2.bak) says: the names of
// the processes it would resurrect and the apps' definitions. Nothing else
// of the file, which holds every process's environment, is decoded.
type Dump struct {
	Path   string
	Exists bool
	Names  []string        // in file order; one per saved process
	Apps   []AppDefinition // one per app, its instances counted
	Err    error           // the file exists but could not be read or decoded
}

// MaxDumpSize bounds how much of a dump file is read (64 MiB): a larger
// file is reported as unreadable rather than read into memory.
const MaxDumpSize = 64 << 20

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

// Covers reports whether the dump is usable and lists every name in want.
func (d Dump) Covers(want []string) bool { return d.Usable() && len(d.Lacks(want)) == 0 }

// App returns the definition of the app named name.
func (d Dump) App(name string) (AppDefinition, bool) {
	i := slices.IndexFunc(d.Apps, func(a AppDefinition) bool { return a.Name == name })
	if i < 0 {
		return AppDefinition{}, false
	}
	return d.Apps[i], true
}

// ReadDump reads the process names and app definitions of a PM2 dump file
// (at most MaxDumpSize bytes; never a FIFO or a device).
func ReadDump(path string) Dump {
	d := Dump{Path: path}
	b, err := fsutil.ReadFile(path, MaxDumpSize)
	if errors.Is(err, fs.ErrNotExist) {
		return d
	}
	d.Exists = true
	if err != nil {
		d.Err = fmt.Errorf("pm2: read dump: %w", err)
		return d
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return d
	}
	names, apps, err := decodeDump(b)
	if err != nil {
		d.Err = fmt.Errorf("%w (%s)", err, path)
		return d
	}
	d.Names = names
	d.Apps = apps
	return d
}

// dumpFindings checks dump.pm2 against the guarded set and, when no apps
// are declared, the processes the daemon runs now; and dump.pm2.bak
// against the guarded set.
func dumpFindings(v guardView, procs []Process, daemonUp bool, noApps bool) []redundancy.Finding {
	want := slices.Clone(v.want)
	if noApps && daemonUp {
		for _, p := range procs {
			if !slices.Contains(want, p.Name) {
				want = append(want, p.Name)
			}
		}
	}
	dump, bak := v.dump, v.bak
	if len(want) == 0 {
		if dump.Err == nil {
			return nil
		}
		// Nothing is guarded yet, but the dump held apps once.
		return []redundancy.Finding{{Subject: DumpFile, Problem: ProblemDumpEmpty, Status: redundancy.StatusDegraded,
			Detail: "dump.pm2 is unreadable: " + dump.Err.Error()}}
	}
	var out []redundancy.Finding
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
		if lacks := dump.Lacks(want); len(lacks) > 0 {
			f.Problem = ProblemDumpIncomplete
			f.Detail = "dump.pm2 lacks " + strings.Join(lacks, ", ")
		}
	}
	if f.Problem != "" {
		switch {
		case bak.Usable():
			f.Detail += "; dump.pm2.bak lists " + strings.Join(uniq(bak.Names), ", ")
		case bak.Exists:
			f.Detail += "; dump.pm2.bak restores nothing either"
		}
		out = append(out, f)
	}
	if len(v.want) > 0 && !bak.Covers(v.want) {
		b := redundancy.Finding{Subject: DumpBackup, Problem: ProblemDumpBackupIncomplete, Status: redundancy.StatusDegraded}
		switch {
		case !bak.Exists:
			b.Detail = "dump.pm2.bak does not exist"
		case bak.Err != nil:
			b.Detail = "dump.pm2.bak is unreadable: " + bak.Err.Error()
		default:
			b.Detail = "dump.pm2.bak lacks " + strings.Join(bak.Lacks(v.want), ", ")
		}
		b.Detail += " (guarded: " + v.from + ")"
		out = append(out, b)
	}
	return out
}

// DumpReplaced is where restoring dump.pm2.bak keeps the dump.pm2 it
// replaced, so that nothing the user had is lost.
const DumpReplaced = "dump.pm2.uras-replaced"

// DumpBackupReplaced is where uras keeps a dump.pm2.bak it replaces with a
// complete dump.pm2 when the backup lists an app dump.pm2 does not.
const DumpBackupReplaced = "dump.pm2.bak.uras-replaced"

// restoreDumpBackup copies dump.pm2.bak over dump.pm2 (atomically), first
// keeping a non-empty dump.pm2 as DumpReplaced.
func restoreDumpBackup(home string) error {
	dump := filepath.Join(home, DumpFile)
	if fi, err := os.Stat(dump); err == nil && fi.Mode().IsRegular() && fi.Size() > 2 {
		if err := copyFile(dump, filepath.Join(home, DumpReplaced)); err != nil {
			return fmt.Errorf("pm2: restore dump backup: keep the replaced dump: %w", err)
		}
	}
	if err := copyFile(filepath.Join(home, DumpBackup), dump); err != nil {
		return fmt.Errorf("pm2: restore dump backup: %w", err)
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

// DumpUnreadableSuffix is added (with the time, in Unix seconds) to the
// name of a dump file that does not decode when uras sets it aside before
// pm2 resurrect, which deletes a dump file it cannot parse.
const DumpUnreadableSuffix = ".uras-unreadable-"

// keepUnreadableDumps moves dump.pm2 and dump.pm2.bak aside (renamed
// DumpUnreadableSuffix + the time) when they are regular files that do not
// decode: pm2 resurrect would delete them. Moved aside, they read as
// missing to PM2, which is what deleting them meant to it.
func keepUnreadableDumps(home string, now time.Time) error {
	if home == "" {
		return nil
	}
	for _, name := range []string{DumpFile, DumpBackup} {
		path := filepath.Join(home, name)
		d := ReadDump(path)
		if d.Err == nil {
			continue
		}
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			continue // not a file PM2 could read and delete
		}
		aside := path + DumpUnreadableSuffix + strconv.FormatInt(now.Unix(), 10)
		if err := os.Rename(path, aside); err != nil {
			return fmt.Errorf("pm2: set the unreadable %s aside before pm2 resurrect deletes it: %w", name, err)
		}
	}
	return nil
}
