package pm2

// The guard: never lose an app.
//
// The guarded set is what no saved list may lack: Config.Apps when it
// lists apps; else the known-good list's apps; else, before any list was
// recorded, the apps dump.pm2 lists. The known-good list is recorded from
// a healthy daemon (every app of the guarded set online, and, with no
// Config.Apps, every app it runs) with the definitions dump.pm2 holds for
// them. A save runs only while every app of the guarded set is online (or
// stopped and StopOK), and after it dump.pm2 and dump.pm2.bak must both
// list the guarded set: a save that lost an app is undone from the backup,
// and a backup lacking an app is replaced by the complete dump.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// ErrSaveRefused is wrapped by the error of a guarded save that did not
// run because the daemon's list lacks an app of the guarded set, or one of
// them is not online.
var ErrSaveRefused = errors.New("pm2: save refused")

// guard holds what the Checker and the Recoverer share about the guarded
// set: the config, the client and the known-good list.
type guard struct {
	client Client
	cfg    Config
	known  *KnownGoodList
}

func newGuard(client Client, cfg Config) *guard {
	return &guard{client: client, cfg: cfg, known: NewKnownGoodList(cfg.Store, cfg.Home, cfg.KnownGoodHistory)}
}

// guardView is what the guard knows before asking the daemon anything.
type guardView struct {
	known    KnownGood
	hasKnown bool
	knownErr error // the stored list does not load
	dump     Dump  // zero without a home
	bak      Dump
	want     []string // the guarded set
	from     string   // where it comes from, for messages
}

func (g *guard) view(ctx context.Context) guardView {
	var v guardView
	k, err := g.known.Latest(ctx)
	switch {
	case err == nil:
		v.known, v.hasKnown = k, true
	case !errors.Is(err, ErrNoKnownGood):
		v.knownErr = err
	}
	if g.cfg.Home != "" {
		v.dump = ReadDump(filepath.Join(g.cfg.Home, DumpFile))
		v.bak = ReadDump(filepath.Join(g.cfg.Home, DumpBackup))
	}
	switch {
	case len(g.cfg.Apps) > 0:
		v.want, v.from = g.cfg.appNames(), "the expected apps"
	case v.hasKnown && len(v.known.Apps) > 0:
		v.want, v.from = v.known.Names(), "the known-good list"
	case v.dump.Usable():
		v.want, v.from = uniq(v.dump.Names), "dump.pm2 (no known-good list yet)"
	}
	return v
}

// covers reports whether d lists every app of the guarded set (and, with
// no guarded set, whether it lists any).
func (v guardView) covers(d Dump) bool {
	if len(v.want) == 0 {
		return d.Usable()
	}
	return d.Covers(v.want)
}

// notReady says why procs is not a list to save: an app of want that is
// missing, or has an instance neither online nor stopped with StopOK.
func notReady(procs []Process, want []string, cfg Config) []string {
	var out []string
	for _, name := range want {
		app, _ := cfg.app(name)
		found := false
		for _, p := range procs {
			if p.Name != name {
				continue
			}
			found = true
			if p.Status != StatusOnline && !(p.Status == StatusStopped && app.StopOK) {
				out = append(out, fmt.Sprintf("%s is %s", name, p.Status))
				break
			}
		}
		if !found {
			out = append(out, name+" is missing")
		}
	}
	return out
}

// saveAction is the guarded save: see save.
func (g *guard) saveAction(reason string) redundancy.Action {
	return redundancy.Action{Verb: VerbSave, Subject: DumpFile, Reason: reason, Do: g.save}
}

// settlePoll is how often a guarded save looks again while it waits for
// the apps to come online.
const settlePoll = 100 * time.Millisecond

