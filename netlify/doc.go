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
// To start, build a target for one site:
//
//	client := netlify.NewAPIClient(netlify.WithToken(token)) // the caller reads the token
//	probes := &netlify.ProbeChecker{SiteURL: "https://shop.netlify.app",
//		Endpoints: []netlify.Endpoint{{Name: "hello"}}}
//	store, err := redundancy.NewFileStore(stateDir)
//	known := &netlify.KnownGood{Store: store}
//	o := redundancy.New()
//	err = o.Add(redundancy.Target{
//		Name: "shop",
//		Checker: &netlify.SiteChecker{
//			Manifest:  &netlify.ManifestChecker{FunctionsDir: "netlify/functions"},
//			Deploys:   &netlify.DeployChecker{Client: client, SiteID: siteID},
//			Probes:    probes,
//			KnownGood: known,
//		},
//		Recoverer: &netlify.Recoverer{Client: client, SiteID: siteID,
//			FunctionsDir: "netlify/functions", Probes: probes, KnownGood: known},
//	})
package netlify
