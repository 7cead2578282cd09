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
//
// With KnownGood set, a check in which the published production deploy is
// ready and every probe passed records that deploy as known good: the
// deploys a Recoverer may restore. A record that cannot be saved is a
// degraded ProblemCheckFailed finding (subject "known-good").
type SiteChecker struct {
	Manifest *ManifestChecker
	Deploys  *DeployChecker
	Probes   *ProbeChecker
	// KnownGood receives the deploys that passed the probes while
	// published; give the Recoverer the same value. Needs Deploys and
	// Probes.
	KnownGood *KnownGood
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
	var st *DeployStatus
	var wg sync.WaitGroup
	for i, p := range parts {
		if p.check == redundancy.Checker(c.Deploys) {
			wg.Go(func() { reports[i], st = c.Deploys.check(ctx) })
			continue
		}
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
	if f, bad := c.record(ctx, st, reports[len(reports)-1]); bad {
		fs = append(fs, f)
	}
	return redundancy.NewReport(strings.Join(summaries, "; "), fs...)
}

// record remembers the published deploy as known good when the probes
// (the last part's report) all passed while it was published.
func (c *SiteChecker) record(ctx context.Context, st *DeployStatus, probes redundancy.Report) (redundancy.Finding, bool) {
	if c.KnownGood == nil || c.Probes == nil || len(c.Probes.Endpoints) == 0 || st == nil || probes.Err != nil {
		return redundancy.Finding{}, false
	}
	pub := st.Published
	if pub == nil || pub.State != DeployReady || probes.Has(ProblemEndpointDown) {
		return redundancy.Finding{}, false
	}
	clk := c.Deploys.Clock
	if clk == nil {
		clk = redundancy.RealClock{}
	}
	err := c.KnownGood.Record(ctx, c.Deploys.SiteID, *pub, clk.Now())
	if errors.Is(err, redundancy.ErrNotLeader) {
		// A follower among several monitors: the leader records it.
		return redundancy.Finding{}, false
	}
	if err != nil {
		return redundancy.Finding{Subject: "known-good", Problem: ProblemCheckFailed, Status: redundancy.StatusDegraded,
			Detail: "deploy " + pub.ID + " passed its probes but could not be recorded: " + err.Error()}, true
	}
	return redundancy.Finding{}, false
}