// save waits (at most Config.SaveSettle) until every app of the guarded
// set is online, refuses with ErrSaveRefused if one is not, runs pm2 save,
// then checks what PM2 wrote: a dump that lost an app is replaced by the
// backup it just made (and the save fails), a backup lacking an app is
// replaced by the complete dump. It then records the known-good list.
//
// The wait is on the daemon, in real time, not on Config.Clock (which a
// test may hold still).
func (g *guard) save(ctx context.Context) error {
	deadline := time.Now().Add(g.cfg.SaveSettle)
	var (
		v     guardView
		procs []Process
	)
	for {
		v = g.view(ctx)
		var err error
		procs, err = g.client.List(ctx)
		if err != nil {
			return fmt.Errorf("%w: the daemon's list cannot be read: %w", ErrSaveRefused, err)
		}
		want := v.want
		if len(want) == 0 {
			want = liveNames(procs)
		}
		if len(want) == 0 {
			// Nothing guarded and nothing running: pm2 save would write no
			// app (PM2 refuses an empty list over an existing dump).
			return fmt.Errorf("%w: the daemon runs no app and no app is guarded: nothing to save", ErrSaveRefused)
		}
		why := notReady(procs, want, g.cfg)
		if len(why) == 0 {
			break
		}
		if g.cfg.SaveSettle < 0 || !time.Now().Before(deadline) {
			return fmt.Errorf("%w: %s (guarded: %s)", ErrSaveRefused, strings.Join(why, ", "), v.from)
		}
		t := time.NewTimer(settlePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s: %w", ErrSaveRefused, strings.Join(why, ", "), ctx.Err())
		case <-t.C:
		}
	}
	var before []dumpSnapshot
	if g.cfg.Home != "" {
		before = snapshotDumps(g.cfg.Home)
	}
	if err := g.client.Save(ctx); err != nil {
		return err
	}
	if g.cfg.Home == "" {
		return g.record(ctx, procs, Dump{})
	}
	want := v.want
	if len(want) == 0 {
		want = liveNames(procs)
	}
	dumpPath, bakPath := filepath.Join(g.cfg.Home, DumpFile), filepath.Join(g.cfg.Home, DumpBackup)
	dump := ReadDump(dumpPath)
	if !dump.Covers(want) {
		// An app went away between our look and PM2's: undo the save,
		// both files (PM2 moved the previous dump over the backup, which
		// may have been the only complete list).
		if err := restoreDumps(before); err != nil {
			return fmt.Errorf("pm2: save wrote a dump lacking %s, and putting the previous dump files back failed: %w",
				strings.Join(dump.Lacks(want), ", "), err)
		}
		return fmt.Errorf("%w: pm2 save wrote a dump lacking %s; the previous dump files were put back",
			ErrSaveRefused, strings.Join(dump.Lacks(want), ", "))
	}
	if !ReadDump(bakPath).Covers(want) {
		if err := replaceBackup(g.cfg.Home); err != nil {
			return fmt.Errorf("pm2: repair dump.pm2.bak after the save: %w", err)
		}
	}
	return g.record(ctx, procs, dump)
}

// repairBackupAction copies dump.pm2 over a dump.pm2.bak that lacks apps of
// the guarded set, after checking dump.pm2 lists them all.
func (g *guard) repairBackupAction(reason string) redundancy.Action {
	return redundancy.Action{Verb: VerbRepairDumpBackup, Subject: DumpBackup, Reason: reason,
		Do: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := g.view(ctx)
			if !v.covers(v.dump) {
				return fmt.Errorf("pm2: repair dump.pm2.bak: dump.pm2 does not list the guarded apps (%s) either", strings.Join(v.want, ", "))
			}
			if v.covers(v.bak) {
				return nil // repaired meanwhile
			}
			return replaceBackup(g.cfg.Home)
		}}
}

// replaceBackup copies dump.pm2 over dump.pm2.bak, first keeping the
// backup as DumpBackupReplaced when it lists an app dump.pm2 does not (or
// does not decode): a repair of the backup erases no app.
func replaceBackup(home string) error {
	dumpPath, bakPath := filepath.Join(home, DumpFile), filepath.Join(home, DumpBackup)
	bak := ReadDump(bakPath)
	if bak.Exists && (bak.Err != nil || len(ReadDump(dumpPath).Lacks(uniq(bak.Names))) > 0) {
		if err := copyFile(bakPath, filepath.Join(home, DumpBackupReplaced)); err != nil {
			return fmt.Errorf("pm2: keep the replaced dump.pm2.bak: %w", err)
		}
	}
	return copyFile(dumpPath, bakPath)
}

// record makes the apps of a healthy daemon the known-good list: with
// Config.Apps, those apps; else every app procs lists. Their definitions
// come from dump (which must list them all; without a home, from procs).
func (g *guard) record(ctx context.Context, procs []Process, dump Dump) error {
	names := liveNames(procs)
	if len(g.cfg.Apps) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { _, ok := g.cfg.app(n); return !ok })
	}
	if len(names) == 0 {
		return nil
	}
	k := KnownGood{Time: g.cfg.Clock.Now()}
	for _, n := range names {
		if g.cfg.Home == "" {
			k.Apps = append(k.Apps, processDefinition(procs, n))
			continue
		}
		d, ok := dump.App(n)
		if !ok {
			return nil // not saved yet: the next save records it
		}
		k.Apps = append(k.Apps, d)
	}
	_, err := g.known.Record(ctx, k)
	return err
}

