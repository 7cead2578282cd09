package netlify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultMaxRebuilds is how many rebuilds Recoverer triggers for failing
// deploys before it gives up until a deploy succeeds.
const DefaultMaxRebuilds = 3

// ErrRebuildLimit is wrapped by Plan's error when the newest deploy failed
// again and the rebuild limit is spent: a person must look at the build.
// It wraps redundancy.ErrExhausted, so the orchestrator escalates at once.
var ErrRebuildLimit = fmt.Errorf("netlify: rebuild limit reached: %w", redundancy.ErrExhausted)

// Recoverer plans repairs of a Netlify site from the findings of its
// checkers (SiteChecker, or the parts alone):
//
//   - a missing, invalid or stale manifest, or a function missing from or
//     unlisted in it: regenerate the manifest (VerbRegenerateManifest);
//   - a failed newest deploy: a rebuild (VerbRebuild) through BuildHookURL
//     if set, else the builds API; at most MaxRebuilds in a row: the count
//     is read from the API (the failed production deploys since the last
//     one that was not), so it survives restarts and resets by itself once
//     a build succeeds;
//   - endpoints down: restore the newest ready production deploy created
//     before the last ready one (VerbRestoreDeploy), then probe again
//     (VerbVerifyEndpoints). Never a deploy that is not ready, and never
//     twice in a row: once an earlier deploy is published, a further
//     failure is left to people.
//
// Plan only reads (the restore candidate is looked up through the API);
// the actions do the work. A report with Err set plans nothing.
type Recoverer struct {
	// Client talks to the API; required for rebuilds and restores.
	Client Client
	// SiteID is the site's id.
	SiteID string
	// FunctionsDir and ManifestPath locate the manifest to regenerate
	// (ManifestPath default DefaultManifestPath). Without FunctionsDir no
	// regeneration is planned.
	FunctionsDir string
	ManifestPath string
	// BuildHookURL, when set, is posted to for rebuilds. It is a credential:
	// actions and errors never show it.
	BuildHookURL string
	// ClearCache rebuilds without the build cache.
	ClearCache bool
	// MaxRebuilds caps consecutive rebuilds. Default DefaultMaxRebuilds;
	// negative: no rebuilds.
	MaxRebuilds int
	// Probes, when set, verifies the endpoints after a restore.
	Probes *ProbeChecker
	// Clock stamps regenerated manifests. Default redundancy.RealClock.
	Clock redundancy.Clock
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

var manifestProblems = []redundancy.Problem{
	ProblemManifestMissing, ProblemManifestInvalid, ProblemManifestStale,
	ProblemFunctionMissing, ProblemFunctionUnlisted,
}

// Plan turns a report into actions. When nothing can be planned for a
// problem that needs an action (the rebuild limit is spent, no deploy to
// restore), Plan returns an error saying so, unless other actions were
// planned.
func (r *Recoverer) Plan(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if rep.Err != nil {
		return nil, nil
	}
	var acts []redundancy.Action
	var errs []error

	if r.FunctionsDir != "" {
		for _, p := range manifestProblems {
			if rep.Has(p) {
				acts = append(acts, r.regenerate(rep))
				break
			}
		}
	}

	if f, ok := finding(rep, ProblemDeployFailed); ok {
		a, err := r.rebuild(ctx, f)
		if err != nil {
			errs = append(errs, err)
		} else {
			acts = append(acts, a)
		}
	}

	if rep.Has(ProblemEndpointDown) {
		as, err := r.restore(ctx, rep)
		if err != nil {
			errs = append(errs, err)
		} else {
			acts = append(acts, as...)
		}
	}
	if len(acts) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return acts, nil
}

// FailedStreak counts the failed production deploys at the head of the
// site's deploy list (newest first), stopping at the first that did not
// fail; it looks at most limit+1 deploys.
func FailedStreak(ctx context.Context, c Client, siteID string, limit int) (int, error) {
	prod := true
	ds, err := c.ListDeploys(ctx, siteID, ListDeploysOptions{Production: &prod, PerPage: limit + 1})
	if err != nil {
		return 0, fmt.Errorf("count failed deploys: %w", err)
	}
	SortNewestFirst(ds)
	n := 0
	for _, d := range ds {
		if !d.State.Failed() {
			break
		}
		n++
	}
	return n, nil
}

func finding(rep redundancy.Report, p redundancy.Problem) (redundancy.Finding, bool) {
	for _, f := range rep.Findings {
		if f.Problem == p {
			return f, true
		}
	}
	return redundancy.Finding{}, false
}

func (r *Recoverer) manifestPath() string {
	if r.ManifestPath == "" {
		return DefaultManifestPath
	}
	return r.ManifestPath
}

func (r *Recoverer) regenerate(rep redundancy.Report) redundancy.Action {
	var why []string
	for _, f := range rep.Findings {
		for _, p := range manifestProblems {
			if f.Problem == p {
				why = append(why, f.Subject+": "+string(p))
			}
		}
	}
	mp := r.manifestPath()
	return redundancy.Action{
		Verb:    VerbRegenerateManifest,
		Subject: mp,
		Reason:  strings.Join(why, "; "),
		Do: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			clk := r.Clock
			if clk == nil {
				clk = redundancy.RealClock{}
			}
			_, err := RegenerateManifest(r.FunctionsDir, mp, clk.Now())
			return err
		},
	}
}

