package launch

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// silenceUsage is the silence verb's help.
const silenceUsage = `usage: %[1]s silence add -target PATTERN [-problem PATTERN] (-for D | -until TIME | -every CRON -duration D [-tz ZONE])
                        [-start TIME] [-pause-repairs] [-comment TEXT] [-id ID]
       %[1]s silence list [-json]
       %[1]s silence remove ID

A silence keeps the alerts of the targets and problems it matches from the notifiers
(they are still logged); with -pause-repairs it is a maintenance window: no repair runs
either. Patterns are path.Match patterns of the root's names: "pm2", "github/*",
"netlify/netlify-shop" when each system is nested under a master; a system's name
matches every target under it. TIME is RFC 3339 (2026-03-01T02:00:00Z) or local
"2026-03-01 02:00". -every takes five cron fields ("0 2 * * SUN") or @daily, @weekly.

With a monitor running, the silence is set through its endpoint (/silences), with the
bearer token of %[2]s (or the variable listen_token_env names): the same variable
the monitor reads. With none running, it is written into the root's state file, and the
next start keeps it.
`

// silence sets, lists or removes silences: through the running
// monitor's endpoint, or in the root's state file when none runs.
func (a *app[C]) silence(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(a.stderr, silenceUsage, a.cmd.Name, EnvEndpointToken)
		return ExitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(a.stdout, silenceUsage, a.cmd.Name, EnvEndpointToken)
		return ExitOK
	}
	switch args[0] {
	case "add":
		return a.silenceAdd(ctx, args[1:])
	case "list", "ls":
		return a.silenceList(ctx, args[1:])
	case "remove", "rm":
		return a.silenceRemove(ctx, args[1:])
	}
	fmt.Fprintf(a.stderr, "%s: silence: unknown action %q (want add, list or remove)\n", a.cmd.Name, args[0])
	return ExitUsage
}

func (a *app[C]) silenceAdd(ctx context.Context, args []string) int {
	fs := a.flags("silence add")
	var s redundancy.Silence
	var problem, until, start string
	fs.StringVar(&s.Target, "target", "", "target `pattern` (\"*\": every target)")
	fs.StringVar(&problem, "problem", "", "problem `pattern` (\"pm2.*\"; default every problem)")
	forD := fs.Duration("for", 0, "one-off: how long from now (or from -start)")
	fs.StringVar(&until, "until", "", "one-off: when it ends (`TIME`)")
	fs.StringVar(&s.Every, "every", "", "recurring: a cron `schedule` (five fields, or @daily, @weekly)")
	fs.DurationVar(&s.Duration, "duration", 0, "recurring: how long each window lasts")
	fs.StringVar(&s.TimeZone, "tz", "", "recurring: the IANA time `zone` of -every (default UTC)")
	fs.StringVar(&start, "start", "", "when it begins (`TIME`; default now)")
	fs.BoolVar(&s.PauseRepairs, "pause-repairs", false, "a maintenance window: no repairs either")
	fs.StringVar(&s.Comment, "comment", "", "why, for people")
	fs.StringVar(&s.ID, "id", "", "its `ID` (default: generated); an existing silence with this ID is replaced")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	s.Problem = redundancy.Problem(problem)
	usage := func(format string, args ...any) int {
		fmt.Fprintf(a.stderr, "%s: silence add: %s\n", a.cmd.Name, fmt.Sprintf(format, args...))
		return ExitUsage
	}
	if s.Target == "" && s.Problem == "" {
		return usage(`give -target (or -problem); -target "*" matches every target`)
	}
	kinds := 0
	for _, set := range []bool{*forD != 0, until != "", s.Every != ""} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		return usage("give one of -for, -until or -every")
	case *forD < 0:
		return usage("-for %s is negative", *forD)
	case s.Every != "" && s.Duration <= 0:
		return usage("-every needs -duration, the length of each window")
	case s.Every == "" && (s.Duration != 0 || s.TimeZone != ""):
		return usage("-duration and -tz go with -every")
	case strings.HasPrefix(s.ID, ConfigSilencePrefix):
		return usage("IDs starting with %q belong to the configuration file", ConfigSilencePrefix)
	}
	var err error
	if until != "" {
		if s.Until, err = parseWhen(until); err != nil {
			return usage("-until: %v", err)
		}
	}
	if start != "" {
		if s.Start, err = parseWhen(start); err != nil {
			return usage("-start: %v", err)
		}
	}
	if *forD != 0 {
		s.Duration = *forD
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	st, err := a.silenceStore(c.set, true)
	if err != nil {
		return a.fail("silence add: %s", err)
	}
	defer st.close()
	got, err := st.set(ctx, s)
	if err != nil {
		if errors.Is(err, redundancy.ErrInvalidSilence) || errors.Is(err, errRefused) {
			fmt.Fprintf(a.stderr, "%s: silence add: %s\n", a.cmd.Name, sanitize(oneLine(err.Error())))
			return ExitUsage
		}
		return a.fail("silence add: %s", sanitize(oneLine(err.Error())))
	}
	fmt.Fprintf(a.stdout, "silence %s set (%s): %s\n", sanitize(got.ID), st.where(), sanitize(silenceWhat(got)))
	if m, ok := st.(*monitorSilences); ok && got.Target != "" {
		if names, err := m.names(); err == nil && !matchesAny(got.Target, names) {
			fmt.Fprintf(a.stderr, "%s: warning: target %q matches none of the monitor's targets now (%s)\n",
				a.cmd.Name, got.Target, sanitize(clip(strings.Join(names, ", "), 200)))
		}
	}
	if !got.Until.IsZero() && got.Every == "" {
		fmt.Fprintf(a.stdout, "  until %s\n", got.Until.Local().Format("2006-01-02 15:04:05 MST"))
	}
	return ExitOK
}

