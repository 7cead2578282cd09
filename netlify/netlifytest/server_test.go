package netlifytest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// raw sends a request to the server and returns the answer and its body.
func raw(t *testing.T, srv *netlifytest.Server, method, path, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestServerConformsToTheAPIDescription drives every operation the server
// serves, answers good and bad, through a client that checks each request
// and answer against Netlify's published description.
func TestServerConformsToTheAPIDescription(t *testing.T) {
	t.Parallel()
	clk := redundancytest.NewFakeClock(t0)
	srv, c, v := newServer(t, netlifytest.WithClock(clk))
	ctx := context.Background()
	site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "old", CommitRef: "0123456789abcdef"}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "bad", State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "live", FunctionSchedules: []netlify.FunctionSchedule{{Name: "nightly", Cron: "@daily"}},
		AvailableFunctions: []netlify.DeployedFunction{{Name: "hello"}}, RequiredFunctions: []string{"hello"}}, true)
	for i := range 120 {
		srv.AddDeploy(site, netlify.Deploy{ID: fmt.Sprintf("p%03d", i), Context: "deploy-preview", Branch: "pr"}, false)
	}

	_, err := c.GetSite(ctx, site)
	require.NoError(t, err)
	_, err = c.GetSite(ctx, "nope")
	require.True(t, netlify.IsNotFound(err))
	for d, err := range netlify.AllDeploys(ctx, c, site, netlify.ListDeploysOptions{}) {
		require.NoError(t, err)
		_ = d
	}
	_, err = c.GetDeploy(ctx, site, "bad")
	require.NoError(t, err)
	_, err = c.RestoreDeploy(ctx, site, "bad")
	require.Error(t, err, "not ready: 422")
	_, err = c.LockDeploy(ctx, "old")
	require.Error(t, err, "not published: 422")
	_, err = c.RestoreDeploy(ctx, site, "old")
	require.NoError(t, err)
	_, err = c.LockDeploy(ctx, "old")
	require.NoError(t, err)
	b, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{ClearCache: true, Title: "t"})
	require.NoError(t, err)
	_, err = c.CancelDeploy(ctx, b.DeployID)
	require.NoError(t, err)
	_, err = c.CancelDeploy(ctx, b.DeployID)
	require.Error(t, err, "no longer in progress: 422")
	_, err = c.UnlockDeploy(ctx, "old")
	require.NoError(t, err)
	b, err = c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	clk.Advance(time.Minute)
	_, err = c.GetDeploy(ctx, site, b.DeployID)
	require.NoError(t, err)
	s, err := c.GetSite(ctx, site)
	require.NoError(t, err)
	require.Equal(t, b.DeployID, s.PublishedDeploy.ID)
	_, err = srv.Client(netlify.WithToken("wrong")).GetSite(ctx, site)
	require.Error(t, err)
	_, err = netlifytest.NewServer().Client().GetSite(ctx, site) // unvalidated server: just to be sure the helper is used
	require.Error(t, err)

	got := v.Checked()
	for _, k := range []string{
		"getSite OK", "getSite Not Found", "listSiteDeploys OK", "getSiteDeploy OK",
		"restoreSiteDeploy Created", "restoreSiteDeploy Unprocessable Entity",
		"lockDeploy OK", "lockDeploy Unprocessable Entity", "unlockDeploy OK",
		"createSiteBuild OK", "cancelSiteDeploy Created", "cancelSiteDeploy Unprocessable Entity",
	} {
		assert.Positive(t, got[k], "no answer of %q was checked (checked: %v)", k, got)
	}
	assert.Equal(t, 2, got["listSiteDeploys OK"], "123 deploys: two pages of 100")
}

