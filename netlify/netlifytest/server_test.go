package netlifytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
)

func get(t *testing.T, srv *netlifytest.Server, path, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.APIURL()+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestServerSpeaksTheAPI(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)

	tests := []struct {
		name, path, token string
		status            int
		body              string
	}{
		{"needs a token", "/sites/" + site, "", 401, `"code":401`},
		{"wrong token", "/sites/" + site, "nope", 401, "Access Denied"},
		{"site", "/sites/" + site, netlifytest.DefaultToken, 200, `"published_deploy":{"id":"d1"`},
		{"unknown site", "/sites/none", netlifytest.DefaultToken, 404, `{"code":404,"message":"Not Found"}`},
		{"unknown path", "/accounts", netlifytest.DefaultToken, 404, `"message":"Not Found"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv, tt.path, tt.token)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, body, tt.body)
			assert.Equal(t, "500", resp.Header.Get("X-RateLimit-Limit"))
			_, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
			assert.NoError(t, err)
			reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
			require.NoError(t, err)
			assert.Greater(t, reset, time.Now().Unix())
		})
	}
}

func TestServerDeployFields(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d1", State: netlify.DeployError, ErrorMessage: "boom",
		FunctionSchedules: []netlify.FunctionSchedule{{Name: "nightly", Cron: "@daily"}}}, false)
	_, body := get(t, srv, "/sites/s/deploys/d1", netlifytest.DefaultToken)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	for _, k := range []string{"id", "site_id", "state", "error_message", "branch", "context", "created_at", "updated_at", "ssl_url", "deploy_ssl_url", "function_schedules"} {
		assert.Contains(t, raw, k)
	}
	assert.Equal(t, "error", raw["state"])
	assert.Equal(t, []any{map[string]any{"name": "nightly", "cron": "@daily"}}, raw["function_schedules"])
}

func TestServerFailNextAndBuilds(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "s"})
	srv.FailNext("*", "*", netlifytest.ServerError())
	resp, _ := get(t, srv, "/sites/s", netlifytest.DefaultToken)
	assert.Equal(t, 500, resp.StatusCode)
	resp, _ = get(t, srv, "/sites/s", netlifytest.DefaultToken)
	assert.Equal(t, 200, resp.StatusCode, "one failure, then normal again")

	srv.QueueBuildResults(netlifytest.BuildResult{State: netlify.DeployError, ErrorMessage: "exit 1"})
	c := srv.Client()
	b, err := c.CreateBuild(t.Context(), site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	assert.Equal(t, "exit 1", b.Error)
	assert.True(t, b.Done)
	b2, err := c.CreateBuild(t.Context(), site, netlify.CreateBuildOptions{})
	require.NoError(t, err)
	assert.Empty(t, b2.Error)
	assert.Equal(t, b2.DeployID, srv.Published(site), "a good build is published")
	ds := srv.Deploys(site)
	require.Len(t, ds, 2)
	assert.Equal(t, netlify.DeployReady, ds[0].State)
	assert.Equal(t, netlify.DeployError, ds[1].State)
}
