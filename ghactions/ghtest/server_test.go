package ghtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var start = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func newServer(t *testing.T) (*ghtest.Server, *redundancytest.FakeClock) {
	t.Helper()
	clock := redundancytest.NewFakeClock(start)
	srv := ghtest.NewServer(ghtest.WithClock(clock))
	t.Cleanup(srv.Close)
	return srv, clock
}

func get(t *testing.T, srv *ghtest.Server, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghtest.ConclusionFailure})

	resp, body := get(t, srv, "repos/octo/app/actions/workflows", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource", "ETag"} {
		assert.NotEmpty(t, resp.Header.Get(h), h)
	}
	var list map[string]any
	require.NoError(t, json.Unmarshal(body, &list))
	assert.EqualValues(t, 1, list["total_count"])
	w := list["workflows"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "node_id", "name", "path", "state", "created_at", "updated_at", "url", "html_url", "badge_url"} {
		assert.Contains(t, w, k)
	}
	assert.Equal(t, "active", w["state"])

	_, body = get(t, srv, "repos/octo/app/actions/workflows/ci.yml/runs?branch=main", nil)
	var runs map[string]any
	require.NoError(t, json.Unmarshal(body, &runs))
	assert.EqualValues(t, 1, runs["total_count"])
	r := runs["workflow_runs"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "name", "head_branch", "head_sha", "run_number", "run_attempt", "event", "status", "conclusion", "workflow_id", "created_at", "updated_at", "run_started_at", "html_url"} {
		assert.Contains(t, r, k)
	}
	assert.Equal(t, "failure", r["conclusion"])

	resp, body = get(t, srv, "rate_limit", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var rl struct {
		Resources struct {
			Core struct{ Limit, Remaining, Used int } `json:"core"`
		} `json:"resources"`
		Rate struct{ Limit int } `json:"rate"`
	}
	require.NoError(t, json.Unmarshal(body, &rl))
	assert.Equal(t, ghtest.DefaultRateLimit, rl.Resources.Core.Limit)
	assert.Equal(t, 2, rl.Resources.Core.Used, "two charged calls; /rate_limit is free")

	resp, _ = get(t, srv, "repos/octo/nope/actions/workflows", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestConditionalRequestsAreFree(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	resp, _ := get(t, srv, "repos/octo/app/actions/workflows", nil)
	etag := resp.Header.Get("ETag")
	used := srv.RateLimit().Used

	resp, body := get(t, srv, "repos/octo/app/actions/workflows", map[string]string{"If-None-Match": etag})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, used, srv.RateLimit().Used)

	srv.SetWorkflowState(wf, ghtest.StateDisabledManually)
	resp, _ = get(t, srv, "repos/octo/app/actions/workflows", map[string]string{"If-None-Match": etag})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a change gives a new ETag")
	assert.NotEqual(t, etag, resp.Header.Get("ETag"))
}

func TestRateLimitRunsOutAndRefills(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	srv.SetRate(ghtest.Rate{Limit: 2, Remaining: 1, Used: 1, Reset: start.Add(time.Hour)})

	resp, _ := get(t, srv, "repos/octo/app/actions/workflows", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	resp, _ = get(t, srv, "repos/octo/app/actions/workflows", nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	clock.Advance(time.Hour)
	resp, _ = get(t, srv, "repos/octo/app/actions/workflows", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("X-RateLimit-Remaining"))
}

func TestGoGitHubClientAgainstServer(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ctx := context.Background()
	gh := srv.Client()
	var ids []int64
	for range 3 {
		ids = append(ids, srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/w.yml"}))
	}
	list, resp, err := gh.Actions.ListWorkflows(ctx, "octo", "app", &github.ListOptions{PerPage: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, list.GetTotalCount())
	assert.Len(t, list.Workflows, 2)
	assert.Equal(t, 2, resp.NextPage, "Link header parsed")
	assert.Equal(t, ghtest.DefaultRateLimit-1, resp.Rate.Remaining)

	srv.SetWorkflowState(ids[0], ghtest.StateDisabledInactivity)
	_, err = gh.Actions.EnableWorkflowByID(ctx, "octo", "app", ids[0])
	require.NoError(t, err)
	w, _ := srv.Workflow(ids[0])
	assert.Equal(t, ghtest.StateActive, w.State)

	run := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ids[1], Branch: "main", Status: ghtest.RunInProgress})
	_, err = gh.Actions.CancelWorkflowRunByID(ctx, "octo", "app", run)
	var accepted *github.AcceptedError
	require.ErrorAs(t, err, &accepted, "202 on cancel")
	_, err = gh.Actions.CancelWorkflowRunByID(ctx, "octo", "app", run)
	var er *github.ErrorResponse
	require.ErrorAs(t, err, &er)
	assert.Equal(t, http.StatusConflict, er.Response.StatusCode)

	_, err = gh.Actions.RerunFailedJobsByID(ctx, "octo", "app", run)
	require.NoError(t, err)
	got, _, err := gh.Actions.GetWorkflowRunByID(ctx, "octo", "app", run)
	require.NoError(t, err)
	assert.Equal(t, 2, got.GetRunAttempt())
	assert.Equal(t, "queued", got.GetStatus())

	_, err = gh.Actions.CreateWorkflowDispatchEventByID(ctx, "octo", "app", ids[2], github.CreateWorkflowDispatchEventRequest{})
	require.ErrorAs(t, err, &er)
	assert.Equal(t, http.StatusUnprocessableEntity, er.Response.StatusCode, "ref is required")
	_, err = gh.Actions.CreateWorkflowDispatchEventByID(ctx, "octo", "app", ids[2], github.CreateWorkflowDispatchEventRequest{Ref: "main"})
	require.NoError(t, err)

	calls := srv.Calls()
	require.NotEmpty(t, calls)
	assert.Equal(t, "GET /repos/octo/app/actions/workflows?per_page=2 -> 200", calls[0].String())
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/ci.yml"})
	gh := srv.Client()
	ctx := context.Background()

	srv.Inject(ghtest.Fault{Kind: ghtest.FaultStatus, Times: 1})
	_, resp, err := gh.Actions.ListWorkflows(ctx, "octo", "app", nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)

	srv.Inject(ghtest.Fault{Kind: ghtest.FaultMalformedJSON, Times: 1})
	_, _, err = gh.Actions.ListWorkflows(ctx, "octo", "app", nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	srv.Inject(ghtest.Fault{Kind: ghtest.FaultSecondaryLimit, Times: 1, RetryAfter: 30 * time.Second})
	_, _, err = gh.Actions.ListWorkflows(ctx, "octo", "app", nil)
	var abuse *github.AbuseRateLimitError
	require.ErrorAs(t, err, &abuse)
	require.NotNil(t, abuse.RetryAfter)
	assert.Equal(t, 30*time.Second, *abuse.RetryAfter)

	srv.Inject(ghtest.Fault{Kind: ghtest.FaultHang, Method: http.MethodGet, PathContains: "/rate_limit", Times: 1})
	hctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, _, err = srv.Client().RateLimit.Get(hctx)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}