func TestServerNeedsTheToken(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)
	for _, rt := range []struct{ method, path string }{
		{"GET", "/sites/s"}, {"GET", "/sites/s/deploys"}, {"GET", "/sites/s/deploys/d1"},
		{"POST", "/sites/s/deploys/d1/restore"}, {"POST", "/sites/s/builds"}, {"POST", "/deploys/d1/cancel"},
		{"POST", "/deploys/d1/lock"}, {"POST", "/deploys/d1/unlock"}, {"GET", "/accounts"},
	} {
		for _, token := range []string{"", "wrong"} {
			resp, body := raw(t, srv, rt.method, netlifytest.APIPrefix+rt.path, token)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s with token %q", rt.method, rt.path, token)
			assert.Contains(t, body, `"code":401`)
		}
	}
	assert.Empty(t, srv.Builds(), "nothing happened without the token")
	assert.False(t, srv.Deploys(site)[0].Locked)

	// Build hooks take no token: the URL is the secret.
	hook := srv.BuildHookURL(site)
	resp, body := raw(t, srv, "POST", strings.TrimPrefix(hook, srv.URL()), "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	require.Len(t, srv.Builds(), 1)
	assert.True(t, srv.Builds()[0].ViaHook)
}

func TestServerAnswersLikeTheRealAPI(t *testing.T) {
	t.Parallel()
	srv, _, _ := newServer(t)
	site := srv.AddSite(netlify.Site{ID: "s", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0.Add(1500 * time.Microsecond)}, false)
	resp, body := raw(t, srv, "GET", netlifytest.APIPrefix+"/sites/s/deploys/d1", netlifytest.DefaultToken)
	require.Equal(t, 200, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	for _, k := range []string{"error_message", "published_at", "commit_ref", "title", "review_id", "locked", "skipped", "screenshot_url", "build_id"} {
		v, ok := m[k]
		assert.True(t, ok, "field %s is sent", k)
		assert.Nil(t, v, "an unset %s is null, as the API sends it", k)
	}
	for _, k := range []string{"summary", "links", "deploy_time", "available_functions", "plugin_state", "user_id"} {
		assert.Contains(t, m, k, "fields package netlify does not read are sent too")
	}
	assert.Equal(t, "2026-03-01T12:00:00.001Z", m["created_at"], "times in UTC at millisecond precision")

	resp, body = raw(t, srv, "GET", netlifytest.APIPrefix+"/sites/s", netlifytest.DefaultToken)
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Nil(t, m["published_deploy"])
	assert.Contains(t, m, "build_settings")
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		_, err := strconv.ParseInt(resp.Header.Get(h), 10, 64)
		assert.NoError(t, err, h)
	}
}

