package netlify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultStuckAfter is how long a deploy may stay in progress before
// DeployChecker calls it stuck.
const DefaultStuckAfter = 30 * time.Minute

// DeployChecker checks a site's deploys through the API: the published
// production deploy and the newest deploy.
//
// An API that cannot be asked makes the report's Err (status unknown: no
// recovery is based on it). Findings: ProblemNoPublishedDeploy and
// ProblemDeployFailed (unhealthy; the detail quotes error_message),
// ProblemDeployStuck, ProblemDeployLocked and ProblemScheduleMismatch
// (degraded).
type DeployChecker struct {
	// Client asks the API. Required.
	Client Client
	// SiteID is the site's id (or domain). Required.
	SiteID string
	// Branch, when set, watches that branch's deploys instead of
	// production's.
	Branch string
	// StuckAfter bounds how long the newest deploy may be in progress.
	// Default DefaultStuckAfter.
	StuckAfter time.Duration
	// ManifestPath, when set, is the functions manifest whose scheduled
	// functions are compared with the published deploy's
	// function_schedules. An unreadable manifest skips the comparison
	// (ManifestChecker reports it).
	ManifestPath string
	// Clock tells the time. Default redundancy.RealClock.
	Clock redundancy.Clock
}

var _ redundancy.Checker = (*DeployChecker)(nil)

// DeployStatus is what DeployChecker learnt from the API.
type DeployStatus struct {
	Site      *Site
	Published *Deploy  // nil when nothing is published
	Newest    *Deploy  // nil when the site has no deploys
	Recent    []Deploy // the newest deploys watched (up to 10), newest first
}

// Status asks the API for the site and its newest deploys.
func (c *DeployChecker) Status(ctx context.Context) (DeployStatus, error) {
	if c.Client == nil || c.SiteID == "" {
		return DeployStatus{}, fmt.Errorf("netlify deploy check: %w: Client and SiteID are required", ErrInvalidArgument)
	}
	site, err := c.Client.GetSite(ctx, c.SiteID)
	if err != nil {
		return DeployStatus{}, fmt.Errorf("netlify deploy check: get site: %w", err)
	}
	opts := ListDeploysOptions{PerPage: 10}
	if c.Branch != "" {
		opts.Branch = c.Branch
	} else {
		prod := true
		opts.Production = &prod
	}
	deploys, _, err := c.Client.ListDeploys(ctx, c.SiteID, opts)
	if err != nil {
		return DeployStatus{}, fmt.Errorf("netlify deploy check: list deploys: %w", err)
	}
	SortNewestFirst(deploys)
	st := DeployStatus{Site: site, Published: site.PublishedDeploy, Recent: deploys}
	if len(deploys) > 0 {
		st.Newest = &deploys[0]
	}
	return st, nil
}

// Check asks the API and judges what it says.
func (c *DeployChecker) Check(ctx context.Context) redundancy.Report {
	rep, _ := c.check(ctx)
	return rep
}

// check is Check that also returns what the API said (nil when it could
// not be asked).
func (c *DeployChecker) check(ctx context.Context) (redundancy.Report, *DeployStatus) {
	st, err := c.Status(ctx)
	if err != nil {
		return redundancy.ErrorReport(err), nil
	}
	clk := c.Clock
	if clk == nil {
		clk = redundancy.RealClock{}
	}
	stuckAfter := c.StuckAfter
	if stuckAfter <= 0 {
		stuckAfter = DefaultStuckAfter
	}
	var fs []redundancy.Finding
	pub := st.Published
	switch {
	case pub == nil && c.Branch == "":
		fs = append(fs, redundancy.Finding{Subject: c.SiteID, Problem: ProblemNoPublishedDeploy, Status: redundancy.StatusUnhealthy,
			Detail: "the site has no published deploy"})
	case pub != nil && pub.State != DeployReady:
		fs = append(fs, redundancy.Finding{Subject: pub.ID, Problem: ProblemNoPublishedDeploy, Status: redundancy.StatusUnhealthy,
			Detail: fmt.Sprintf("the published deploy is %q, not ready", pub.State)})
	}
	if n := st.Newest; n != nil {
		switch {
		case n.State.Failed():
			msg := n.ErrorMessage
			if msg == "" {
				msg = "no error message"
			}
			fs = append(fs, redundancy.Finding{Subject: n.ID, Problem: ProblemDeployFailed, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("newest deploy (%s) is %s: %s", describeDeploy(n), n.State, msg)})
		case n.State.InProgress():
			if age := clk.Now().Sub(n.CreatedAt); age > stuckAfter {
				fs = append(fs, redundancy.Finding{Subject: n.ID, Problem: ProblemDeployStuck, Status: redundancy.StatusDegraded,
					Detail: fmt.Sprintf("newest deploy (%s) has been %s for %s (bound %s)", describeDeploy(n), n.State, age.Round(time.Second), stuckAfter)})
			}
		}
	}
	if pub != nil && pub.Locked && c.Branch == "" {
		if f, ok := lockedFinding(pub, st.Recent); ok {
			fs = append(fs, f)
		}
	}
	if c.ManifestPath != "" && pub != nil {
		if m, err := ReadManifest(c.ManifestPath); err == nil {
			fs = append(fs, scheduleFindings(m, pub)...)
		}
	}
	return redundancy.NewReport(deploySummary(st), fs...), &st
}