func (a *app[C]) silenceList(ctx context.Context, args []string) int {
	fs := a.flags("silence list")
	asJSON := fs.Bool("json", false, "print the silences as JSON")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	st, err := a.silenceStore(c.set, false)
	if err != nil {
		return a.fail("silence list: %s", err)
	}
	defer st.close()
	list, err := st.list(ctx)
	if err != nil {
		return a.fail("silence list: %s", sanitize(oneLine(err.Error())))
	}
	if *asJSON {
		if list == nil {
			list = []redundancy.SilenceState{}
		}
		b, err := redactJSON(list, a.red)
		if err != nil {
			return a.fail("silence list: %v", err)
		}
		a.stdout.writeRedacted(b)
		return ExitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(a.stdout, "no silences (%s)\n", st.where())
		return ExitOK
	}
	fmt.Fprintf(a.stdout, "silences (%s):\n", st.where())
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tWHEN\tWHAT")
	for _, s := range list {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", sanitize(s.ID), silenceWhen(s), sanitize(silenceWhat(s.Silence)))
	}
	_ = tw.Flush()
	return ExitOK
}

func (a *app[C]) silenceRemove(ctx context.Context, args []string) int {
	fs := a.flags("silence remove")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(a.stderr, "%s: silence remove: give the ID of one silence (silence list shows them)\n", a.cmd.Name)
		return ExitUsage
	}
	id := fs.Arg(0)
	c, ok := a.load()
	if !ok {
		return ExitUsage
	}
	st, err := a.silenceStore(c.set, true)
	if err != nil {
		return a.fail("silence remove: %s", err)
	}
	defer st.close()
	if err := st.remove(ctx, id); err != nil {
		return a.fail("silence remove: %s", sanitize(oneLine(err.Error())))
	}
	fmt.Fprintf(a.stdout, "silence %s removed (%s)\n", sanitize(id), st.where())
	if strings.HasPrefix(id, ConfigSilencePrefix) {
		fmt.Fprintf(a.stdout, "  note: the configuration file sets it: it is set again at the next start unless removed from the file\n")
	}
	return ExitOK
}

