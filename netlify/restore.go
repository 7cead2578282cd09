package netlify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uras-dev/uras/redundancy"
)

// RestoreCandidate returns the deploy a restore would publish: the newest
// ready production deploy, created before the published one, that kg lists
// as having passed the probes while it was published. It restores only
// from the newest ready deploy: when another is published (a restore
// already happened, by this recoverer or a person), there is no candidate.
// The error wraps ErrNoRestoreCandidate (and so redundancy.ErrExhausted)
// when there is none, and not when the API or kg could not be read.
func RestoreCandidate(ctx context.Context, c Client, siteID string, kg *KnownGood) (*Deploy, error) {
	cand, _, err := restoreCandidate(ctx, c, siteID, kg)
	return cand, err
}

// restoreCandidate is RestoreCandidate that also returns the published
// deploy it would replace.
func restoreCandidate(ctx context.Context, c Client, siteID string, kg *KnownGood) (cand, pub *Deploy, err error) {
	if kg == nil {
		return nil, nil, fmt.Errorf("%w: no KnownGood: nothing says which earlier deploy passed the probes", ErrNoRestoreCandidate)
	}
	site, err := c.GetSite(ctx, siteID)
	if err != nil {
		return nil, nil, fmt.Errorf("netlify: find deploy to restore: %w", err)
	}
	pub = site.PublishedDeploy
	if pub == nil {
		return nil, nil, fmt.Errorf("%w: nothing is published", ErrNoRestoreCandidate)
	}
	good, err := kg.Deploys(ctx, siteID)
	if err != nil {
		return nil, nil, fmt.Errorf("netlify: find deploy to restore: %w", err)
	}
	known := make(map[string]bool, len(good))
	for _, g := range good {
		known[g.ID] = true
	}
	prod := true
	var newest *Deploy
	ready := 0
	for d, err := range AllDeploys(ctx, c, siteID, ListDeploysOptions{State: DeployReady, Production: &prod}) {
		if err != nil {
			return nil, nil, fmt.Errorf("netlify: find deploy to restore: %w", err)
		}
		// Trust no filter: keep only ready production deploys.
		if d.State != DeployReady || (d.Context != "" && d.Context != "production") {
			continue
		}
		ready++
		if newest == nil {
			newest = &d
			if d.ID != pub.ID {
				return nil, pub, fmt.Errorf("%w: deploy %s is published, not the newest ready deploy %s (already restored?)", ErrNoRestoreCandidate, pub.ID, d.ID)
			}
			continue
		}
		if !d.CreatedAt.Before(pub.CreatedAt) {
			continue
		}
		if known[d.ID] {
			return &d, pub, nil
		}
		if len(good) > 0 && d.CreatedAt.Before(good[len(good)-1].CreatedAt) {
			break // older than anything known good
		}
	}
	if ready < 2 {
		return nil, pub, fmt.Errorf("%w: %d ready production deploy(s)", ErrNoRestoreCandidate, ready)
	}
	return nil, pub, fmt.Errorf("%w: no ready deploy older than %s passed the probes while it was published", ErrNoRestoreCandidate, pub.ID)
}

