package ghactions_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "workflows", name))
	require.NoError(t, err)
	return b
}

// filesEnv is a checkout with a .github/workflows folder and a backup store.
type filesEnv struct {
	t     *testing.T
	root  string
	dir   string
	store *ghactions.BackupStore
	clock *redundancytest.FakeClock
	files *ghactions.WorkflowFiles
}

func newFilesEnv(t *testing.T) *filesEnv {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, ".github", "workflows")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	store, err := ghactions.OpenBackupStore(filepath.Join(t.TempDir(), "backup"))
	require.NoError(t, err)
	clock := redundancytest.NewFakeClock(start)
	files, err := ghactions.NewWorkflowFiles(root, store, ghactions.WithClock(clock))
	require.NoError(t, err)
	return &filesEnv{t: t, root: root, dir: dir, store: store, clock: clock, files: files}
}

func (f *filesEnv) write(name string, data []byte) {
	f.t.Helper()
	require.NoError(f.t, os.WriteFile(filepath.Join(f.dir, name), data, 0o644))
}

func (f *filesEnv) read(name string) []byte {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	require.NoError(f.t, err)
	return b
}

func TestWorkflowFilesLintFindings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, rule, where string
	}{
		{"bad-yaml.yml", "syntax-check", ":4:4:"},
		{"bad-cron.yml", "events", ":4:13:"},
		{"needs-cycle.yml", "job-needs", ":4:3:"},
		{"bad-expr.yml", "expression", ":7:41:"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f := newFilesEnv(t)
			f.write("ci.yml", readTestdata(t, tc.file))
			rep := f.files.Check(context.Background())
			require.NoError(t, rep.Err)
			require.Equal(t, redundancy.StatusUnhealthy, rep.Status)
			require.NotEmpty(t, rep.Findings)
			got := rep.Findings[0]
			assert.Equal(t, ghactions.ProblemFileInvalid, got.Problem)
			assert.Equal(t, ".github/workflows/ci.yml", got.Subject)
			assert.Contains(t, got.Detail, ".github/workflows/ci.yml"+tc.where)
			assert.Contains(t, got.Detail, "["+tc.rule+"]")

			lint, err := f.files.Validate("ci.yml", readTestdata(t, tc.file))
			require.NoError(t, err)
			require.NotEmpty(t, lint)
			assert.Equal(t, tc.rule, lint[0].Rule)
			assert.Positive(t, lint[0].Line)
			assert.Positive(t, lint[0].Column)
		})
	}
}

func TestWorkflowFilesValidFileBecomesKnownGood(t *testing.T) {
	t.Parallel()
	f := newFilesEnv(t)
	valid := readTestdata(t, "valid.yml")
	f.write("ci.yml", valid)
	f.write("notes.txt", []byte("not a workflow"))

	rep := f.files.Check(context.Background())
	require.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	got, err := f.store.Get("ci.yml")
	require.NoError(t, err)
	assert.Equal(t, valid, got)
	m, err := f.store.Manifest()
	require.NoError(t, err)
	require.Contains(t, m.Files, "ci.yml")
	assert.Len(t, m.Files["ci.yml"].SHA256, 64)
	assert.Equal(t, len(valid), m.Files["ci.yml"].Size)
	assert.NotContains(t, m.Files, "notes.txt")

	// A changed file that still validates is an unknown good change: it
	// becomes the new known-good copy, with no finding.
	changed := append(append([]byte(nil), valid...), []byte("  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo lint\n")...)
	f.write("ci.yml", changed)
	rep = f.files.Check(context.Background())
	require.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	got, err = f.store.Get("ci.yml")
	require.NoError(t, err)
	assert.Equal(t, changed, got)
}

