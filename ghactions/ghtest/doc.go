// Package ghtest is a fake GitHub for tests of code that watches GitHub
// Actions: an httptest server on loopback that speaks the real REST paths,
// status codes, headers and JSON field names of the endpoints package
// ghactions uses.
//
// The server holds repositories, workflows and runs as state that a test
// scripts (a run fails, a workflow gets disabled, the rate limit runs out,
// the next call answers 500), and it records every call so a test can assert
// what was asked and what it cost:
//
//	srv := ghtest.NewServer()
//	defer srv.Close()
//	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
//	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: "completed", Conclusion: "failure"})
//	client := srv.Client() // a *github.Client pointed at srv
//
// Endpoints served (paths as in GitHub's REST API):
//
//	GET  /rate_limit
//	GET  /repos/{owner}/{repo}/actions/workflows
//	GET  /repos/{owner}/{repo}/actions/workflows/{id or file name}
//	PUT  /repos/{owner}/{repo}/actions/workflows/{id}/enable        204
//	PUT  /repos/{owner}/{repo}/actions/workflows/{id}/disable       204
//	POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches    204
//	GET  /repos/{owner}/{repo}/actions/workflows/{id}/runs
//	GET  /repos/{owner}/{repo}/actions/runs
//	GET  /repos/{owner}/{repo}/actions/runs/{run_id}
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun              201
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs  201
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel             202
//
// Every answer carries X-RateLimit-Limit, -Remaining, -Used, -Reset and
// -Resource. GET answers carry an ETag; a request whose If-None-Match
// matches gets 304 Not Modified, which, as on GitHub, costs no rate limit.
// When the limit is spent the server answers 403 with X-RateLimit-Remaining 0
// until the reset time, after which the limit refills.
package ghtest
