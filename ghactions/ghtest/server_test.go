package ghtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var start = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const token = "ghp_serverTestToken0123456789"

// newServer starts a validated server on a fake clock.
func newServer(t *testing.T, opts ...ghtest.Option) (*ghtest.Server, *redundancytest.FakeClock, *validator) {
	t.Helper()
	clock := redundancytest.NewFakeClock(start)
	srv, v := newValidated(t, append([]ghtest.Option{ghtest.WithClock(clock)}, opts...)...)
	return srv, clock, v
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

// do sends one request; auth is the Authorization header ("" for none).
func do(t *testing.T, srv *ghtest.Server, method, path, auth, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL()+strings.TrimPrefix(path, "/"), rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

const bearer = "Bearer " + token

func TestWireFormatMatchesGitHubsDescription(t *testing.T) {
	t.Parallel()
	srv, clock, v := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	other := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "Nightly", Path: ".github/workflows/nightly.yml"})
	failed := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	queued := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunInProgress})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", HeadRepo: "forker/app", Conclusion: ghactions.ConclusionFailure})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: other, Branch: "main", Status: ghactions.RunWaiting})

	for _, p := range []string{"rate_limit", "repos/octo/app", "repos/octo/app/actions/workflows",
		"repos/octo/app/actions/workflows/ci.yml", "repos/octo/app/actions/workflows/ci.yml/runs?branch=main&per_page=2",
		"repos/octo/app/actions/runs?status=waiting", "repos/octo/app/actions/runs/" + itoa(failed)} {
		r := do(t, srv, http.MethodGet, p, bearer, "")
		require.Equal(t, http.StatusOK, r.status, p)
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource"} {
			assert.NotEmpty(t, r.header.Get(h), "%s on %s", h, p)
		}
	}
	r := do(t, srv, http.MethodGet, "repos/octo/app/actions/runs/"+itoa(queued), bearer, "")
	run := r.json(t)
	assert.Nil(t, run["conclusion"], "a run not completed has conclusion null")
	assert.Nil(t, run["previous_attempt_url"])
	assert.Equal(t, "octo/app", run["head_repository"].(map[string]any)["full_name"])
	assert.Contains(t, run, "actor", "fields the client does not read are there too")

	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPut, "repos/octo/app/actions/workflows/" + itoa(other) + "/disable", "", 204},
		{http.MethodPut, "repos/octo/app/actions/workflows/" + itoa(other) + "/enable", "", 204},
		{http.MethodPost, "repos/octo/app/actions/workflows/" + itoa(other) + "/dispatches", `{"ref":"main"}`, 204},
		{http.MethodPost, "repos/octo/app/actions/workflows/" + itoa(other) + "/dispatches", `{"ref":"main","return_run_details":true}`, 200},
		{http.MethodPost, "repos/octo/app/actions/runs/" + itoa(failed) + "/rerun-failed-jobs", "", 201},
		{http.MethodPost, "repos/octo/app/actions/runs/" + itoa(queued) + "/cancel", "", 202},
		{http.MethodPost, "repos/octo/app/actions/runs/" + itoa(queued) + "/force-cancel", "", 202},
	} {
		r := do(t, srv, c.method, c.path, bearer, c.body)
		require.Equal(t, c.want, r.status, "%s %s: %s", c.method, c.path, r.body)
	}
	clock.Advance(time.Minute) // the cancels land
	for _, c := range []struct{ path string }{{"/cancel"}, {"/force-cancel"}} {
		r := do(t, srv, http.MethodPost, "repos/octo/app/actions/runs/"+itoa(queued)+c.path, bearer, "")
		require.Equal(t, http.StatusConflict, r.status, "a completed run: %s", c.path)
	}
	r = do(t, srv, http.MethodPost, "repos/octo/app/actions/runs/"+itoa(queued)+"/rerun", bearer, "")
	require.Equal(t, http.StatusCreated, r.status)
	require.Equal(t, http.StatusNotFound, do(t, srv, http.MethodGet, "repos/octo/nope", bearer, "").status)

	for _, c := range []struct {
		op     string
		status int
	}{
		{"rate-limit/get", 200}, {"repos/get", 200}, {"repos/get", 404}, {"actions/list-repo-workflows", 200},
		{"actions/get-workflow", 200}, {"actions/list-workflow-runs", 200}, {"actions/list-workflow-runs-for-repo", 200},
		{"actions/get-workflow-run", 200}, {"actions/enable-workflow", 204}, {"actions/disable-workflow", 204},
		{"actions/create-workflow-dispatch", 204}, {"actions/create-workflow-dispatch", 200},
		{"actions/re-run-workflow-failed-jobs", 201}, {"actions/re-run-workflow", 201},
		{"actions/cancel-workflow-run", 202}, {"actions/cancel-workflow-run", 409},
		{"actions/force-cancel-workflow-run", 202}, {"actions/force-cancel-workflow-run", 409},
	} {
		assert.Positive(t, v.Seen(c.op, c.status), "%s %d validated against the description", c.op, c.status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAuthentication(t *testing.T) {
	t.Parallel()
	t.Run("token required", func(t *testing.T) {
		t.Parallel()
		srv, _, _ := newServer(t, ghtest.WithToken(token))
		srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
		r := do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows", "", "")
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, "Requires authentication", r.json(t)["message"])
		r = do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows", "Bearer ghp_wrong", "")
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, "Bad credentials", r.json(t)["message"])
		assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows", "token "+token, "").status)
		assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "rate_limit", "", "").status, "/rate_limit is open")
		for _, c := range srv.Calls() {
			assert.False(t, c.Effect)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		srv, _, _ := newServer(t)
		wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
		srv.AddRepository("octo", "secret", ghtest.Repository{Private: true})
		r := do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows", "", "")
		assert.Equal(t, http.StatusOK, r.status, "a public repository reads without a token")
		assert.Equal(t, "60", r.header.Get("X-RateLimit-Limit"), "at the anonymous limit")
		r = do(t, srv, http.MethodPut, "repos/octo/app/actions/workflows/"+itoa(wf)+"/disable", "", "")
		assert.Equal(t, http.StatusUnauthorized, r.status, "writes need a token")
		assert.Equal(t, http.StatusNotFound, do(t, srv, http.MethodGet, "repos/octo/secret", "", "").status, "a private repository is not found")
		assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "repos/octo/secret", bearer, "").status)
		w, _ := srv.Workflow(wf)
		assert.Equal(t, ghactions.WorkflowActive, w.State)
	})
}

