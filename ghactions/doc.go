// Package ghactions keeps a repository's GitHub Actions automations
// working: it checks workflow files, workflow states and run health, and
// repairs what it can, as targets of a redundancy.Orchestrator, without
// ever making things worse.
//
// Two targets cover a repository:
//
//   - WorkflowFiles (local, no network) validates every file under
//     .github/workflows with actionlint and keeps a BackupStore of the last
//     known-good copy of each; it restores an invalid, emptied or deleted
//     file from the store, keeping the broken one beside it as
//     "<file>.broken-<time>", and never overwrites a change that validates
//     (that becomes the new known-good copy).
//   - Checker asks the GitHub REST API (go-github v62) about workflow
//     states (disabled_inactivity, disabled_fork, disabled_manually; a
//     deleted workflow is no problem), the newest run of each workflow on
//     a branch (Repo.Branch, or the default branch GitHub names), runs
//     stuck queued or in progress, runs waiting long for a review (an
//     alert: GitHub fails them itself after 30 days), and the core rate
//     limit. It judges only runs whose head repository is this one: a
//     fork's pull request from its own "main" is listed on ?branch=main
//     too, and is neither judged nor ever re-run. Its Recoverer enables
//     disabled workflows, re-runs failed jobs a bounded number of times
//     per run, then dispatches a backup workflow, and cancels stuck runs
//     (force-cancelling a run cancel cannot reach) and starts them afresh
//     once they have ended. Plans run in dependency order (enables first),
//     and every repair reads GitHub before it is retried, so an answer lost
//     after its effect never makes a second re-run or dispatch.
//
// API calls are cheap and polite by design: NewClient wraps go-github in a
// Transport that makes every GET conditional (If-None-Match with the last
// ETag) and serves 304 answers, which cost no rate limit, from its cache;
// a check of a repository where nothing changed costs no rate limit at
// all. While a rate limit is spent (X-RateLimit-Remaining 0 until
// X-RateLimit-Reset, or a 403/429 secondary limit until Retry-After, a
// minute when GitHub names no time) the Transport makes no call and
// returns a *RateLimitError; its clock (WithClock) decides when the limit
// lifts. Writes go one at a time, at least a second apart. A check that
// cannot ask GitHub (a 5xx, a timeout, a malformed answer, a spent limit)
// is StatusUnknown with Err set, which never starts a recovery.
//
// The token comes from WithToken only: no constructor reads the
// environment. It is sent only in the Authorization header of requests to
// the API host (never to another host a redirect points at) and never
// appears in a finding, an error or a log line.
//
// Webhook receives the repository's workflow_run (and workflow_job)
// deliveries, verified by X-Hub-Signature-256, and wakes the repository's
// target through Webhook.Source: a failed run is seen in milliseconds, and
// judged from the delivered run without a call to GitHub; polling every
// SafetyNetInterval then only catches lost deliveries.
//
// To start, NewTargets builds the targets of a TargetConfig (the github
// section of a launcher's YAML file decodes into one): the files of a
// checkout, and a Checker with its Recoverer per repository.
//
//	g, err := ghactions.NewTargets(ctx, &ghactions.TargetConfig{
//		Repos: []ghactions.RepoConfig{{Repo: ghactions.Repo{Owner: "octo", Name: "app"}, BackupWorkflow: "backup.yml"}},
//	}, ghactions.WithToken(token)) // token read and registered with the redactor by the caller
//	o := redundancy.New()
//	for _, t := range g.Targets { // "github-octo-app"; g.Notes say what is not watched
//		err = o.Add(t)
//	}
//
// Or build the pieces: NewClient, NewChecker(client, repo),
// NewRecoverer(checker), NewWorkflowFiles(root, store).
//
// Package ghtest is a fake GitHub, as strict as the real one, for tests of
// all of this.
package ghactions