func (r *Recoverer) rebuild(ctx context.Context, f redundancy.Finding) (redundancy.Action, error) {
	limit := r.MaxRebuilds
	if limit == 0 {
		limit = DefaultMaxRebuilds
	}
	if limit < 0 {
		return redundancy.Action{}, fmt.Errorf("%w: rebuilds are off (MaxRebuilds < 0)", ErrRebuildLimit)
	}
	if r.Client == nil || r.SiteID == "" {
		return redundancy.Action{}, fmt.Errorf("netlify rebuild: %w: Client and SiteID are required", ErrInvalidArgument)
	}
	streak, err := FailedStreak(ctx, r.Client, r.SiteID, limit)
	if err != nil {
		return redundancy.Action{}, fmt.Errorf("netlify rebuild: %w", err)
	}
	n := max(streak-1, 0) // rebuilds so far: the first failure was not one
	if n >= limit {
		return redundancy.Action{}, fmt.Errorf("%w: deploy %s is the %d%s failed deploy in a row (%d rebuild(s) allowed)", ErrRebuildLimit, f.Subject, streak, ordinal(streak), limit)
	}
	how := "builds API"
	if r.BuildHookURL != "" {
		how = "build hook"
	}
	return redundancy.Action{
		Verb:    VerbRebuild,
		Subject: f.Subject,
		Reason:  fmt.Sprintf("rebuild %d of %d via %s: %s", n+1, limit, how, f.Detail),
		Do: func(ctx context.Context) error {
			var err error
			if r.BuildHookURL != "" {
				err = r.Client.TriggerBuildHook(ctx, r.BuildHookURL, BuildHookOptions{Title: "uras: rebuild after failed deploy " + f.Subject, ClearCache: r.ClearCache})
			} else {
				_, err = r.Client.CreateBuild(ctx, r.SiteID, CreateBuildOptions{ClearCache: r.ClearCache})
			}
			if err != nil {
				return fmt.Errorf("rebuild after deploy %s: %w", f.Subject, err)
			}
			return nil
		},
	}, nil
}

// RestoreCandidate returns the deploy a restore would publish: the newest
// ready production deploy created before the newest ready one, provided the
// newest ready one is what is published now (so a restore never goes back
// twice in a row). It returns an error wrapping ErrNoRestoreCandidate when
// there is none.
func RestoreCandidate(ctx context.Context, c Client, siteID string) (*Deploy, error) {
	site, err := c.GetSite(ctx, siteID)
	if err != nil {
		return nil, fmt.Errorf("find deploy to restore: %w", err)
	}
	prod := true
	ready, err := c.ListDeploys(ctx, siteID, ListDeploysOptions{State: DeployReady, Production: &prod, PerPage: 50})
	if err != nil {
		return nil, fmt.Errorf("find deploy to restore: %w", err)
	}
	// Trust no filter: keep only what is ready.
	kept := ready[:0]
	for _, d := range ready {
		if d.State == DeployReady {
			kept = append(kept, d)
		}
	}
	SortNewestFirst(kept)
	if len(kept) < 2 {
		return nil, fmt.Errorf("%w: %d ready production deploy(s)", ErrNoRestoreCandidate, len(kept))
	}
	last := kept[0]
	if site.PublishedDeploy == nil || site.PublishedDeploy.ID != last.ID {
		pub := "nothing"
		if site.PublishedDeploy != nil {
			pub = "deploy " + site.PublishedDeploy.ID
		}
		return nil, fmt.Errorf("%w: %s is published, not the last ready deploy %s (already restored?)", ErrNoRestoreCandidate, pub, last.ID)
	}
	for i := 1; i < len(kept); i++ {
		if kept[i].CreatedAt.Before(last.CreatedAt) {
			d := kept[i]
			return &d, nil
		}
	}
	return nil, fmt.Errorf("%w: no ready deploy older than %s", ErrNoRestoreCandidate, last.ID)
}

func (r *Recoverer) restore(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if r.Client == nil || r.SiteID == "" {
		return nil, fmt.Errorf("netlify restore: %w: Client and SiteID are required", ErrInvalidArgument)
	}
	cand, err := RestoreCandidate(ctx, r.Client, r.SiteID)
	if err != nil {
		return nil, err
	}
	var down []string
	for _, f := range rep.Findings {
		if f.Problem == ProblemEndpointDown {
			down = append(down, f.Subject)
		}
	}
	id := cand.ID
	acts := []redundancy.Action{{
		Verb:    VerbRestoreDeploy,
		Subject: id,
		Reason:  fmt.Sprintf("endpoints down (%s): restore ready deploy %s of %s", strings.Join(down, ", "), id, cand.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")),
		Do: func(ctx context.Context) error {
			d, err := r.Client.RestoreDeploy(ctx, r.SiteID, id)
			if err != nil {
				return fmt.Errorf("restore deploy %s: %w", id, err)
			}
			if d != nil && d.ID != "" && d.ID != id {
				return fmt.Errorf("restore deploy %s: the API answered with deploy %s", id, d.ID)
			}
			return nil
		},
	}}
	if r.Probes != nil {
		acts = append(acts, redundancy.Action{
			Verb:    VerbVerifyEndpoints,
			Subject: strings.Join(down, ","),
			Reason:  "probe again after restoring deploy " + id,
			Do: func(ctx context.Context) error {
				var still []string
				for _, res := range r.Probes.Probe(ctx) {
					if f, bad := r.Probes.judge(res); bad && f.Problem == ProblemEndpointDown {
						still = append(still, f.String())
					}
				}
				if len(still) > 0 {
					return fmt.Errorf("after restoring deploy %s, still down: %s", id, strings.Join(still, "; "))
				}
				return nil
			},
		})
	}
	return acts, nil
}

func ordinal(n int) string {
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}