func TestIfNoneMatchUsesWeakComparison(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	const p = "repos/octo/app/actions/workflows"
	etag := do(t, srv, http.MethodGet, p, bearer, "").header.Get("ETag")
	require.True(t, strings.HasPrefix(etag, `W/"`), etag)
	strong := strings.TrimPrefix(etag, "W/")
	for _, tc := range []struct {
		name, inm string
		want      int
	}{
		{"same weak tag", etag, 304},
		{"strong form of the tag", strong, 304},
		{"in a list", `"nope", ` + etag + `, W/"other"`, 304},
		{"list without spaces", `"nope",` + strong, 304},
		{"any", "*", 304},
		{"other tag", `W/"nope"`, 200},
		{"malformed", strings.Trim(strong, `"`), 200},
	} {
		used := srv.RateLimit().Used
		r := do(t, srv, http.MethodGet, p, bearer, "", "If-None-Match", tc.inm)
		assert.Equal(t, tc.want, r.status, tc.name)
		if tc.want == 304 {
			assert.Empty(t, r.body, tc.name)
			assert.Equal(t, used, srv.RateLimit().Used, "%s: a 304 costs nothing", tc.name)
		}
	}
}

func TestPrimaryRateLimitAnswers403Or429(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			srv, clock, _ := newServer(t, ghtest.WithPrimaryLimitStatus(status))
			srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
			srv.SetRate(ghtest.Rate{Limit: 2, Remaining: 1, Used: 1, Reset: start.Add(time.Hour)})
			const p = "repos/octo/app/actions/workflows"
			r := do(t, srv, http.MethodGet, p, bearer, "")
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))
			r = do(t, srv, http.MethodGet, p, bearer, "")
			assert.Equal(t, status, r.status)
			assert.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))
			assert.Equal(t, itoa(start.Add(time.Hour).Unix()), r.header.Get("X-RateLimit-Reset"))
			assert.Contains(t, r.json(t)["message"], "API rate limit exceeded")

			clock.Advance(time.Hour)
			r = do(t, srv, http.MethodGet, p, bearer, "")
			assert.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "1", r.header.Get("X-RateLimit-Remaining"))
		})
	}
}

func TestSecondaryLimitWithAndWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	const p = "repos/octo/app/actions/workflows"
	srv.FailNext("GET /repos/*/*/actions/workflows", ghtest.SecondaryLimit(http.StatusTooManyRequests, 0))
	srv.FailNext("GET /repos/*/*/actions/workflows", ghtest.SecondaryLimit(http.StatusForbidden, 30*time.Second))
	r := do(t, srv, http.MethodGet, p, bearer, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Empty(t, r.header.Get("Retry-After"), "GitHub does not always say how long")
	assert.Contains(t, r.json(t)["message"], "secondary rate limit")
	r = do(t, srv, http.MethodGet, p, bearer, "")
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "30", r.header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, p, bearer, "").status, "faults are spent")
}

