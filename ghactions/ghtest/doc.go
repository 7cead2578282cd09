// Package ghtest is a fake GitHub for tests of code that watches GitHub
// Actions: an httptest server on loopback that speaks the REST paths,
// status codes, headers and JSON of the endpoints package ghactions uses,
// and refuses what GitHub refuses.
//
// The server holds repositories, workflows and runs as state that a test
// scripts (a run fails, a workflow gets disabled, the rate limit runs out,
// the next call answers 502 after doing its work), and it records every
// call, with whether it had an effect, so a test can assert what was asked,
// what it cost and what was done:
//
//	srv := ghtest.NewServer()
//	defer srv.Close()
//	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
//	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
//	client := srv.Client() // the real *ghactions.Client, pointed at srv
//	srv.FailNext("POST /repos/*/*/actions/runs/*/rerun-failed-jobs", redundancytest.Fault{Status: 502, After: true})
//
// Endpoints served (paths as in GitHub's REST API):
//
//	GET  /rate_limit
//	GET  /repos/{owner}/{repo}
//	GET  /repos/{owner}/{repo}/actions/workflows
//	GET  /repos/{owner}/{repo}/actions/workflows/{id or file name}
//	PUT  /repos/{owner}/{repo}/actions/workflows/{id}/enable            204
//	PUT  /repos/{owner}/{repo}/actions/workflows/{id}/disable           204
//	POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches        204 (200 with return_run_details)
//	GET  /repos/{owner}/{repo}/actions/workflows/{id}/runs
//	GET  /repos/{owner}/{repo}/actions/runs
//	GET  /repos/{owner}/{repo}/actions/runs/{run_id}
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun              201
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs  201
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel             202
//	POST /repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel       202
//
// As GitHub, the server
//   - answers 401 to a request without a token when it was given one
//     (WithToken), to a bad token, and to a write without a token;
//   - charges every answer but a 304 and /rate_limit to the core limit
//     (5000 an hour with a token, 60 without), and when it is spent answers
//     403 (or 429, WithPrimaryLimitStatus) with X-RateLimit-Remaining 0
//     until the reset; every answer carries the X-RateLimit headers;
//   - tags GET answers with a weak ETag and answers 304 when If-None-Match
//     matches by RFC 7232's weak comparison (lists and "*" included);
//   - pages lists (per_page capped at 100) with a Link header;
//   - matches ?branch= on head_branch alone, so a pull request from a
//     fork's own "main" is listed with the repository's runs on main; each
//     run names its head_repository (Run.HeadRepo);
//   - knows the statuses waiting, requested and pending, and lists a
//     deleted workflow (state deleted) while it has runs;
//   - cancels asynchronously: a cancel answers 202 and the run stays as it
//     was until CancelDelay has passed on the server's clock (or LandCancel);
//     a zombie run (Run.Zombie) answers 409 to cancel and ends only by
//     force-cancel; re-running a run that has not ended answers 403;
//   - refuses to dispatch (422, with GitHub's message) a disabled workflow,
//     a workflow without a workflow_dispatch trigger, or a ref that does
//     not exist;
//   - builds its answers as raw JSON shaped like GitHub's (nulls, nested
//     users and repositories, fields the client does not read), checked in
//     this package's tests against GitHub's OpenAPI description
//     (testdata/api.github.com.actions.json).
//
// Faults (the embedded redundancytest.Faults) may fire before or after the
// effect, answer HTML as GitHub's edge does, omit Retry-After on a
// secondary limit (SecondaryLimit), hang, or drop the connection.
package ghtest
