package netlify_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func newSite(t *testing.T) (*netlifytest.Server, string) {
	t.Helper()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	return srv, id
}

func TestClientGetSiteAndDeploys(t *testing.T) {
	t.Parallel()
	srv, site := newSite(t)
	srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(time.Minute), CommitRef: "abc"}, true)
	srv.AddDeploy(site, netlify.Deploy{ID: "p1", CreatedAt: t0.Add(2 * time.Minute), Context: "deploy-preview", Branch: "feature"}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "d3", CreatedAt: t0.Add(3 * time.Minute), State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
	c := srv.Client()
	ctx := context.Background()

	s, err := c.GetSite(ctx, site)
	require.NoError(t, err)
	assert.Equal(t, "shop", s.Name)
	require.NotNil(t, s.PublishedDeploy)
	assert.Equal(t, "d2", s.PublishedDeploy.ID)
	assert.Equal(t, srv.URL(), s.PublicURL())

	prod := true
	tests := []struct {
		name string
		opts netlify.ListDeploysOptions
		want []string
	}{
		{"all newest first", netlify.ListDeploysOptions{}, []string{"d3", "p1", "d2", "d1"}},
		{"production", netlify.ListDeploysOptions{Production: &prod}, []string{"d3", "d2", "d1"}},
		{"ready production", netlify.ListDeploysOptions{Production: &prod, State: netlify.DeployReady}, []string{"d2", "d1"}},
		{"branch", netlify.ListDeploysOptions{Branch: "feature"}, []string{"p1"}},
		{"page 2 of 2 per page", netlify.ListDeploysOptions{Page: 2, PerPage: 2}, []string{"d2", "d1"}},
		{"page past the end", netlify.ListDeploysOptions{Page: 9, PerPage: 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, _, err := c.ListDeploys(ctx, site, tt.opts)
			require.NoError(t, err)
			var got []string
			for _, d := range ds {
				got = append(got, d.ID)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	calls := srv.Calls()
	last := calls[len(calls)-1]
	assert.Equal(t, "/api/v1/sites/site-1/deploys", last.Path)
	assert.Equal(t, "9", last.Query.Get("page"))
	assert.Equal(t, "2", last.Query.Get("per_page"))

	d, err := c.GetDeploy(ctx, site, "d3")
	require.NoError(t, err)
	assert.Equal(t, netlify.DeployError, d.State)
	assert.True(t, d.State.Failed())
	assert.Equal(t, "Build script returned non-zero exit code: 2", d.ErrorMessage)
}

func TestClientRestoreAndBuilds(t *testing.T) {
	t.Parallel()
	srv, site := newSite(t)
	srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "d2"}, true)
	srv.AddDeploy(site, netlify.Deploy{ID: "bad", State: netlify.DeployError}, false)
	c := srv.Client()
	ctx := context.Background()

	d, err := c.RestoreDeploy(ctx, site, "d1")
	require.NoError(t, err)
	assert.Equal(t, "d1", d.ID)
	assert.Equal(t, "d1", srv.Published(site))

	_, err = c.RestoreDeploy(ctx, site, "bad")
	var ae *netlify.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	assert.Equal(t, "d1", srv.Published(site), "a non-ready deploy is never published")

	b, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{ClearCache: true, Title: "again"})
	require.NoError(t, err)
	assert.NotEmpty(t, b.ID)
	assert.NotEmpty(t, b.DeployID)
	calls := srv.Calls()
	bc := calls[len(calls)-1]
	assert.Equal(t, "true", bc.Query.Get("clear_cache"), "clear_cache is a query parameter, as the API description has it")
	assert.Equal(t, "again", bc.Query.Get("title"))
	assert.Empty(t, bc.Body)
	require.Len(t, srv.Builds(), 1)
	assert.True(t, srv.Builds()[0].ClearCache)

	hook := srv.BuildHookURL(site)
	require.NoError(t, c.TriggerBuildHook(ctx, hook, netlify.BuildHookOptions{Title: "retry", ClearCache: true}))
	require.Len(t, srv.Builds(), 2)
	calls = srv.Calls()
	hc := calls[len(calls)-1]
	assert.False(t, hc.Authed, "the token is never sent to a build hook")
	assert.Equal(t, "retry", hc.Query.Get("trigger_title"))
	assert.Equal(t, "true", hc.Query.Get("clear_cache"))

	err = c.TriggerBuildHook(ctx, srv.URL()+"/build_hooks/nosuchsecret", netlify.BuildHookOptions{})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)
	assert.NotContains(t, err.Error(), "nosuchsecret", "a hook URL is a credential")
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("404 carries the API message", func(t *testing.T) {
		t.Parallel()
		srv, _ := newSite(t)
		_, err := srv.Client().GetSite(ctx, "nope")
		var ae *netlify.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 404, ae.StatusCode)
		assert.Equal(t, "Not Found", ae.Message)
		assert.True(t, netlify.IsNotFound(err))
		assert.Equal(t, 1, srv.CallCount("GET /api/v1/sites/nope"), "4xx is not retried")
	})
	t.Run("401 with a wrong token never shows it", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		_, err := srv.Client(netlify.WithToken("s3cr3t-wrong")).GetSite(ctx, site)
		var ae *netlify.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 401, ae.StatusCode)
		assert.NotContains(t, err.Error(), "s3cr3t")
	})
	t.Run("bad arguments", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		c := srv.Client()
		_, err := c.GetSite(ctx, "")
		require.ErrorIs(t, err, netlify.ErrInvalidArgument)
		_, err = c.GetDeploy(ctx, site, "../x")
		require.ErrorIs(t, err, netlify.ErrInvalidArgument)
		require.ErrorIs(t, c.TriggerBuildHook(ctx, "not a url", netlify.BuildHookOptions{}), netlify.ErrInvalidArgument)
		_, err = netlify.NewAPIClient(netlify.WithBaseURL("::"), netlify.WithToken("t")).GetSite(ctx, site)
		require.ErrorIs(t, err, netlify.ErrInvalidArgument)
	})
	t.Run("500s are retried", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.FailNext("GET /api/v1/sites/"+site, times(netlifytest.ServerError(), 2))
		clk := newRecClock(t0)
		s, err := srv.Client(netlify.WithClock(clk), netlify.WithRetry(3, 100*time.Millisecond)).GetSite(ctx, site)
		require.NoError(t, err)
		assert.Equal(t, site, s.ID)
		assert.Equal(t, 3, srv.CallCount("GET /api/v1/sites/"+site))
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, clk.Waits(), "exponential backoff")
	})
	t.Run("500s past the retries", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.FailNext("GET /api/v1/sites/*", times(netlifytest.ServerError(), 3))
		_, err := srv.Client(netlify.WithClock(newRecClock(t0)), netlify.WithRetry(2, time.Millisecond)).GetSite(ctx, site)
		var ae *netlify.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 500, ae.StatusCode)
		assert.Equal(t, 3, srv.CallCount("GET /api/v1/sites/"+site))
	})
	t.Run("a POST that fails after it may have taken effect is not sent again", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)
		c := srv.Client(netlify.WithClock(newRecClock(t0)), netlify.WithRetry(3, time.Millisecond))
		for _, f := range []redundancytest.Fault{
			{Status: 500}, {Status: 502}, {Status: 503, After: true}, {Status: 504},
			{Err: io.ErrUnexpectedEOF}, {After: true, Err: io.ErrUnexpectedEOF},
		} {
			before := srv.CallCount("POST /api/v1/sites/*/builds")
			srv.FailNext("POST /api/v1/sites/*/builds", f)
			_, err := c.CreateBuild(ctx, site, netlify.CreateBuildOptions{})
			require.ErrorIs(t, err, netlify.ErrUncertain, "%+v", f)
			assert.Contains(t, err.Error(), "may have taken effect")
			assert.Equal(t, before+1, srv.CallCount("POST /api/v1/sites/*/builds"), "sent once: %+v", f)
		}
		// A 4xx is a refusal: nothing happened, and it says so.
		_, err := c.RestoreDeploy(ctx, site, "nope")
		require.Error(t, err)
		assert.NotErrorIs(t, err, netlify.ErrUncertain)
	})
	t.Run("a POST refused with 429 is sent again after the reset", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		clk := newRecClock(t0)
		srv.FailNext("POST /api/v1/sites/*/builds", netlifytest.RateLimited(t0.Add(3*time.Second)))
		_, err := srv.Client(netlify.WithClock(clk)).CreateBuild(ctx, site, netlify.CreateBuildOptions{})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{3 * time.Second}, clk.Waits())
		assert.Len(t, srv.Builds(), 1)
	})
	t.Run("a POST that could not connect is sent again", func(t *testing.T) {
		t.Parallel()
		dials := 0
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials++
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}}}
		c := netlify.NewAPIClient(netlify.WithToken("t"), netlify.WithBaseURL("http://127.0.0.1:1/api/v1"), netlify.WithHTTPClient(hc),
			netlify.WithRetry(2, time.Millisecond), netlify.WithClock(newRecClock(t0)))
		_, err := c.CreateBuild(ctx, "s", netlify.CreateBuildOptions{})
		require.Error(t, err)
		assert.NotErrorIs(t, err, netlify.ErrUncertain, "nothing was sent")
		assert.Equal(t, 3, dials)
	})
	t.Run("malformed JSON", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.FailNext("GET /api/v1/sites/"+site, netlifytest.Malformed())
		_, err := srv.Client().GetSite(ctx, site)
		require.ErrorIs(t, err, netlify.ErrMalformedResponse)
		assert.Contains(t, err.Error(), "GET /sites/site-1")
		srv.FailNext("GET /api/v1/sites/"+site+"/deploys", redundancytest.Fault{Status: 200, Body: `{"not":"a list"}`})
		_, _, err = srv.Client().ListDeploys(ctx, site, netlify.ListDeploysOptions{})
		require.ErrorIs(t, err, netlify.ErrMalformedResponse)
		assert.NotContains(t, err.Error(), "[]netlify.Deploy", "no Go type names")
		srv.FailNext("POST /api/v1/sites/"+site+"/builds", redundancytest.Fault{Status: 200})
		_, err = srv.Client().CreateBuild(ctx, site, netlify.CreateBuildOptions{})
		require.ErrorIs(t, err, netlify.ErrMalformedResponse)
	})
	t.Run("unknown deploy state is kept", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", State: "quantum"}, false)
		d, err := srv.Client().GetDeploy(ctx, site, "d1")
		require.NoError(t, err)
		assert.Equal(t, netlify.DeployState("quantum"), d.State)
		assert.False(t, d.State.Known())
		assert.False(t, d.State.InProgress())
		assert.False(t, d.State.Failed())
	})
	t.Run("call timeout", func(t *testing.T) {
		t.Parallel()
		block := make(chan struct{})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		defer hs.Close()
		defer close(block)
		c := netlify.NewAPIClient(netlify.WithBaseURL(hs.URL), netlify.WithToken("t"), netlify.WithTimeout(50*time.Millisecond))
		_, err := c.GetSite(ctx, "x")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// The client never reads the environment: the caller passes the token.
func TestClientReadsNoEnvironment(t *testing.T) {
	srv, site := newSite(t)
	t.Setenv(netlify.TokenEnv, netlifytest.DefaultToken)
	c := netlify.NewAPIClient(netlify.WithBaseURL(srv.APIURL()))
	_, err := c.GetSite(context.Background(), site)
	require.ErrorIs(t, err, netlify.ErrNoToken)
	assert.Zero(t, srv.CallCount("GET /api/v1/sites/"+site), "no call without a token")

	_, err = netlify.NewAPIClient(netlify.WithBaseURL(srv.APIURL()), netlify.WithToken(netlifytest.DefaultToken)).GetSite(context.Background(), site)
	require.NoError(t, err)
}

func TestClientRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("waits until the reset, then retries", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		clk := newRecClock(t0)
		srv.FailNext("GET /api/v1/sites/"+site, netlifytest.RateLimited(t0.Add(7*time.Second)))
		s, err := srv.Client(netlify.WithClock(clk)).GetSite(ctx, site)
		require.NoError(t, err)
		assert.Equal(t, site, s.ID)
		assert.Equal(t, []time.Duration{7 * time.Second}, clk.Waits())
		assert.Equal(t, 2, srv.CallCount("GET /api/v1/sites/"+site))
	})
	t.Run("a reset past the bound fails at once", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		clk := newRecClock(t0)
		srv.FailNext("GET /api/v1/sites/"+site, netlifytest.RateLimited(t0.Add(time.Hour)))
		_, err := srv.Client(netlify.WithClock(clk), netlify.WithMaxRateLimitWait(time.Minute)).GetSite(ctx, site)
		var rl *netlify.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, t0.Add(time.Hour).Unix(), rl.Reset.Unix())
		assert.Equal(t, 500, rl.Limit)
		assert.Equal(t, 0, rl.Remaining)
		var ae *netlify.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
		assert.Empty(t, clk.Waits())
		assert.Equal(t, 1, srv.CallCount("GET /api/v1/sites/"+site))
	})
	t.Run("still limited after the retries", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		clk := newRecClock(t0)
		r := netlifytest.RateLimited(t0) // reset already passed: retry at once
		srv.FailNext("GET /api/v1/sites/*", times(r, 3))
		_, err := srv.Client(netlify.WithClock(clk), netlify.WithRetry(2, time.Millisecond)).GetSite(ctx, site)
		var rl *netlify.RateLimitError
		require.True(t, errors.As(err, &rl), "got %v", err)
		assert.Equal(t, 3, srv.CallCount("GET /api/v1/sites/"+site))
	})
}