func TestForkRunsMatchTheBranchFilter(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	fork := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", HeadRepo: "stranger/app", Conclusion: ghactions.ConclusionFailure})
	list := do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows/ci.yml/runs?branch=main", bearer, "").json(t)
	runs := list["workflow_runs"].([]any)
	require.Len(t, runs, 2, "GitHub matches head_branch alone")
	newest := runs[0].(map[string]any)
	assert.EqualValues(t, fork, newest["id"])
	assert.Equal(t, "pull_request", newest["event"])
	assert.Equal(t, "stranger/app", newest["head_repository"].(map[string]any)["full_name"])
	assert.Equal(t, "octo/app", newest["repository"].(map[string]any)["full_name"])
	assert.NotEqual(t, newest["head_repository"].(map[string]any)["id"], newest["repository"].(map[string]any)["id"])
}

func TestWaitingRunsAndDeletedWorkflows(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/deploy.yml"})
	gone := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/old.yml", State: ghactions.WorkflowDeleted})
	for _, st := range []ghactions.RunStatus{ghactions.RunWaiting, ghactions.RunRequested, ghactions.RunPending} {
		srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: st})
	}
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: gone, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	waiting := do(t, srv, http.MethodGet, "repos/octo/app/actions/runs?status=waiting", bearer, "").json(t)
	assert.EqualValues(t, 1, waiting["total_count"])
	wfs := do(t, srv, http.MethodGet, "repos/octo/app/actions/workflows", bearer, "").json(t)
	assert.EqualValues(t, 2, wfs["total_count"], "a deleted workflow with runs is still listed")
	assert.Equal(t, "deleted", wfs["workflows"].([]any)[1].(map[string]any)["state"])
	r := do(t, srv, http.MethodPost, "repos/octo/app/actions/workflows/"+itoa(gone)+"/dispatches", bearer, `{"ref":"main"}`)
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestCancelIsAsynchronous(t *testing.T) {
	t.Parallel()
	srv, clock, _ := newServer(t, ghtest.WithCancelDelay(30*time.Second))
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	id := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunInProgress})
	p := "repos/octo/app/actions/runs/" + itoa(id)

	assert.Equal(t, http.StatusAccepted, do(t, srv, http.MethodPost, p+"/cancel", bearer, "").status)
	assert.Equal(t, "in_progress", do(t, srv, http.MethodGet, p, bearer, "").json(t)["status"], "202, then still running")
	assert.Equal(t, http.StatusAccepted, do(t, srv, http.MethodPost, p+"/cancel", bearer, "").status, "asked again while it cancels")
	assert.Equal(t, http.StatusForbidden, do(t, srv, http.MethodPost, p+"/rerun", bearer, "").status, "not re-run before it has ended")
	clock.Advance(29 * time.Second)
	assert.Equal(t, "in_progress", do(t, srv, http.MethodGet, p, bearer, "").json(t)["status"])
	clock.Advance(time.Second)
	got := do(t, srv, http.MethodGet, p, bearer, "").json(t)
	assert.Equal(t, "completed", got["status"])
	assert.Equal(t, "cancelled", got["conclusion"])
	assert.Equal(t, http.StatusConflict, do(t, srv, http.MethodPost, p+"/cancel", bearer, "").status)

	effects := 0
	for _, c := range srv.Calls() {
		if strings.HasSuffix(c.Path, "/cancel") && c.Effect {
			effects++
		}
	}
	assert.Equal(t, 1, effects, "one cancel took effect")

	// A cancel lands by script too, without the clock.
	other := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunQueued})
	require.Equal(t, http.StatusAccepted, do(t, srv, http.MethodPost, "repos/octo/app/actions/runs/"+itoa(other)+"/cancel", bearer, "").status)
	assert.True(t, srv.LandCancel(other))
	r, _ := srv.Run(other)
	assert.Equal(t, ghactions.ConclusionCancelled, r.Conclusion)
}

