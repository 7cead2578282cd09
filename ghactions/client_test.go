package ghactions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestOptionsAreCheckedPerConstructor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"checker rejects client option", func() error {
			_, err := ghactions.NewChecker(e.client, e.repo, ghactions.WithToken("x"))
			return err
		}, "NewChecker does not take option WithToken"},
		{"bad stuck bound", func() error {
			_, err := ghactions.NewChecker(e.client, e.repo, ghactions.WithStuckAfter(0))
			return err
		}, "WithStuckAfter: duration 0s is not positive"},
		{"blank branch", func() error {
			_, err := ghactions.NewChecker(e.client, ghactions.Repo{Owner: "o", Name: "r", Branch: "ma in"})
			return err
		}, `Repo.Branch "ma in" is not valid`},
		{"bad waiting bound", func() error {
			_, err := ghactions.NewChecker(e.client, e.repo, ghactions.WithWaitingAfter(-time.Second))
			return err
		}, "WithWaitingAfter: duration -1s is not positive"},
		{"bad transport URL", func() error {
			_, err := ghactions.NewTransport(nil, "not a url", "", nil)
			return err
		}, `ghactions: NewTransport: API URL "not a url" is not an http(s) URL`},
		{"slash in name", func() error {
			_, err := ghactions.NewChecker(e.client, ghactions.Repo{Owner: "o", Name: "r/x", Branch: "main"})
			return err
		}, `Repo.Name "r/x" is not valid`},
		{"nil api", func() error {
			_, err := ghactions.NewChecker(nil, e.repo)
			return err
		}, "api is nil"},
		{"negative reruns", func() error {
			_, err := ghactions.NewRecoverer(e.checker(), ghactions.WithMaxReruns(-1))
			return err
		}, "count -1 is negative"},
		{"bad base URL", func() error {
			_, err := ghactions.NewClient(ghactions.WithBaseURL("ftp://x"))
			return err
		}, `base URL "ftp://x" is not an http(s) URL`},
		{"zero option", func() error {
			_, err := ghactions.NewClient(ghactions.Option{})
			return err
		}, "zero Option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The token comes from the caller only: NewClient never reads
// GITHUB_TOKEN (a program that reads its secrets once registers them with
// its redactor; a token read behind its back would escape it).
func TestNoTokenFromTheEnvironment(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"Server Error"}`))
	}))
	defer srv.Close()
	t.Setenv("GITHUB_TOKEN", "ghp_fromTheEnvironment000000000000")
	for _, tc := range []struct {
		name string
		opts []ghactions.Option
		want string
	}{
		{"none given", nil, ""},
		{"given", []ghactions.Option{ghactions.WithToken(testToken)}, "Bearer " + testToken},
	} {
		c, err := ghactions.NewClient(append([]ghactions.Option{ghactions.WithBaseURL(srv.URL), ghactions.WithHTTPClient(srv.Client())}, tc.opts...)...)
		require.NoError(t, err)
		chk, err := ghactions.NewChecker(c, ghactions.Repo{Owner: owner, Name: name, Branch: branch})
		require.NoError(t, err)
		rep := chk.Check(context.Background())
		require.Error(t, rep.Err)
		assert.Equal(t, tc.want, auth.Load(), tc.name)
		assertNoToken(t, rep)
	}
}

func TestTransportPassesOtherForbiddenThrough(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4000")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
	}))
	defer srv.Close()
	clock := redundancytest.NewFakeClock(start)
	c, err := ghactions.NewClient(ghactions.WithBaseURL(srv.URL), ghactions.WithHTTPClient(srv.Client()), ghactions.WithClock(clock))
	require.NoError(t, err)
	_, _, err = c.Actions.ListWorkflows(context.Background(), owner, name, nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ghactions.ErrRateLimited)
	assert.Contains(t, err.Error(), "Resource not accessible by integration")
	assert.True(t, c.Transport().BlockedUntil().IsZero())
	assert.Equal(t, 4000, c.Transport().Rate().Remaining)
}

func TestRateLimitErrorMessage(t *testing.T) {
	t.Parallel()
	err := &ghactions.RateLimitError{Until: start.Add(time.Hour), Secondary: true, Message: "slow down"}
	assert.Equal(t, "ghactions: secondary rate limit hit: no calls until 2024-03-01T13:00:00Z (slow down)", err.Error())
	assert.ErrorIs(t, err, ghactions.ErrRateLimited)
}

func TestConcurrentChecksShareTheCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tenWorkflows(e)
	c := e.checker()
	require.Empty(t, c.Check(context.Background()).Findings)
	done := make(chan redundancy.Report)
	for range 8 {
		go func() { done <- c.Check(context.Background()) }()
	}
	for range 8 {
		rep := <-done
		require.NoError(t, rep.Err)
		require.Equal(t, redundancy.StatusHealthy, rep.Status)
	}
	s := e.client.Stats()
	assert.Equal(t, 11, s.Charged, "only the first cycle paid")
	assert.Equal(t, 8*11, s.NotModified)
}