// lockedFinding reports a site left locked and stale: its published deploy
// is locked (auto publishing stopped) while newer production deploys are
// ready and wait unpublished.
func lockedFinding(pub *Deploy, recent []Deploy) (redundancy.Finding, bool) {
	var waiting []Deploy
	for _, d := range recent {
		if d.State == DeployReady && d.ID != pub.ID && d.CreatedAt.After(pub.CreatedAt) {
			waiting = append(waiting, d)
		}
	}
	if len(waiting) == 0 {
		return redundancy.Finding{}, false
	}
	return redundancy.Finding{Subject: pub.ID, Problem: ProblemDeployLocked, Status: redundancy.StatusDegraded,
		Detail: fmt.Sprintf("auto publishing is stopped on the published deploy (locked); %d newer ready deploy(s) wait, the newest %s (%s)",
			len(waiting), waiting[0].ID, describeDeploy(&waiting[0]))}, true
}

func describeDeploy(d *Deploy) string {
	var parts []string
	if d.Branch != "" {
		parts = append(parts, d.Branch)
	}
	if d.CommitRef != "" {
		ref := d.CommitRef
		if len(ref) > 7 {
			ref = ref[:7]
		}
		parts = append(parts, ref)
	}
	parts = append(parts, d.CreatedAt.UTC().Format(time.RFC3339))
	return strings.Join(parts, " ")
}

func deploySummary(st DeployStatus) string {
	pub, newest := "none", "none"
	if st.Published != nil {
		pub = fmt.Sprintf("%s (%s)", st.Published.ID, st.Published.State)
	}
	if st.Newest != nil {
		newest = fmt.Sprintf("%s (%s)", st.Newest.ID, st.Newest.State)
	}
	return fmt.Sprintf("published %s, newest %s", pub, newest)
}

// scheduleFindings compares the manifest's scheduled functions with the
// deploy's function_schedules.
func scheduleFindings(m *Manifest, d *Deploy) []redundancy.Finding {
	want := map[string]string{}
	for _, f := range m.Functions {
		if f.Schedule != "" {
			want[f.Name] = f.Schedule
		}
	}
	have := map[string]string{}
	for _, s := range d.FunctionSchedules {
		have[s.Name] = s.Cron
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range have {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var fs []redundancy.Finding
	for _, n := range names {
		w, wok := want[n]
		h, hok := have[n]
		var detail string
		switch {
		case wok && !hok:
			detail = fmt.Sprintf("scheduled %q in the manifest but not in published deploy %s", w, d.ID)
		case !wok && hok:
			detail = fmt.Sprintf("scheduled %q in published deploy %s but not in the manifest", h, d.ID)
		case w != h:
			detail = fmt.Sprintf("scheduled %q in the manifest but %q in published deploy %s", w, h, d.ID)
		default:
			continue
		}
		fs = append(fs, redundancy.Finding{Subject: n, Problem: ProblemScheduleMismatch, Status: redundancy.StatusDegraded, Detail: detail})
	}
	return fs
}
