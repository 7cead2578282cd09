package netlify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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
//     if set, else the builds API; a deploy stuck in progress: cancel it and
//     build again (VerbCancelAndRebuild). At most MaxRebuilds in a row: the
//     count is read from the API (the failed production deploys since the
//     last one that was not, across pages), so it survives restarts and
//     resets by itself once a build succeeds;
//   - endpoints down: restore the newest ready production deploy, older
//     than the published one, that passed the probes while it was published
//     (KnownGood; VerbRestoreDeploy), then probe again (VerbVerifyEndpoints)
//     and, with LockRestored, lock it (VerbLockDeploy). Never a deploy that
//     is not ready or not known good, and never twice in a row: once an
//     earlier deploy is published, a further failure is left to people (the
//     plan's error wraps redundancy.ErrExhausted);
//   - a deploy this recoverer locked, while a newer ready deploy passes the
//     probes at its own URL: unlock and publish that one (VerbUnlockDeploy).
//
// Every action is safe to repeat, as the orchestrator may run it several
// times: it reads the site first and does nothing that is already done (a
// deploy newer than the failed one exists: no build; the deploy is already
// published: no restore), and after a failure that leaves open whether a
// request took effect (ErrUncertain) it reads the site again instead of
// sending the request again.
//
// Plan only reads (the restore candidate and the rebuild count come from
// the API); the actions do the work. A report with Err set plans nothing.
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
	// BuildHookURL, when set, is posted to for rebuilds; the hook must build
	// the deploys watched (production, or Branch), as the action looks for
	// the new deploy among them. It is a credential: actions and errors
	// never show it.
	BuildHookURL string
	// ClearCache rebuilds without the build cache.
	ClearCache bool
	// Branch, when set, is the branch whose deploys are counted and
	// rebuilt (as DeployChecker.Branch); default production.
	Branch string
	// MaxRebuilds caps consecutive rebuilds. Default DefaultMaxRebuilds;
	// negative: no rebuilds.
	MaxRebuilds int
	// Probes, when set, verifies the endpoints after a restore, and probes
	// a newer deploy at its own URL before a lock is lifted.
	Probes *ProbeChecker
	// KnownGood lists the deploys that passed the probes while published
	// (give the SiteChecker the same value). Without it no restore is
	// planned: nothing says which earlier deploy was good.
	KnownGood *KnownGood
	// LockRestored locks a restored deploy once it passes the probes again,
	// so that the next auto publish does not undo the rollback; the lock is
	// lifted when a newer deploy passes the probes (needs Probes). Off by
	// default.
	LockRestored bool
	// Clock stamps regenerated manifests and records. Default
	// redundancy.RealClock.
	Clock redundancy.Clock

	mu     sync.Mutex
	hooked map[string]time.Time // base deploy id -> when a build hook was posted for it
}

var _ redundancy.Recoverer = (*Recoverer)(nil)

var manifestProblems = []redundancy.Problem{
	ProblemManifestMissing, ProblemManifestInvalid, ProblemManifestStale,
	ProblemFunctionMissing, ProblemFunctionUnlisted,
}

// Plan turns a report into actions. When nothing can be planned for a
// problem that needs an action (the rebuild limit is spent, no deploy to
// restore), Plan returns an error saying so, unless other actions were
// planned. The error wraps redundancy.ErrExhausted only when every problem
// left unplanned is one this recoverer can do no more about.
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
		as, err := r.rebuild(ctx, f, false)
		if err != nil {
			errs = append(errs, err)
		}
		acts = append(acts, as...)
	} else if f, ok := finding(rep, ProblemDeployStuck); ok {
		as, err := r.rebuild(ctx, f, true)
		if err != nil {
			errs = append(errs, err)
		}
		acts = append(acts, as...)
	}

	if rep.Has(ProblemEndpointDown) {
		as, err := r.restore(ctx, rep)
		if err != nil {
			errs = append(errs, err)
		}
		acts = append(acts, as...)
	} else if f, ok := finding(rep, ProblemDeployLocked); ok {
		as, err := r.unlock(ctx, f)
		if err != nil {
			errs = append(errs, err)
		}
		acts = append(acts, as...)
	}
	if len(acts) == 0 && len(errs) > 0 {
		return nil, joinPlanErrors(errs)
	}
	return acts, nil
}

// joinPlanErrors joins errs so that the result wraps
// redundancy.ErrExhausted only when every one of them does: a problem that
// may clear up (the API did not answer) must not escalate the target.
func joinPlanErrors(errs []error) error {
	pe := &planError{all: errs}
	for _, e := range errs {
		if !errors.Is(e, redundancy.ErrExhausted) {
			pe.unwrap = append(pe.unwrap, e)
		}
	}
	if len(pe.unwrap) == 0 {
		pe.unwrap = errs
	}
	return pe
}

// planError says every error but unwraps to some of them (joinPlanErrors).
type planError struct{ all, unwrap []error }

func (e *planError) Error() string { return errors.Join(e.all...).Error() }

func (e *planError) Unwrap() []error { return e.unwrap }

func finding(rep redundancy.Report, p redundancy.Problem) (redundancy.Finding, bool) {
	for _, f := range rep.Findings {
		if f.Problem == p {
			return f, true
		}
	}
	return redundancy.Finding{}, false
}

func (r *Recoverer) clock() redundancy.Clock {
	if r.Clock == nil {
		return redundancy.RealClock{}
	}
	return r.Clock
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
			_, err := RegenerateManifest(r.FunctionsDir, mp, r.clock().Now())
			return err
		},
	}
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
