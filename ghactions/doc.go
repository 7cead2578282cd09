// Package ghactions keeps a repository's GitHub Actions automations
// working: it checks workflow files, workflow states and run health, and
// repairs what it can, as targets of a redundancy.Orchestrator.
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
//     states (disabled_inactivity, disabled_fork, disabled_manually), the
//     newest run of each workflow on a branch (failure, timed_out,
//     startup_failure are unhealthy; cancelled, action_required degraded),
//     runs stuck queued or in progress, and the core rate limit. Its
//     Recoverer enables disabled workflows, re-runs failed jobs a bounded
//     number of times per run, then dispatches a backup workflow, and
//     cancels and re-runs stuck runs.
//
// API calls are cheap by design: NewClient wraps go-github in a Transport
// that makes every GET conditional (If-None-Match with the last ETag) and
// serves 304 answers, which cost no rate limit, from its cache; a check of
// a repository where nothing changed costs no rate limit at all. While a
// rate limit is spent (X-RateLimit-Remaining 0 until X-RateLimit-Reset, or
// a 403/429 secondary limit until Retry-After) the Transport makes no call
// and returns a *RateLimitError. A check that cannot ask GitHub (a 5xx, a
// timeout, a malformed answer, a spent limit) is StatusUnknown with Err
// set, which never starts a recovery.
//
// The token comes from WithToken or the GITHUB_TOKEN environment variable;
// it is sent only in the Authorization header and never appears in a
// finding, an error or a log line.
//
// To start:
//
//	client, err := ghactions.NewClient() // token from GITHUB_TOKEN
//	repo := ghactions.Repo{Owner: "octo", Name: "app", Branch: "main"}
//	checker, err := ghactions.NewChecker(client.Actions, repo)
//	recoverer, err := ghactions.NewRecoverer(checker, ghactions.WithBackupWorkflow("backup.yml"))
//	o := redundancy.New()
//	err = o.Add(redundancy.Target{Name: "octo-app", Checker: checker, Recoverer: recoverer})
//
// Package ghtest is a fake GitHub for tests of all of this.
package ghactions
