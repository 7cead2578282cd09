package netlify

import "github.com/uras-dev/uras/redundancy"

// The problems the netlify checkers report. The codes are stable.
const (
	// ProblemManifestMissing: the functions manifest does not exist.
	ProblemManifestMissing redundancy.Problem = "netlify.manifest-missing"
	// ProblemManifestInvalid: the manifest cannot be parsed.
	ProblemManifestInvalid redundancy.Problem = "netlify.manifest-invalid"
	// ProblemManifestStale: a function's source is newer than the manifest.
	ProblemManifestStale redundancy.Problem = "netlify.manifest-stale"
	// ProblemFunctionMissing: the manifest declares a function whose source
	// is gone.
	ProblemFunctionMissing redundancy.Problem = "netlify.function-missing"
	// ProblemFunctionUnlisted: a function of the functions directory is not
	// in the manifest.
	ProblemFunctionUnlisted redundancy.Problem = "netlify.function-unlisted"
	// ProblemDeployFailed: the newest deploy ended in error.
	ProblemDeployFailed redundancy.Problem = "netlify.deploy-failed"
	// ProblemDeployStuck: the newest deploy has been in progress too long.
	ProblemDeployStuck redundancy.Problem = "netlify.deploy-stuck"
	// ProblemDeployLocked: the published deploy is locked (auto publishing
	// stopped) while newer ready deploys wait: a site left locked and stale.
	ProblemDeployLocked redundancy.Problem = "netlify.deploy-locked"
	// ProblemNoPublishedDeploy: the site has no published deploy, or the
	// published one is not ready.
	ProblemNoPublishedDeploy redundancy.Problem = "netlify.no-published-deploy"
	// ProblemScheduleMismatch: a scheduled function of the manifest is not
	// scheduled (or scheduled otherwise) in the published deploy, or the
	// other way round.
	ProblemScheduleMismatch redundancy.Problem = "netlify.schedule-mismatch"
	// ProblemAPIUnreachable: the Netlify API could not be asked (in a
	// SiteChecker's report; DeployChecker alone reports it as Report.Err).
	ProblemAPIUnreachable redundancy.Problem = "netlify.api-unreachable"
	// ProblemEndpointDown: a function endpoint failed: error, timeout,
	// unexpected status or body.
	ProblemEndpointDown redundancy.Problem = "netlify.endpoint-down"
	// ProblemEndpointSlow: a function endpoint answered, but slower than its
	// bound.
	ProblemEndpointSlow redundancy.Problem = "netlify.endpoint-slow"
)

// The verbs of the recoverer's actions.
const (
	// VerbRegenerateManifest rewrites the functions manifest from sources.
	VerbRegenerateManifest = "netlify.regenerate-manifest"
	// VerbRebuild starts a new build (build hook, else the builds API).
	VerbRebuild = "netlify.rebuild"
	// VerbCancelAndRebuild cancels a stuck build and starts a new one.
	VerbCancelAndRebuild = "netlify.cancel-and-rebuild"
	// VerbRestoreDeploy publishes an earlier ready deploy again.
	VerbRestoreDeploy = "netlify.restore-deploy"
	// VerbVerifyEndpoints probes the endpoints again after a restore.
	VerbVerifyEndpoints = "netlify.verify-endpoints"
	// VerbLockDeploy locks the restored deploy so that auto publishing does
	// not replace it (Recoverer.LockRestored).
	VerbLockDeploy = "netlify.lock-deploy"
	// VerbUnlockDeploy lifts the lock the recoverer put on a restored
	// deploy and publishes the newer deploy that passed the probes.
	VerbUnlockDeploy = "netlify.unlock-deploy"
)

// ProblemDeps returns the dependencies between the problems of a site
// target (redundancy.Target.ProblemDeps, set by NewTargets): the problems
// of function endpoints and of the published functions' schedules depend
// on ProblemDeployFailed and ProblemNoPublishedDeploy, so that a broken
// deploy is the one alert (its Affected lists the endpoints) and its
// rebuild comes before any restore.
func ProblemDeps() redundancy.ProblemDeps {
	deploy := []redundancy.Problem{ProblemDeployFailed, ProblemNoPublishedDeploy}
	return redundancy.ProblemDeps{
		ProblemEndpointDown:     deploy,
		ProblemEndpointSlow:     deploy,
		ProblemScheduleMismatch: deploy,
	}
}