// processDefinition is what the daemon's list says of app name's
// definition, for a client without a home whose dump could be read.
func processDefinition(procs []Process, name string) AppDefinition {
	d := AppDefinition{Name: name}
	for _, p := range procs {
		if p.Name == name {
			d.Namespace, d.ExecMode = p.Namespace, p.ExecMode
			d.Instances++
		}
	}
	return d
}

// liveNames returns the names procs lists, once each, in order.
func liveNames(procs []Process) []string {
	var out []string
	for _, p := range procs {
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// copyFile copies src over dst atomically, keeping dst's mode (0600 for a
// new file): dump files hold the apps' environments.
func copyFile(src, dst string) error {
	b, err := fsutil.ReadFile(src, MaxDumpSize)
	if err != nil {
		return fmt.Errorf("pm2: copy %s: %w", filepath.Base(src), err)
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(dst); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := fsutil.WriteFileAtomic(dst, b, mode); err != nil {
		return fmt.Errorf("pm2: copy %s to %s: %w", filepath.Base(src), filepath.Base(dst), err)
	}
	return nil
}

// dumpSnapshot is a dump file as it was before a save: its bytes and mode,
// or that it did not exist (or could not be read, and is left alone).
type dumpSnapshot struct {
	path   string
	data   []byte
	mode   os.FileMode
	exists bool
}

// snapshotDumps reads dump.pm2 and dump.pm2.bak of home as they are.
func snapshotDumps(home string) []dumpSnapshot {
	var out []dumpSnapshot
	for _, name := range []string{DumpFile, DumpBackup} {
		s := dumpSnapshot{path: filepath.Join(home, name)}
		fi, err := os.Stat(s.path)
		if err == nil && fi.Mode().IsRegular() {
			if b, err := fsutil.ReadFile(s.path, MaxDumpSize); err == nil {
				s.data, s.mode, s.exists = b, fi.Mode().Perm(), true
			}
		}
		out = append(out, s)
	}
	return out
}

// restoreDumps writes back, atomically, the files snapshotDumps read. A
// file that did not exist (or could not be read) is left as it is now.
func restoreDumps(snaps []dumpSnapshot) error {
	var errs []error
	for _, s := range snaps {
		if !s.exists {
			continue
		}
		if err := fsutil.WriteFileAtomic(s.path, s.data, s.mode); err != nil {
			errs = append(errs, fmt.Errorf("pm2: put %s back: %w", filepath.Base(s.path), err))
		}
	}
	return errors.Join(errs...)
}

// update runs pm2 update, which saves the process list as it runs: only
// while every app of the guarded set is online (read again now, not at
// the check), and, when the dump it wrote lacks one of them, with both
// dump files put back as they were.
func (g *guard) update(ctx context.Context, u Updater) error {
	v := g.view(ctx)
	procs, err := g.client.List(ctx)
	if err != nil {
		return fmt.Errorf("%w: pm2 update: the daemon's list cannot be read: %w", ErrSaveRefused, err)
	}
	want := v.want
	if len(want) == 0 {
		want = liveNames(procs)
	}
	if why := notReady(procs, want, g.cfg); len(why) > 0 {
		return fmt.Errorf("%w: pm2 update saves the process list: %s (guarded: %s)", ErrSaveRefused, strings.Join(why, ", "), v.from)
	}
	if g.cfg.Home == "" {
		return u.Update(ctx)
	}
	before := snapshotDumps(g.cfg.Home)
	if err := u.Update(ctx); err != nil {
		return err
	}
	if dump := ReadDump(filepath.Join(g.cfg.Home, DumpFile)); !dump.Covers(want) {
		if err := restoreDumps(before); err != nil {
			return fmt.Errorf("pm2: pm2 update wrote a dump lacking %s, and putting the previous dump files back failed: %w",
				strings.Join(dump.Lacks(want), ", "), err)
		}
		return fmt.Errorf("pm2: pm2 update wrote a dump lacking %s; the previous dump files were put back",
			strings.Join(dump.Lacks(want), ", "))
	}
	return nil
}