// parseWhen reads a time: RFC 3339, or local "2006-01-02 15:04" (or with a T).
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-03-01T02:00:00Z) or local 2026-03-01 02:00", s)
}

// silenceStore is where the silence verb reads and writes: the running
// monitor, or the root's state file.
type silenceStore interface {
	list(ctx context.Context) ([]redundancy.SilenceState, error)
	set(ctx context.Context, s redundancy.Silence) (redundancy.Silence, error)
	remove(ctx context.Context, id string) error
	where() string
	close()
}

// silenceStore returns the running monitor's endpoint when one runs,
// else the root's state file; write says the caller will change it (the
// state file is then locked against a monitor starting meanwhile).
func (a *app[C]) silenceStore(set Settings, write bool) (silenceStore, error) {
	pf := a.pidFile(set)
	o, err := pf.owner()
	if err != nil {
		return nil, err
	}
	if !o.Running {
		var lock *pidLock
		if write {
			// Hold the PID file while writing, so that no monitor starts
			// meanwhile and overwrites what is written.
			if lock, err = pf.lock(); errors.Is(err, errAlreadyRunning) {
				if o, err = pf.owner(); err != nil || !o.Running {
					return nil, errors.New("a monitor is starting: try again in a moment")
				}
				return a.monitorSilences(set, o.PID)
			} else if err != nil {
				return nil, err
			}
		}
		return a.fileSilences(set, lock), nil
	}
	return a.monitorSilences(set, o.PID)
}

// fileSilences are the silences of the root's state file, read and
// written by an orchestrator of its own that never runs: it keeps the
// targets' records as they are.
type fileSilences struct {
	o    *redundancy.Orchestrator
	path string
	lock *pidLock
}

func (a *app[C]) fileSilences(set Settings, lock *pidLock) *fileSilences {
	path := stateFile(set.StateDir, "")
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := redundancy.New(redundancy.WithStateFile(path), redundancy.WithRedactor(a.red), redundancy.WithLogger(log))
	return &fileSilences{o: o, path: path, lock: lock}
}

func (f *fileSilences) list(context.Context) ([]redundancy.SilenceState, error) {
	return f.o.Silences(), nil
}
func (f *fileSilences) set(_ context.Context, s redundancy.Silence) (redundancy.Silence, error) {
	return f.o.Silence(s)
}
func (f *fileSilences) remove(_ context.Context, id string) error { return f.o.RemoveSilence(id) }
func (f *fileSilences) where() string {
	return "no monitor running: state file " + f.path + ", kept at the next start"
}

func (f *fileSilences) close() {
	if f.lock != nil {
		f.lock.release()
	}
}

// statusOfMonitor reads the running monitor's status file.
func (a *app[C]) statusOfMonitor(set Settings) (Status, error) {
	var st Status
	b, err := readStatus(a.statusFile(set))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

// rootNames returns the target names a silence of the root matches, as
// st shows them: "part" and "part/target" for a part nested under the
// root, the target's own name for a part of the root itself.
func rootNames(st Status) []string {
	var out []string
	for _, ps := range st.Parts {
		nested := ps.Parent != nil
		if nested {
			out = append(out, ps.Name)
		}
		for _, ts := range ps.Targets {
			if nested {
				out = append(out, ps.Name+"/"+ts.Name)
			} else {
				out = append(out, ts.Name)
			}
		}
	}
	return out
}

// matchesAny reports whether pattern matches one of names as a silence's
// target does (a name, or a nest above it).
func matchesAny(pattern string, names []string) bool {
	for _, n := range names {
		for cur := n; ; {
			if ok, _ := path.Match(pattern, cur); ok {
				return true
			}
			i := strings.LastIndexByte(cur, '/')
			if i < 0 {
				break
			}
			cur = cur[:i]
		}
	}
	return false
}
