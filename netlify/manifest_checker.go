package netlify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// ManifestChecker checks a project's functions manifest against its
// functions directory.
//
// Findings: ProblemManifestMissing and ProblemManifestInvalid (unhealthy),
// ProblemFunctionMissing (unhealthy: a declared function's entry file is
// gone), ProblemFunctionUnlisted and ProblemManifestStale (degraded).
type ManifestChecker struct {
	// FunctionsDir is the functions source directory (for example
	// "netlify/functions"). Required.
	FunctionsDir string
	// ManifestPath is the manifest file. Default DefaultManifestPath.
	ManifestPath string
}

var _ redundancy.Checker = (*ManifestChecker)(nil)

func (c *ManifestChecker) manifestPath() string {
	if c.ManifestPath == "" {
		return DefaultManifestPath
	}
	return c.ManifestPath
}

// Check reads the manifest and the functions directory. A functions
// directory that cannot be read is Report.Err (status unknown).
func (c *ManifestChecker) Check(ctx context.Context) redundancy.Report {
	if c.FunctionsDir == "" {
		return redundancy.ErrorReport(fmt.Errorf("netlify manifest check: %w: FunctionsDir is empty", ErrInvalidArgument))
	}
	if err := ctx.Err(); err != nil {
		return redundancy.ErrorReport(err)
	}
	mp := c.manifestPath()
	srcs, err := ScanFunctions(c.FunctionsDir)
	if err != nil {
		return redundancy.ErrorReport(fmt.Errorf("netlify manifest check: %w", err))
	}
	m, err := ReadManifest(mp)
	switch {
	case errors.Is(err, ErrManifestMissing):
		return redundancy.NewReport("functions manifest missing", redundancy.Finding{
			Subject: mp, Problem: ProblemManifestMissing, Status: redundancy.StatusUnhealthy,
			Detail: fmt.Sprintf("no manifest at %s; %d function(s) in %s", mp, len(srcs), c.FunctionsDir),
		})
	case errors.Is(err, ErrManifestInvalid):
		return redundancy.NewReport("functions manifest invalid", redundancy.Finding{
			Subject: mp, Problem: ProblemManifestInvalid, Status: redundancy.StatusUnhealthy, Detail: err.Error(),
		})
	case err != nil:
		return redundancy.ErrorReport(fmt.Errorf("netlify manifest check: %w", err))
	}
	return manifestReport(m, mp, srcs)
}

func manifestReport(m *Manifest, mp string, srcs []SourceFunction) redundancy.Report {
	var fs []redundancy.Finding
	bySrc := make(map[string]SourceFunction, len(srcs))
	for _, s := range srcs {
		bySrc[s.Name] = s
	}
	for _, f := range m.Functions {
		if _, ok := bySrc[f.Name]; ok {
			continue
		}
		// Not in the directory: is its entry file still somewhere?
		if f.MainFile != "" && fileExists(f.MainFile) {
			continue
		}
		fs = append(fs, redundancy.Finding{
			Subject: f.Name, Problem: ProblemFunctionMissing, Status: redundancy.StatusUnhealthy,
			Detail: fmt.Sprintf("declared in the manifest but its source %s is gone", shortPath(f.MainFile)),
		})
	}
	mt := m.Time()
	var stale []string
	for _, s := range srcs {
		if _, ok := m.Function(s.Name); !ok {
			fs = append(fs, redundancy.Finding{
				Subject: s.Name, Problem: ProblemFunctionUnlisted, Status: redundancy.StatusDegraded,
				Detail: fmt.Sprintf("%s is not in the manifest", shortPath(s.MainFile)),
			})
			continue
		}
		// The manifest's time has millisecond precision: compare at it, so
		// a file written in the same millisecond, just before the manifest
		// was regenerated, is not stale.
		if s.ModTime.UnixMilli() > m.Timestamp {
			stale = append(stale, s.Name)
		}
	}
	if len(stale) > 0 {
		fs = append(fs, redundancy.Finding{
			Subject: mp, Problem: ProblemManifestStale, Status: redundancy.StatusDegraded,
			Detail: fmt.Sprintf("changed since the manifest was written (%s): %s", mt.UTC().Format("2006-01-02T15:04:05Z"), strings.Join(stale, ", ")),
		})
	}
	summary := fmt.Sprintf("manifest lists %d function(s), directory has %d", len(m.Functions), len(srcs))
	return redundancy.NewReport(summary, fs...)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func shortPath(p string) string {
	if p == "" {
		return "(no mainFile)"
	}
	return filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p)
}