func TestServerPagesDeployLists(t *testing.T) {
	t.Parallel()
	srv, c, _ := newServer(t)
	ctx := context.Background()
	site := srv.AddSite(netlify.Site{ID: "s"})
	for i := range 250 {
		srv.AddDeploy(site, netlify.Deploy{ID: fmt.Sprintf("d%03d", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)}, false)
	}

	resp, body := raw(t, srv, "GET", netlifytest.APIPrefix+"/sites/s/deploys?per_page=500", netlifytest.DefaultToken)
	var page []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	assert.Len(t, page, 100, "per_page is capped at 100")
	link := resp.Header.Get("Link")
	assert.Contains(t, link, `page=2`)
	assert.Contains(t, link, `rel="next"`)
	assert.Contains(t, link, `page=3`)
	assert.Contains(t, link, `rel="last"`)
	assert.Equal(t, "d249", page[0]["id"], "newest first")

	ds, p, err := c.ListDeploys(ctx, site, netlify.ListDeploysOptions{PerPage: 100, Page: 3})
	require.NoError(t, err)
	assert.Len(t, ds, 50)
	assert.False(t, p.More(), "the last page")
	assert.Equal(t, 3, p.Last)
	ds, p, err = c.ListDeploys(ctx, site, netlify.ListDeploysOptions{})
	require.NoError(t, err)
	assert.Len(t, ds, 100, "100 by default")
	assert.Equal(t, netlify.Page{Next: 2, Last: 3}, p)

	var all []string
	for d, err := range netlify.AllDeploys(ctx, c, site, netlify.ListDeploysOptions{PerPage: 40}) {
		require.NoError(t, err)
		all = append(all, d.ID)
	}
	require.Len(t, all, 250)
	assert.Equal(t, "d249", all[0])
	assert.Equal(t, "d000", all[249])

	resp, _ = raw(t, srv, "GET", netlifytest.APIPrefix+"/sites/s/deploys?per_page=ten", netlifytest.DefaultToken)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestServerBuildsTakeTime(t *testing.T) {
	t.Parallel()
	clk := redundancytest.NewFakeClock(t0)
	srv, c, _ := newServer(t, netlifytest.WithClock(clk), netlifytest.WithBuildTimes(10*time.Second, time.Minute))
	ctx := context.Background()
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "live", CreatedAt: t0.Add(-time.Hour)}, true)
	srv.QueueBuildResults(netlifytest.BuildResult{}, netlifytest.BuildResult{State: netlify.DeployError, ErrorMessage: "exit 2"}, netlifytest.BuildResult{Stall: true})

	b, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{ClearCache: true, Title: "again"})
	require.NoError(t, err)
	assert.False(t, b.Done)
	state := func(id string) netlify.DeployState {
		d, err := c.GetDeploy(ctx, site, id)
		require.NoError(t, err)
		return d.State
	}
	assert.Equal(t, netlify.DeployEnqueued, state(b.DeployID))
	assert.Equal(t, "live", srv.Published(site))
	clk.Advance(10 * time.Second)
	assert.Equal(t, netlify.DeployBuilding, state(b.DeployID))
	clk.Advance(time.Minute)
	assert.Equal(t, netlify.DeployReady, state(b.DeployID))
	assert.Equal(t, b.DeployID, srv.Published(site), "a ready production build is published")
	builds := srv.Builds()
	require.Len(t, builds, 1)
	assert.True(t, builds[0].ClearCache, "clear_cache is read from the query")
	assert.Equal(t, "again", builds[0].Title)

	failed, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	srv.CompleteBuilds()
	d, err := c.GetDeploy(ctx, site, failed.DeployID)
	require.NoError(t, err)
	assert.Equal(t, netlify.DeployError, d.State)
	assert.Equal(t, "exit 2", d.ErrorMessage)
	assert.Equal(t, b.DeployID, srv.Published(site))

	stuck, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	clk.Advance(24 * time.Hour)
	srv.CompleteBuilds()
	assert.Equal(t, netlify.DeployBuilding, state(stuck.DeployID), "a stalled build stays building")
	d, err = c.CancelDeploy(ctx, stuck.DeployID)
	require.NoError(t, err)
	assert.Equal(t, netlify.DeployError, d.State)
	assert.Equal(t, "Canceled build", d.ErrorMessage)
	_, err = c.CancelDeploy(ctx, stuck.DeployID)
	var ae *netlify.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode, "a finished deploy cannot be cancelled")
}

