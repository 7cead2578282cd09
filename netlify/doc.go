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
//     deploys, restore, builds, build hooks) with timeouts, retries of 5xx
//     answers and waits for X-RateLimit-Reset on 429. Its token comes from
//     WithToken or $NETLIFY_AUTH_TOKEN and never appears in errors.
//   - ManifestChecker, DeployChecker and ProbeChecker are redundancy.Checkers;
//     SiteChecker runs them together as one target.
//   - Recoverer turns their findings into redundancy.Actions
//     (VerbRegenerateManifest, VerbRebuild, VerbRestoreDeploy,
//     VerbVerifyEndpoints), so a dry run lists what it would do.
//
// Problems are stable codes prefixed "netlify." (ProblemDeployFailed, ...).
// Package netlifytest is a fake Netlify for tests: the same client talks to
// it.
//
// To start, build a target for one site:
//
//	client := netlify.NewAPIClient() // token from NETLIFY_AUTH_TOKEN
//	probes := &netlify.ProbeChecker{SiteURL: "https://shop.netlify.app",
//		Endpoints: []netlify.Endpoint{{Name: "hello"}}}
//	o := redundancy.New()
//	err := o.Add(redundancy.Target{
//		Name: "shop",
//		Checker: &netlify.SiteChecker{
//			Manifest: &netlify.ManifestChecker{FunctionsDir: "netlify/functions"},
//			Deploys:  &netlify.DeployChecker{Client: client, SiteID: siteID},
//			Probes:   probes,
//		},
//		Recoverer: &netlify.Recoverer{Client: client, SiteID: siteID,
//			FunctionsDir: "netlify/functions", Probes: probes},
//	})
package netlify