func TestZombieRunEndsOnlyByForceCancel(t *testing.T) {
	t.Parallel()
	srv, clock, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	id := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunQueued, Zombie: true})
	p := "repos/octo/app/actions/runs/" + itoa(id)
	r := do(t, srv, http.MethodPost, p+"/cancel", bearer, "")
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Equal(t, "queued", do(t, srv, http.MethodGet, p, bearer, "").json(t)["status"], "409, and still queued")
	assert.Equal(t, http.StatusAccepted, do(t, srv, http.MethodPost, p+"/force-cancel", bearer, "").status)
	clock.Advance(ghtest.DefaultCancelDelay)
	assert.Equal(t, "cancelled", do(t, srv, http.MethodGet, p, bearer, "").json(t)["conclusion"])
}

func TestDispatchRefusals(t *testing.T) {
	t.Parallel()
	srv, _, v := newServer(t)
	v.allowBadRequests()
	srv.AddRepository("octo", "app", ghtest.Repository{DefaultBranch: "trunk", Branches: []string{"release"}})
	ok := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ok.yml"})
	off := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/off.yml", State: ghactions.WorkflowDisabledInactivity})
	manual := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/manual.yml", State: ghactions.WorkflowDisabledManually})
	noTrigger := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/push.yml", NoDispatch: true})
	path := func(id int64) string { return "repos/octo/app/actions/workflows/" + itoa(id) + "/dispatches" }
	for _, tc := range []struct {
		name string
		wf   int64
		body string
		want int
		msg  string
	}{
		{"disabled for inactivity", off, `{"ref":"trunk"}`, 422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow"},
		{"disabled by a person", manual, `{"ref":"trunk"}`, 422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow"},
		{"no trigger", noTrigger, `{"ref":"trunk"}`, 422, "Workflow does not have 'workflow_dispatch' trigger"},
		{"missing ref", ok, `{"ref":"main"}`, 422, "No ref found for: main"},
		{"no ref", ok, `{}`, 422, `"ref" wasn't supplied`},
		{"bad JSON", ok, `{"ref":`, 400, "Problems parsing JSON"},
		{"default branch", ok, `{"ref":"trunk"}`, 204, ""},
		{"other branch, full ref", ok, `{"ref":"refs/heads/release"}`, 204, ""},
	} {
		r := do(t, srv, http.MethodPost, path(tc.wf), bearer, tc.body)
		require.Equal(t, tc.want, r.status, "%s: %s", tc.name, r.body)
		if tc.msg != "" {
			assert.Contains(t, r.json(t)["message"], tc.msg, tc.name)
		}
	}
	var dispatched []ghtest.Run
	for _, r := range srv.Runs("octo", "app") {
		dispatched = append(dispatched, r)
	}
	require.Len(t, dispatched, 2, "only the accepted dispatches made runs")
	assert.Equal(t, "workflow_dispatch", dispatched[0].Event)
	assert.Equal(t, ghactions.RunQueued, dispatched[0].Status)
}

// A run is re-run only while its workflow is active and for a month after
// it was created; a refused re-run changes nothing.
func TestRerunRefusals(t *testing.T) {
	t.Parallel()
	srv, clock, v := newServer(t)
	v.allowBadRequests()
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	old := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	clock.Advance(ghtest.RerunWindow + time.Hour)
	recent := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	running := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunInProgress})
	path := func(id int64, what string) string { return "repos/octo/app/actions/runs/" + itoa(id) + "/" + what }

	for _, what := range []string{"rerun", "rerun-failed-jobs"} {
		r := do(t, srv, http.MethodPost, path(old, what), bearer, "")
		require.Equal(t, http.StatusForbidden, r.status, "%s of a run over a month old", what)
		assert.Contains(t, r.json(t)["message"], "created over a month ago")
		r = do(t, srv, http.MethodPost, path(running, what), bearer, "")
		require.Equal(t, http.StatusForbidden, r.status, "%s of a run in progress", what)
	}
	require.True(t, srv.SetWorkflowState(wf, ghactions.WorkflowDisabledInactivity))
	r := do(t, srv, http.MethodPost, path(recent, "rerun-failed-jobs"), bearer, "")
	require.Equal(t, http.StatusForbidden, r.status, "a run of a disabled workflow")
	for _, id := range []int64{old, recent} {
		run, _ := srv.Run(id)
		assert.Equal(t, 1, run.Attempt, "refused: not re-run")
	}
	require.True(t, srv.SetWorkflowState(wf, ghactions.WorkflowActive))
	r = do(t, srv, http.MethodPost, path(recent, "rerun-failed-jobs"), bearer, "")
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	run, _ := srv.Run(recent)
	assert.Equal(t, 2, run.Attempt)
}