func TestServerLocks(t *testing.T) {
	t.Parallel()
	srv, c, _ := newServer(t)
	ctx := context.Background()
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "a", CreatedAt: t0}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, true)

	_, err := c.LockDeploy(ctx, "a")
	var ae *netlify.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode, "only the published deploy can be locked")
	d, err := c.LockDeploy(ctx, "b")
	require.NoError(t, err)
	assert.True(t, d.Locked)

	b, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	srv.CompleteBuilds()
	nd, ok := srv.Deploy(b.DeployID)
	require.True(t, ok)
	assert.Equal(t, netlify.DeployReady, nd.State)
	assert.Equal(t, "b", srv.Published(site), "a locked site does not publish new deploys")

	_, err = c.RestoreDeploy(ctx, site, "a")
	require.NoError(t, err)
	assert.Equal(t, "a", srv.Published(site), "publishing by hand works while locked")
	old, _ := srv.Deploy("b")
	assert.False(t, old.Locked, "and lifts the lock")

	_, err = c.LockDeploy(ctx, "a")
	require.NoError(t, err)
	d, err = c.UnlockDeploy(ctx, "a")
	require.NoError(t, err)
	assert.False(t, d.Locked)
	assert.Equal(t, "a", srv.Published(site), "unlocking publishes nothing by itself")
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a 502 after the build started", func(t *testing.T) {
		t.Parallel()
		srv, c, v := newServer(t)
		site := srv.AddSite(netlify.Site{ID: "s"})
		srv.FailNext("POST "+netlifytest.APIPrefix+"/sites/*/builds", netlifytest.BadGatewayAfter(1))
		_, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
		require.ErrorIs(t, err, netlify.ErrUncertain)
		var ae *netlify.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, http.StatusBadGateway, ae.StatusCode)
		assert.Equal(t, "Bad Gateway", ae.Message, "the gateway's HTML is not quoted")
		assert.Len(t, srv.Builds(), 1, "the build started")
		assert.Equal(t, 1, srv.CallCount("POST /api/v1/sites/*/builds"), "and was not sent again")
		assert.Equal(t, 1, v.gateway)
		calls := srv.Calls()
		assert.True(t, calls[len(calls)-1].Fault)
	})
	t.Run("the default bodies", func(t *testing.T) {
		t.Parallel()
		srv := netlifytest.NewServer()
		t.Cleanup(srv.Close)
		srv.AddSite(netlify.Site{ID: "s"})
		for _, tc := range []struct {
			status int
			ct     string
			body   string
		}{{502, "text/html", "<h1>502 Bad Gateway</h1>"}, {504, "text/html", "<h1>504 Gateway Timeout</h1>"}, {500, "application/json", `"code":500`}} {
			srv.FailNext("GET /api/v1/sites/s", redundancytest.Fault{Status: tc.status})
			resp, body := raw(t, srv, "GET", "/api/v1/sites/s", netlifytest.DefaultToken)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ct))
			assert.Contains(t, body, tc.body)
		}
	})
	t.Run("patterns, times and the connection dropped", func(t *testing.T) {
		t.Parallel()
		srv := netlifytest.NewServer()
		t.Cleanup(srv.Close)
		srv.AddSite(netlify.Site{ID: "s"})
		srv.FailNext("GET /sites/s", redundancytest.Fault{Status: 500})
		resp, _ := raw(t, srv, "GET", "/api/v1/sites/s", netlifytest.DefaultToken)
		assert.Equal(t, 200, resp.StatusCode, "patterns name the path with the API prefix")
		srv.ClearFaults()
		srv.FailNext("GET /api/v1/sites/*", redundancytest.Fault{Status: 503, Times: 2})
		for _, want := range []int{503, 503, 200} {
			resp, _ = raw(t, srv, "GET", "/api/v1/sites/s", netlifytest.DefaultToken)
			assert.Equal(t, want, resp.StatusCode)
		}
		srv.FailNext("GET /api/v1/sites/s", redundancytest.Fault{Err: io.ErrUnexpectedEOF, Times: -1})
		_, err := srv.HTTPClient().Get(srv.URL() + "/api/v1/sites/s")
		require.Error(t, err, "the connection is closed without an answer")
		srv.ClearFaults()
	})
	t.Run("a hang after the effect", func(t *testing.T) {
		t.Parallel()
		srv := netlifytest.NewServer()
		t.Cleanup(srv.Close)
		site := srv.AddSite(netlify.Site{ID: "s"})
		srv.AddDeploy(site, netlify.Deploy{ID: "a", CreatedAt: t0}, false)
		srv.AddDeploy(site, netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, true)
		srv.FailNext("POST /api/v1/sites/s/deploys/a/restore", redundancytest.Fault{After: true, Hang: true})
		_, err := srv.Client(netlify.WithTimeout(50*time.Millisecond)).RestoreDeploy(ctx, site, "a")
		require.ErrorIs(t, err, netlify.ErrUncertain)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "a", srv.Published(site), "it was published all the same")
	})
}

func TestServerFunctions(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "a", CreatedAt: t0}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "b", CreatedAt: t0.Add(time.Hour)}, true)
	srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	srv.SetDeployFunction("b", "hello", netlifytest.Function{Status: 500, Body: "boom"})
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/.netlify/functions/hello", 500, "boom"},
		{"/deploy/a/.netlify/functions/hello", 200, "hi"},
		{"/deploy/b/.netlify/functions/hello", 500, "boom"},
		{"/deploy/zzz/.netlify/functions/hello", 404, "Function not found"},
		{"/.netlify/functions/nope", 404, "Function not found"},
	} {
		resp, body := raw(t, srv, "GET", tc.path, "")
		assert.Equal(t, tc.status, resp.StatusCode, tc.path)
		assert.Contains(t, body, tc.body, tc.path)
	}
}
