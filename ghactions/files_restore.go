package ghactions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// BrokenSuffix starts the suffix of a broken file kept beside its restored
// copy: "ci.yml.broken-20240102T150405Z".
const BrokenSuffix = ".broken-"

// brokenTimeFormat is the time in a broken copy's name (UTC).
const brokenTimeFormat = "20060102T150405Z"

// Plan implements redundancy.Recoverer: one restore action per invalid,
// emptied or deleted file that the backup store has a copy of. Files with
// no known-good copy get no action. It changes nothing.
func (w *WorkflowFiles) Plan(_ context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if rep.Err != nil {
		return nil, nil
	}
	known, err := w.store.Names()
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, n := range known {
		has[n] = true
	}
	var plan []redundancy.Action
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		switch f.Problem {
		case ProblemFileInvalid, ProblemFileEmpty, ProblemFileMissing:
		default:
			continue
		}
		name := path.Base(f.Subject)
		if seen[name] || !has[name] || path.Dir(f.Subject) != WorkflowsDir {
			continue
		}
		seen[name] = true
		plan = append(plan, redundancy.Action{
			Verb: VerbRestoreFile, Subject: f.Subject,
			Reason: fmt.Sprintf("%s: %s", f.Problem, f.Detail),
			Do:     func(ctx context.Context) error { return w.Restore(ctx, name) },
		})
	}
	return plan, nil
}

// Restore puts back the known-good copy of the workflow file name. If the
// file is present and differs, it is first kept as
// "<name>.broken-<time>" beside it. If the file validates by now, it is
// adopted as the new known-good copy and left as it is.
func (w *WorkflowFiles) Restore(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	good, err := w.store.Get(name)
	if err != nil {
		return err
	}
	p := filepath.Join(w.dir(), name)
	perm := os.FileMode(0o644)
	broken := p + BrokenSuffix + w.s.clock.Now().UTC().Format(brokenTimeFormat)
	cur, err := fsutil.ReadFile(p, MaxWorkflowFile)
	present := err == nil
	switch {
	case errors.Is(err, fsutil.ErrTooLarge) || errors.Is(err, fsutil.ErrNotRegular):
		// Not a workflow file at all: move it aside whole, unread.
		if err := os.Rename(p, broken); err != nil {
			return fmt.Errorf("ghactions: keep broken copy of %s: %w", name, err)
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("ghactions: restore %s: %w", name, err)
	}
	if present {
		if bytes.Equal(cur, good) {
			return nil // already restored
		}
		if len(bytes.TrimSpace(cur)) > 0 {
			lint, err := w.Validate(name, cur)
			if err != nil {
				return err
			}
			if len(lint) == 0 { // an unknown good change: keep it, adopt it
				return w.adopt(name, cur)
			}
		}
		if st, err := os.Stat(p); err == nil {
			perm = st.Mode().Perm()
		}
		if err := fsutil.WriteFileAtomic(broken, cur, perm); err != nil {
			return fmt.Errorf("ghactions: keep broken copy of %s: %w", name, err)
		}
	} else if err := os.MkdirAll(w.dir(), 0o755); err != nil {
		return fmt.Errorf("ghactions: restore %s: %w", name, err)
	}
	if err := fsutil.WriteFileAtomic(p, good, perm); err != nil {
		return fmt.Errorf("ghactions: restore %s: %w", name, err)
	}
	return nil
}
