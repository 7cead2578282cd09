package netlify

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/uras-dev/uras/redundancy"
)

// ProblemCheckFailed: one part of a SiteChecker could not run (the manifest
// or the probes); its status is unknown.
const ProblemCheckFailed redundancy.Problem = "netlify.check-failed"

// SiteChecker runs the checks of one site together, concurrently, and
// merges their findings into one report, so one target (and one Recoverer)
// covers the site. Nil parts are skipped.
//
// A part that cannot run becomes a finding of unknown status
// (ProblemAPIUnreachable for Deploys, ProblemCheckFailed for the others),
// so what the other parts found still counts; only when every part fails is
// the report's Err set.
type SiteChecker struct {
	Manifest *ManifestChecker
	Deploys  *DeployChecker
	Probes   *ProbeChecker
}

var _ redundancy.Checker = (*SiteChecker)(nil)

// Check runs the parts and merges their reports.
func (c *SiteChecker) Check(ctx context.Context) redundancy.Report {
	type part struct {
		name    string
		problem redundancy.Problem
		check   redundancy.Checker
	}
	var parts []part
	if c.Manifest != nil {
		parts = append(parts, part{"manifest", ProblemCheckFailed, c.Manifest})
	}
	if c.Deploys != nil {
		parts = append(parts, part{"netlify-api", ProblemAPIUnreachable, c.Deploys})
	}
	if c.Probes != nil {
		parts = append(parts, part{"probes", ProblemCheckFailed, c.Probes})
	}
	if len(parts) == 0 {
		return redundancy.NewReport("nothing to check")
	}
	reports := make([]redundancy.Report, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { reports[i] = p.check.Check(ctx) })
	}
	wg.Wait()

	var fs []redundancy.Finding
	var errs []error
	var summaries []string
	for i, r := range reports {
		if r.Err != nil {
			errs = append(errs, r.Err)
			fs = append(fs, redundancy.Finding{Subject: parts[i].name, Problem: parts[i].problem, Status: redundancy.StatusUnknown, Detail: r.Err.Error()})
			summaries = append(summaries, parts[i].name+": "+r.Err.Error())
			continue
		}
		fs = append(fs, r.Findings...)
		if r.Summary != "" {
			summaries = append(summaries, r.Summary)
		}
	}
	if len(errs) == len(parts) {
		return redundancy.ErrorReport(errors.Join(errs...))
	}
	return redundancy.NewReport(strings.Join(summaries, "; "), fs...)
}