func TestFaultsBeforeAndAfterTheEffect(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	id := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	p := "repos/octo/app/actions/runs/" + itoa(id) + "/rerun-failed-jobs"
	const pattern = "POST /repos/*/*/actions/runs/*/rerun-failed-jobs"

	srv.FailNext(pattern, redundancytest.Fault{Status: http.StatusBadGateway})
	r := do(t, srv, http.MethodPost, p, bearer, "")
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.Contains(t, r.header.Get("Content-Type"), "text/html", "the edge answers HTML")
	assert.Contains(t, string(r.body), "<html")
	run, _ := srv.Run(id)
	assert.Equal(t, 1, run.Attempt, "a fault before the effect: nothing done")

	srv.FailNext(pattern, redundancytest.Fault{Status: http.StatusBadGateway, After: true})
	r = do(t, srv, http.MethodPost, p, bearer, "")
	assert.Equal(t, http.StatusBadGateway, r.status)
	run, _ = srv.Run(id)
	assert.Equal(t, 2, run.Attempt, "a fault after the effect: the re-run happened")
	calls := srv.Calls()
	last := calls[len(calls)-1]
	assert.True(t, last.Fault)
	assert.True(t, last.Effect)
	assert.Equal(t, http.StatusBadGateway, last.Status)

	srv.FailNext("GET /rate_limit", redundancytest.Fault{Status: 500, Header: http.Header{"X-Custom": {"1"}}, Body: `{"message":"boom"}`, Times: -1})
	for range 2 {
		r = do(t, srv, http.MethodGet, "rate_limit", bearer, "")
		assert.Equal(t, 500, r.status)
		assert.Equal(t, "1", r.header.Get("X-Custom"))
		assert.Equal(t, "boom", r.json(t)["message"])
	}
	srv.ClearFaults()
	assert.Equal(t, 200, do(t, srv, http.MethodGet, "rate_limit", bearer, "").status)
}

func TestFaultsHangAndDrop(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	srv.FailNext("GET /rate_limit", redundancytest.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"rate_limit", nil)
	_, err := srv.HTTPClient().Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	srv.FailNext("GET /rate_limit", redundancytest.Fault{Err: io.ErrUnexpectedEOF})
	req, _ = http.NewRequest(http.MethodGet, srv.URL()+"rate_limit", nil)
	_, err = srv.HTTPClient().Do(req)
	assert.Error(t, err, "the connection is dropped")
}

func TestPagingCapsPerPage(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	for range 130 {
		srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	}
	r := do(t, srv, http.MethodGet, "repos/octo/app/actions/runs?per_page=500", bearer, "")
	assert.Len(t, r.json(t)["workflow_runs"], 100, "per_page is capped at 100")
	assert.Contains(t, r.header.Get("Link"), `rel="next"`)
}

func TestPollIntervalHeader(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t, ghtest.WithPollInterval(20*time.Second))
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	id := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main"})
	assert.Equal(t, "20", do(t, srv, http.MethodGet, "repos/octo/app/actions/runs/"+itoa(id), bearer, "").header.Get("X-Poll-Interval"))
}

func TestClientIsTheRealOne(t *testing.T) {
	t.Parallel()
	srv, clock, _ := newServer(t, ghtest.WithToken(token))
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	run := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Status: ghactions.RunInProgress})
	var c *ghactions.Client = srv.Client()
	ctx := context.Background()
	list, resp, err := c.ListWorkflows(ctx, "octo", "app", &github.ListOptions{PerPage: 1})
	require.NoError(t, err)
	assert.Equal(t, 1, list.GetTotalCount())
	assert.Equal(t, ghtest.DefaultRateLimit-1, resp.Rate.Remaining)
	_, _, err = c.ListWorkflows(ctx, "octo", "app", &github.ListOptions{PerPage: 1})
	require.NoError(t, err)
	assert.Equal(t, 1, c.Stats().NotModified, "the second read was conditional: its Transport is in the loop")
	_, err = c.CancelWorkflowRunByID(ctx, "octo", "app", run)
	var accepted *github.AcceptedError
	require.ErrorAs(t, err, &accepted)
	done := make(chan error, 1)
	go func() {
		_, err := c.ForceCancelWorkflowRunByID(ctx, "octo", "app", run)
		done <- err
	}()
	require.True(t, clock.BlockUntil(1, 10*time.Second), "the second write waits a second on the client's clock")
	select {
	case err := <-done:
		t.Fatalf("the second write went at once: %v", err)
	default:
	}
	clock.Advance(time.Second)
	require.ErrorAs(t, <-done, &accepted)
	assert.Equal(t, 1, c.Stats().Paced)
	for _, call := range srv.Calls() {
		assert.True(t, call.Authorized, call.String())
		assert.NotEqual(t, http.StatusUnauthorized, call.Status)
	}
}
