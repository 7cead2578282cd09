// Package netlify keeps a Netlify site's Functions and deploys healthy: it
// watches the functions manifest the bundler writes, probes the function
// endpoints, follows the site's deploys through the Netlify API, and
// repairs what it can: it regenerates a missing or stale manifest, rebuilds
// after a failed deploy, and restores the last good deploy when production
// endpoints break.
//
// The pieces plug into package redundancy:
//
//   - APIClient is a small typed client of the Netlify REST API (sites,
//     deploys and their pages, restore, cancel, lock, builds, build hooks)
//     with timeouts, waits for X-RateLimit-Reset on 429, and retries of
//     reads. A request that changes something is never sent again after a
//     failure that leaves open whether it took effect (ErrUncertain): the
//     caller reads the site to find out. Its token comes from WithToken
//     only (no environment variable is read) and never appears in errors.
//   - ManifestChecker, DeployChecker and ProbeChecker are redundancy.Checkers;
//     SiteChecker runs them together as one target.
//   - Recoverer turns their findings into redundancy.Actions
//     (VerbRegenerateManifest, VerbRebuild, VerbCancelAndRebuild,
//     VerbRestoreDeploy, VerbVerifyEndpoints, VerbLockDeploy,
//     VerbUnlockDeploy), so a dry run lists what it would do. Each action
//     reads the site before it acts, so running it again does no harm.
//   - Webhook receives the site's deploy notifications (Netlify's outgoing
//     webhooks, verified by their JWS) and wakes the site's target through
//     Webhook.Source; polling every SafetyNetInterval then only catches
//     lost notifications.
//   - KnownGood remembers the deploys that passed the probes while they were
//     published (in a redundancy.Store): the only ones a restore brings back.
//
// Problems are stable codes prefixed "netlify." (ProblemDeployFailed, ...).
// Package netlifytest is a fake Netlify for tests: the same client talks to
// it.
//
// To start, NewTargets builds the target of one site from a TargetConfig
// (the netlify section of a launcher's YAML file decodes into one):
//
//	g, err := netlify.NewTargets(ctx, &netlify.TargetConfig{
//		SiteID: siteID, SiteURL: "https://shop.netlify.app",
//		FunctionsDir: "netlify/functions",
//		Probes:       []netlify.Endpoint{{Name: "hello"}},
//	}, netlify.WithToken(token), netlify.WithStore(store)) // the caller reads the token
//	o := redundancy.New()
//	for _, t := range g.Targets { // "netlify-<site id>"; g.Notes say what is not watched
//		err = o.Add(t)
//	}
//
// Or build the pieces: an APIClient, a SiteChecker of a ManifestChecker, a
// DeployChecker and a ProbeChecker, and a Recoverer of the same parts
// sharing one KnownGood.
package netlify
