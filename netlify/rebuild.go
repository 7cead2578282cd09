package netlify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// FailedStreak counts the failed (or cancelled) production deploys at the
// head of the site's deploy list (newest first), stopping at the first
// that did neither; it follows the list across pages and counts at most limit+1.
func FailedStreak(ctx context.Context, c Client, siteID string, limit int) (int, error) {
	prod := true
	n, _, err := failedStreak(ctx, c, siteID, ListDeploysOptions{Production: &prod}, limit, "")
	return n, err
}

// failedStreak is FailedStreak over the deploys opts selects, counting the
// deploy asFailed (a stuck one about to be cancelled) as failed; it also
// returns the newest deploy.
func failedStreak(ctx context.Context, c Client, siteID string, opts ListDeploysOptions, limit int, asFailed string) (int, *Deploy, error) {
	n := 0
	var head *Deploy
	opts.PerPage = min(max(limit, 0)+2, MaxPerPage)
	for d, err := range AllDeploys(ctx, c, siteID, opts) {
		if err != nil {
			return 0, nil, fmt.Errorf("netlify: count failed deploys: %w", err)
		}
		if head == nil {
			head = &d
		}
		// A cancelled deploy did not succeed either: a build cancelled
		// because it was stuck is a spent rebuild, whether the API lists
		// it as error ("Canceled build") or as cancelled.
		if !d.State.Failed() && d.State != DeployCancelled && d.ID != asFailed {
			break
		}
		n++
		if n > limit {
			break
		}
	}
	return n, head, nil
}

// rebuildTitle is the title of the deploys the recoverer starts.
func rebuildTitle(after string) string { return "uras: rebuild after deploy " + after }

// listOpts selects the deploys the recoverer watches: the branch's, else
// production's.
func (r *Recoverer) listOpts() ListDeploysOptions {
	if r.Branch != "" {
		return ListDeploysOptions{Branch: r.Branch}
	}
	prod := true
	return ListDeploysOptions{Production: &prod}
}

func (r *Recoverer) rebuild(ctx context.Context, f redundancy.Finding, stuck bool) ([]redundancy.Action, error) {
	limit := r.MaxRebuilds
	if limit == 0 {
		limit = DefaultMaxRebuilds
	}
	if limit < 0 {
		return nil, fmt.Errorf("%w: rebuilds are off (MaxRebuilds < 0)", ErrRebuildLimit)
	}
	if r.Client == nil || r.SiteID == "" {
		return nil, fmt.Errorf("netlify: rebuild: %w: Client and SiteID are required", ErrInvalidArgument)
	}
	asFailed := ""
	if stuck {
		asFailed = f.Subject
	}
	streak, head, err := failedStreak(ctx, r.Client, r.SiteID, r.listOpts(), limit, asFailed)
	if err != nil {
		return nil, fmt.Errorf("netlify: rebuild: %w", err)
	}
	if head == nil || head.ID != f.Subject {
		// The finding is stale: a newer deploy came since the check. The
		// next check judges that one.
		return nil, nil
	}
	n := max(streak-1, 0) // rebuilds so far: the first failure was not one
	if n >= limit {
		what := "failed"
		if stuck {
			what = "failed or stuck"
		}
		return nil, fmt.Errorf("%w: deploy %s is the %d%s %s deploy in a row (%d rebuild(s) allowed)", ErrRebuildLimit, f.Subject, streak, ordinal(streak), what, limit)
	}
	how := "builds API"
	if r.BuildHookURL != "" {
		how = "build hook"
	}
	base := *head
	a := redundancy.Action{
		Verb:    VerbRebuild,
		Subject: f.Subject,
		Reason:  fmt.Sprintf("rebuild %d of %d via %s: %s", n+1, limit, how, f.Detail),
		Do:      func(ctx context.Context) error { return r.buildAfter(ctx, base) },
	}
	if stuck {
		a.Verb = VerbCancelAndRebuild
		a.Reason = fmt.Sprintf("cancel, then rebuild %d of %d via %s: %s", n+1, limit, how, f.Detail)
		a.Do = func(ctx context.Context) error {
			done, err := r.cancelStuck(ctx, base.ID)
			if err != nil || done {
				return err
			}
			return r.buildAfter(ctx, base)
		}
	}
	return []redundancy.Action{a}, nil
}