func TestWorkflowFilesRestoredThroughOrchestrator(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		break_  func(f *filesEnv)
		problem redundancy.Problem
		broken  []byte // want kept as .broken-<time>; nil: no broken copy
	}{
		{"invalid", func(f *filesEnv) { f.write("ci.yml", readTestdata(f.t, "bad-cron.yml")) }, ghactions.ProblemFileInvalid, []byte("0 25 * * *")},
		{"emptied", func(f *filesEnv) { f.write("ci.yml", []byte("\n")) }, ghactions.ProblemFileEmpty, []byte("\n")},
		{"deleted", func(f *filesEnv) { require.NoError(f.t, os.Remove(filepath.Join(f.dir, "ci.yml"))) }, ghactions.ProblemFileMissing, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFilesEnv(t)
			valid := readTestdata(t, "valid.yml")
			f.write("ci.yml", valid)
			o := redundancy.New(redundancy.WithClock(f.clock))
			require.NoError(t, o.Add(redundancy.Target{Name: "files", Checker: f.files, Recoverer: f.files, Policy: testPolicy()}))
			rec := redundancytest.NewRecorder(o)
			defer rec.Stop()

			snap := o.Tick(context.Background())
			require.Equal(t, redundancy.StatusHealthy, snap.Targets[0].Report.Status)

			tc.break_(f)
			f.clock.Advance(time.Minute)
			st := o.Tick(context.Background()).Targets[0]
			require.Contains(t, problems(st.Report), tc.problem)
			require.Len(t, st.History, 1)
			assert.Equal(t, ghactions.VerbRestoreFile, st.History[0].Verb)
			assert.True(t, st.History[0].OK(), st.History[0].Error)
			assert.Equal(t, valid, f.read("ci.yml"), "known-good copy restored")

			brokenName := "ci.yml" + ghactions.BrokenSuffix + f.clock.Now().UTC().Format("20060102T150405Z")
			kept, err := os.ReadFile(filepath.Join(f.dir, brokenName))
			if tc.broken == nil {
				assert.ErrorIs(t, err, os.ErrNotExist)
			} else {
				require.NoError(t, err, "broken copy kept beside the file")
				assert.Contains(t, string(kept), string(tc.broken))
			}

			f.clock.Advance(time.Minute)
			st = o.Tick(context.Background()).Targets[0]
			assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, "the .broken copy is not a workflow: %s", st.Report.Summary)
			assert.Contains(t, rec.Kinds("files"), redundancy.EventRecoverySucceeded)
		})
	}
}

func TestWorkflowFilesRestoreNeverOverwritesAGoodChange(t *testing.T) {
	t.Parallel()
	f := newFilesEnv(t)
	valid := readTestdata(t, "valid.yml")
	f.write("ci.yml", valid)
	require.Equal(t, redundancy.StatusHealthy, f.files.Check(context.Background()).Status)

	f.write("ci.yml", readTestdata(t, "needs-cycle.yml"))
	rep := f.files.Check(context.Background())
	plan, err := f.files.Plan(context.Background(), rep)
	require.NoError(t, err)
	require.Len(t, plan, 1)

	// Someone fixes the file between the plan and the action.
	fixed := []byte(strings.Replace(string(valid), "go test ./...", "go test -race ./...", 1))
	f.write("ci.yml", fixed)
	require.NoError(t, plan[0].Do(context.Background()))
	assert.Equal(t, fixed, f.read("ci.yml"), "a good change is kept")
	got, err := f.store.Get("ci.yml")
	require.NoError(t, err)
	assert.Equal(t, fixed, got, "and adopted as known-good")
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no broken copy written")
}

func TestWorkflowFilesWithoutBackupHaveNoPlan(t *testing.T) {
	t.Parallel()
	f := newFilesEnv(t)
	f.write("new.yml", readTestdata(t, "bad-expr.yml"))
	rep := f.files.Check(context.Background())
	require.Equal(t, redundancy.StatusUnhealthy, rep.Status)
	plan, err := f.files.Plan(context.Background(), rep)
	require.NoError(t, err)
	assert.Empty(t, plan, "nothing known-good to restore")
}

func TestBackupStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := ghactions.OpenBackupStore(dir)
	require.NoError(t, err)
	require.NoError(t, s.Put("ci.yml", []byte("on: push\n"), start))

	for _, bad := range []string{"", "../x.yml", "a/b.yml", ".hidden.yml", ".."} {
		assert.Error(t, s.Put(bad, []byte("x"), start), "name %q", bad)
	}
	_, err = s.Get("other.yml")
	assert.ErrorIs(t, err, ghactions.ErrNotBackedUp)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "files", "ci.yml"), []byte("tampered"), 0o600))
	_, err = s.Get("ci.yml")
	assert.ErrorIs(t, err, ghactions.ErrBackupCorrupt)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{not json"), 0o600))
	_, err = ghactions.OpenBackupStore(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "manifest.json is not valid JSON")
}
