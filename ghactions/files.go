package ghactions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/rhysd/actionlint"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// WorkflowsDir is where GitHub reads workflow files, relative to the
// repository root.
const WorkflowsDir = ".github/workflows"

// maxLintFindings caps the findings one file contributes.
const maxLintFindings = 10

// LintError is one problem actionlint found in a workflow file.
type LintError struct {
	File    string // path as given to Validate
	Line    int    // 1-based
	Column  int    // 1-based
	Rule    string // actionlint's rule kind: "syntax-check", "expression", "job-needs", "events", ...
	Message string
}

// String returns "file:line:col: message [rule]", as actionlint prints it.
func (e LintError) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", e.File, e.Line, e.Column, e.Message, e.Rule)
}

// WorkflowFiles keeps a checkout's workflow files valid. As a
// redundancy.Checker it validates every file under .github/workflows with
// actionlint (YAML syntax, expressions, cron, needs cycles and the rest of
// its checks) and compares them with a BackupStore: a file that validates
// becomes (or stays) the known-good copy; an invalid, emptied or deleted
// known file is a finding. As a redundancy.Recoverer it restores the last
// known-good copy, first saving the broken file beside it as
// "<file>.broken-<time>", and never overwrites a file that validates by the
// time it acts (an unknown good change is adopted instead). It makes no
// network calls. It is safe for concurrent use.
type WorkflowFiles struct {
	root  string
	store *BackupStore
	s     settings

	mu     sync.Mutex // actionlint's project cache is not safe for concurrent use
	linter *actionlint.Linter
}

var (
	_ redundancy.Checker   = (*WorkflowFiles)(nil)
	_ redundancy.Recoverer = (*WorkflowFiles)(nil)
)

// NewWorkflowFiles watches the workflow files of the checkout at root with
// store as the backup store. It takes WithClock and WithLintIgnore.
func NewWorkflowFiles(root string, store *BackupStore, opts ...Option) (*WorkflowFiles, error) {
	s, err := build("NewWorkflowFiles", opts, "WithClock", "WithLintIgnore")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(root) == "" {
		return nil, errors.New("ghactions: NewWorkflowFiles: repository root is empty")
	}
	if store == nil {
		return nil, errors.New("ghactions: NewWorkflowFiles: backup store is nil")
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		IgnorePatterns: s.lintIgnore,
		WorkingDir:     root,
	})
	if err != nil {
		return nil, fmt.Errorf("ghactions: NewWorkflowFiles: %w", err)
	}
	return &WorkflowFiles{root: root, store: store, s: s, linter: l}, nil
}

// Validate lints data as the workflow file name (a name in the workflows
// folder, such as "ci.yml") and returns what actionlint found; an empty
// result means the file is valid. The error is for actionlint itself
// failing, not for findings.
func (w *WorkflowFiles) Validate(name string, data []byte) ([]LintError, error) {
	p := filepath.Join(w.root, filepath.FromSlash(WorkflowsDir), name)
	w.mu.Lock()
	errs, err := w.linter.Lint(p, data, nil)
	w.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("ghactions: lint %s: %w", name, err)
	}
	out := make([]LintError, 0, len(errs))
	for _, e := range errs {
		out = append(out, LintError{File: path.Join(WorkflowsDir, name), Line: e.Line, Column: e.Column, Rule: e.Kind, Message: e.Message})
	}
	return out, nil
}

func (w *WorkflowFiles) dir() string { return filepath.Join(w.root, filepath.FromSlash(WorkflowsDir)) }

func isWorkflowFile(name string) bool {
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}

// Check implements redundancy.Checker.
func (w *WorkflowFiles) Check(ctx context.Context) redundancy.Report {
	fail := func(err error) redundancy.Report { return redundancy.ErrorReport(err) }
	entries, err := os.ReadDir(w.dir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("ghactions: read %s: %w", w.dir(), err))
	}
	known, err := w.store.Names()
	if err != nil {
		return fail(err)
	}
	present := map[string]bool{}
	var findings []redundancy.Finding
	checked := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("ghactions: check workflow files: %w", err))
		}
		if !e.Type().IsRegular() || !isWorkflowFile(e.Name()) {
			continue
		}
		name := e.Name()
		present[name] = true
		checked++
		subject := path.Join(WorkflowsDir, name)
		data, err := fsutil.ReadFile(filepath.Join(w.dir(), name), MaxWorkflowFile)
		if errors.Is(err, fsutil.ErrTooLarge) || errors.Is(err, fsutil.ErrNotRegular) {
			findings = append(findings, redundancy.Finding{Subject: subject, Problem: ProblemFileInvalid, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("%s cannot be a workflow file: %v", subject, err)})
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("ghactions: read workflow file: %w", err))
		}
		if len(bytes.TrimSpace(data)) == 0 {
			findings = append(findings, redundancy.Finding{Subject: subject, Problem: ProblemFileEmpty, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("%s is empty (%d bytes)", subject, len(data))})
			continue
		}
		lint, err := w.Validate(name, data)
		if err != nil {
			return fail(err)
		}
		if len(lint) > 0 {
			findings = append(findings, lintFindings(subject, lint)...)
			continue
		}
		if err := w.adopt(name, data); err != nil {
			return fail(err)
		}
	}
	for _, name := range known {
		if !present[name] {
			subject := path.Join(WorkflowsDir, name)
			findings = append(findings, redundancy.Finding{Subject: subject, Problem: ProblemFileMissing, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("%s was deleted; a known-good copy is in the backup store", subject)})
		}
	}
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Subject < findings[j].Subject })
	summary := fmt.Sprintf("%d workflow files valid", checked)
	if len(findings) > 0 {
		summary = fmt.Sprintf("%d workflow files checked, %d findings", checked, len(findings))
	}
	return redundancy.NewReport(summary, findings...)
}

func lintFindings(subject string, lint []LintError) []redundancy.Finding {
	var out []redundancy.Finding
	for i, e := range lint {
		if i == maxLintFindings {
			out = append(out, redundancy.Finding{Subject: subject, Problem: ProblemFileInvalid, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("and %d more actionlint errors", len(lint)-i)})
			break
		}
		out = append(out, redundancy.Finding{Subject: subject, Problem: ProblemFileInvalid, Status: redundancy.StatusUnhealthy, Detail: e.String()})
	}
	return out
}

// adopt makes a valid file the known-good copy if it differs from it.
func (w *WorkflowFiles) adopt(name string, data []byte) error {
	sum, err := w.store.Sum(name)
	if err != nil {
		return err
	}
	if sum == sha256Hex(data) {
		return nil
	}
	return w.store.Put(name, data, w.s.clock.Now())
}