// newerThan returns a watched deploy created after base, or nil when base
// is still the newest.
func (r *Recoverer) newerThan(ctx context.Context, base Deploy) (*Deploy, error) {
	opts := r.listOpts()
	opts.PerPage = 10
	ds, _, err := r.Client.ListDeploys(ctx, r.SiteID, opts)
	if err != nil {
		return nil, err
	}
	SortNewestFirst(ds)
	for _, d := range ds {
		if d.ID != base.ID && d.CreatedAt.After(base.CreatedAt) {
			return &d, nil
		}
	}
	return nil, nil
}

// buildAfter starts one build unless a production deploy newer than base
// exists already (an earlier try of this action started it, or someone
// pushed). When the build request fails in a way that leaves open whether
// it started one, it looks again instead of sending it again; the
// orchestrator's next try of the action starts by looking too.
func (r *Recoverer) buildAfter(ctx context.Context, base Deploy) error {
	newer, err := r.newerThan(ctx, base)
	if err != nil {
		return fmt.Errorf("netlify: rebuild after deploy %s: look for a newer deploy: %w", base.ID, err)
	}
	if newer != nil {
		return nil
	}
	title := rebuildTitle(base.ID)
	if r.BuildHookURL != "" {
		// Netlify creates a hook's build asynchronously: its deploy may not
		// be listed yet when the action runs again. One post per decision.
		if r.hookPosted(base.ID) {
			return nil
		}
		err = r.Client.TriggerBuildHook(ctx, r.BuildHookURL, BuildHookOptions{Title: title, Branch: r.Branch, ClearCache: r.ClearCache})
		if err == nil || errors.Is(err, ErrUncertain) {
			r.markHook(base.ID)
		}
	} else {
		_, err = r.Client.CreateBuild(ctx, r.SiteID, CreateBuildOptions{Title: title, Branch: r.Branch, ClearCache: r.ClearCache})
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUncertain) {
		if newer, lerr := r.newerThan(ctx, base); lerr == nil && newer != nil {
			return nil // the build started; only the answer was lost
		}
	}
	return fmt.Errorf("netlify: rebuild after deploy %s: %w", base.ID, err)
}

// HookGrace is how long after a build hook post for a decision (the
// failed deploy it rebuilds) the recoverer waits for the hook's deploy to
// be listed rather than post again: Netlify creates hook builds
// asynchronously.
const HookGrace = 5 * time.Minute

// hookPosted reports whether a build hook was posted for base within
// HookGrace.
func (r *Recoverer) hookPosted(base string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.hooked[base]
	return ok && r.clock().Now().Sub(at) < HookGrace
}

// markHook records a build hook post for base, forgetting old posts.
func (r *Recoverer) markHook(base string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock().Now()
	if r.hooked == nil {
		r.hooked = map[string]time.Time{}
	}
	for id, at := range r.hooked {
		if now.Sub(at) >= HookGrace {
			delete(r.hooked, id)
		}
	}
	r.hooked[base] = now
}

// cancelStuck cancels deploy id if it is still in progress. done reports
// that no rebuild is wanted: the deploy finished by itself and is ready.
func (r *Recoverer) cancelStuck(ctx context.Context, id string) (done bool, err error) {
	d, err := r.Client.GetDeploy(ctx, r.SiteID, id)
	if err != nil {
		return false, fmt.Errorf("netlify: cancel stuck deploy %s: %w", id, err)
	}
	if !d.State.InProgress() {
		return d.State == DeployReady, nil
	}
	_, err = r.Client.CancelDeploy(ctx, id)
	if err == nil {
		return false, nil
	}
	var ae *APIError
	if errors.Is(err, ErrUncertain) || (errors.As(err, &ae) && ae.StatusCode == http.StatusUnprocessableEntity) {
		// Cancelled after all, or it ended meanwhile?
		if d, gerr := r.Client.GetDeploy(ctx, r.SiteID, id); gerr == nil && !d.State.InProgress() {
			return d.State == DeployReady, nil
		}
	}
	return false, fmt.Errorf("netlify: cancel stuck deploy %s: %w", id, err)
}