func (r *Recoverer) restore(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	if r.Client == nil || r.SiteID == "" {
		return nil, fmt.Errorf("netlify: restore: %w: Client and SiteID are required", ErrInvalidArgument)
	}
	cand, pub, err := restoreCandidate(ctx, r.Client, r.SiteID, r.KnownGood)
	if errors.Is(err, ErrNoRestoreCandidate) && pub != nil {
		// Nothing to restore; but a newer build may be on its way to fix
		// it: wait for that one rather than give up.
		opts := r.listOpts()
		opts.PerPage = 1
		if ds, _, lerr := r.Client.ListDeploys(ctx, r.SiteID, opts); lerr == nil && len(ds) > 0 &&
			ds[0].State.InProgress() && ds[0].CreatedAt.After(pub.CreatedAt) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if pub.Locked {
		// A person pinned the published deploy (auto publishing stopped):
		// theirs to move, not ours. A lock this recoverer set is its own.
		if mine, err := r.KnownGood.Locked(ctx, r.SiteID); err != nil || mine != pub.ID {
			return nil, fmt.Errorf("%w: deploy %s is locked by someone else (auto publishing stopped): not restoring over it", ErrNoRestoreCandidate, pub.ID)
		}
	}
	// Read the world again: the report may predate a newer deploy that was
	// published since (a rebuild that landed), and restoring an older one
	// over it would undo the repair. The probes run after the published
	// deploy was read, and it is read once more after them: they judged
	// pub only if pub is still published then.
	if r.Probes != nil {
		if len(downAt(ctx, r.Probes)) == 0 {
			return nil, nil
		}
		cur, _, err := r.publishedID(ctx)
		if err != nil {
			return nil, fmt.Errorf("netlify: restore: %w", err)
		}
		if cur != pub.ID {
			return nil, nil // another deploy was published meanwhile: the next check judges it
		}
	}
	var down []string
	for _, f := range rep.Findings {
		if f.Problem == ProblemEndpointDown {
			down = append(down, f.Subject)
		}
	}
	id, from := cand.ID, pub.ID
	acts := []redundancy.Action{{
		Verb:    VerbRestoreDeploy,
		Subject: id,
		Reason: fmt.Sprintf("endpoints down (%s) on deploy %s: restore deploy %s of %s, which passed them while published",
			strings.Join(down, ", "), from, id, cand.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")),
		Do: func(ctx context.Context) error { return r.publish(ctx, from, id) },
	}}
	if r.Probes != nil {
		acts = append(acts, redundancy.Action{
			Verb:    VerbVerifyEndpoints,
			Subject: strings.Join(down, ","),
			Reason:  "probe again after restoring deploy " + id,
			Do: func(ctx context.Context) error {
				if still := downAt(ctx, r.Probes); len(still) > 0 {
					return fmt.Errorf("netlify: after restoring deploy %s, still down: %s", id, strings.Join(still, "; "))
				}
				return nil
			},
		})
	}
	if r.LockRestored {
		acts = append(acts, redundancy.Action{
			Verb:    VerbLockDeploy,
			Subject: id,
			Reason:  "keep the restored deploy " + id + " published: stop auto publishing until a newer deploy passes the probes",
			Do:      func(ctx context.Context) error { return r.lock(ctx, id) },
		})
	}
	return acts, nil
}

// downAt probes and returns the endpoints that are down.
func downAt(ctx context.Context, pc *ProbeChecker) []string {
	var still []string
	for _, res := range pc.Probe(ctx) {
		if f, bad := pc.judge(res); bad && f.Problem == ProblemEndpointDown {
			still = append(still, f.String())
		}
	}
	return still
}

// publishedID returns the id of the site's published deploy ("" for none)
// and whether it is locked.
func (r *Recoverer) publishedID(ctx context.Context) (string, bool, error) {
	site, err := r.Client.GetSite(ctx, r.SiteID)
	if err != nil {
		return "", false, err
	}
	if site.PublishedDeploy == nil {
		return "", false, nil
	}
	return site.PublishedDeploy.ID, site.PublishedDeploy.Locked, nil
}

// publish makes deploy to the published one, provided from (the deploy the
// plan saw) or to is published now: it does nothing when to already is, and
// refuses when a third deploy was published since the plan.
func (r *Recoverer) publish(ctx context.Context, from, to string) error {
	cur, _, err := r.publishedID(ctx)
	if err != nil {
		return fmt.Errorf("netlify: restore deploy %s: %w", to, err)
	}
	switch cur {
	case to:
		return nil // an earlier try did it
	case from:
	default:
		return fmt.Errorf("netlify: restore deploy %s: deploy %q is published now, not %s as planned: not restoring", to, cur, from)
	}
	d, err := r.Client.RestoreDeploy(ctx, r.SiteID, to)
	if err != nil {
		if errors.Is(err, ErrUncertain) {
			if cur, _, gerr := r.publishedID(ctx); gerr == nil && cur == to {
				return nil // it was published; only the answer was lost
			}
		}
		return fmt.Errorf("netlify: restore deploy %s: %w", to, err)
	}
	if d != nil && d.ID != "" && d.ID != to {
		return fmt.Errorf("netlify: restore deploy %s: the API answered with deploy %s", to, d.ID)
	}
	return nil
}

// lock locks deploy id, which must be the published one, and records that
// this recoverer did.
func (r *Recoverer) lock(ctx context.Context, id string) error {
	cur, locked, err := r.publishedID(ctx)
	if err != nil {
		return fmt.Errorf("netlify: lock deploy %s: %w", id, err)
	}
	if cur != id {
		return fmt.Errorf("netlify: lock deploy %s: deploy %q is published now: not locking", id, cur)
	}
	if !locked {
		if _, err := r.Client.LockDeploy(ctx, id); err != nil {
			if !errors.Is(err, ErrUncertain) {
				return fmt.Errorf("netlify: lock deploy %s: %w", id, err)
			}
			if d, gerr := r.Client.GetDeploy(ctx, r.SiteID, id); gerr != nil || !d.Locked {
				return fmt.Errorf("netlify: lock deploy %s: %w", id, err)
			}
		}
	}
	if r.KnownGood == nil {
		return nil
	}
	return r.KnownGood.SetLocked(ctx, r.SiteID, id, r.clock().Now())
}

// unlock plans lifting the lock this recoverer put on the published deploy
// (the finding's subject) once a newer ready deploy passes the probes at
// its own URL. A lock set by someone else is left alone, as is one whose
// newer deploys fail: the finding stays and says so.
func (r *Recoverer) unlock(ctx context.Context, f redundancy.Finding) ([]redundancy.Action, error) {
	if r.KnownGood == nil || r.Probes == nil || r.Client == nil || r.SiteID == "" {
		return nil, nil
	}
	ours, err := r.KnownGood.Locked(ctx, r.SiteID)
	if err != nil {
		return nil, err
	}
	locked := f.Subject
	if ours != locked {
		return nil, nil
	}
	site, err := r.Client.GetSite(ctx, r.SiteID)
	if err != nil {
		return nil, fmt.Errorf("netlify: unlock deploy %s: %w", locked, err)
	}
	pub := site.PublishedDeploy
	if pub == nil || pub.ID != locked || !pub.Locked {
		return nil, nil // stale finding
	}
	opts := r.listOpts()
	opts.PerPage = 10
	ds, _, err := r.Client.ListDeploys(ctx, r.SiteID, opts)
	if err != nil {
		return nil, fmt.Errorf("netlify: unlock deploy %s: %w", locked, err)
	}
	SortNewestFirst(ds)
	var next *Deploy
	for _, d := range ds {
		if d.State == DeployReady && d.CreatedAt.After(pub.CreatedAt) {
			next = &d
			break
		}
	}
	if next == nil {
		return nil, nil
	}
	pc := r.Probes.at(next)
	if pc == nil || len(downAt(ctx, pc)) > 0 {
		return nil, nil
	}
	to := next.ID
	return []redundancy.Action{{
		Verb:    VerbUnlockDeploy,
		Subject: locked,
		Reason:  fmt.Sprintf("newer deploy %s (%s) passes the probes at its own URL: unlock deploy %s and publish %s", to, describeDeploy(next), locked, to),
		Do:      func(ctx context.Context) error { return r.unlockAndPublish(ctx, locked, to) },
	}}, nil
}

// at returns a copy of c that probes deploy d at its own URL (its
// permalink), or nil when d has none or no endpoint lives under the site
// URL.
func (c *ProbeChecker) at(d *Deploy) *ProbeChecker {
	u := d.DeploySSLURL
	if u == "" {
		u = d.DeployURL
	}
	if u == "" {
		return nil
	}
	cp := *c
	cp.SiteURL = u
	cp.Endpoints = nil
	for _, ep := range c.Endpoints {
		if ep.URL == "" {
			cp.Endpoints = append(cp.Endpoints, ep)
		}
	}
	if len(cp.Endpoints) == 0 {
		return nil
	}
	return &cp
}

// unlockAndPublish lifts the lock on deploy locked and publishes deploy to;
// each step is skipped when already done.
func (r *Recoverer) unlockAndPublish(ctx context.Context, locked, to string) error {
	cur, isLocked, err := r.publishedID(ctx)
	if err != nil {
		return fmt.Errorf("netlify: unlock deploy %s: %w", locked, err)
	}
	if cur != locked && cur != to {
		return fmt.Errorf("netlify: unlock deploy %s: deploy %q is published now: not changing it", locked, cur)
	}
	if cur == locked && isLocked {
		if _, err := r.Client.UnlockDeploy(ctx, locked); err != nil {
			if !errors.Is(err, ErrUncertain) {
				return fmt.Errorf("netlify: unlock deploy %s: %w", locked, err)
			}
			if d, gerr := r.Client.GetDeploy(ctx, r.SiteID, locked); gerr != nil || d.Locked {
				return fmt.Errorf("netlify: unlock deploy %s: %w", locked, err)
			}
		}
	}
	if cur != to {
		if err := r.publish(ctx, locked, to); err != nil {
			return err
		}
	}
	return r.KnownGood.SetLocked(ctx, r.SiteID, "", r.clock().Now())
}
