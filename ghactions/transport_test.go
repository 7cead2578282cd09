package ghactions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// headerLog records the Authorization header of every request a server got.
type headerLog struct {
	mu   sync.Mutex
	auth []string
}

func (h *headerLog) add(r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auth = append(h.auth, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
}

func (h *headerLog) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auth...)
}

// No credential crosses to another host on a redirect: not the token the
// Transport adds, nor an Authorization header the caller set itself. A
// redirect within the API host keeps it.
func TestTokenNeverFollowsARedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var other headerLog
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.add(r)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer elsewhere.Close()
	var api headerLog
	var apiURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.add(r)
		switch r.URL.Path {
		case "/repos/o/r/actions/runs/1/logs": // as GitHub does: a download elsewhere
			http.Redirect(w, r, elsewhere.URL+"/signed/logs", http.StatusFound)
		case "/repos/o/r/actions/workflows/1/dispatches": // a hostile 307 keeps method and body
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
		case "/repos/o/old": // a renamed repository: 301 within the API
			http.Redirect(w, r, apiURL+"/repos/o/new", http.StatusMovedPermanently)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":1,"name":"new","full_name":"o/new","default_branch":"main"}`))
		}
	}))
	defer srv.Close()
	apiURL = srv.URL
	c, err := ghactions.NewClient(ghactions.WithBaseURL(srv.URL), ghactions.WithHTTPClient(srv.Client()), ghactions.WithToken(testToken))
	require.NoError(t, err)
	ctx := context.Background()

	_, _, err = c.Actions.GetWorkflowRunLogs(ctx, "o", "r", 1, 1)
	require.NoError(t, err)
	resp, err := c.Client.Client().Get(srv.URL + "/repos/o/r/actions/runs/1/logs")
	require.NoError(t, err)
	_ = resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/repos/o/r/actions/runs/1/logs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken) // set by the caller, not the Transport
	resp, err = c.Client.Client().Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	_, err = c.CreateWorkflowDispatchEventByID(ctx, "o", "r", 1, github.CreateWorkflowDispatchEventRequest{Ref: "main"})
	require.NoError(t, err)
	repo, _, err := c.GetRepository(ctx, "o", "old")
	require.NoError(t, err)
	assert.Equal(t, "o/new", repo.GetFullName())

	got := other.all()
	require.Len(t, got, 3, "the redirects were followed: %v", got)
	for _, line := range got {
		assert.True(t, strings.HasSuffix(line, " auth="), "a credential crossed hosts: %s", line)
		assert.NotContains(t, line, testToken)
	}
	for _, line := range api.all() {
		assert.Contains(t, line, "auth=Bearer "+testToken, "the API host gets the token: %s", line)
	}
}

// Mutating requests go one at a time, at least a second apart on the
// client's clock; reads are not held back.
func TestWritesAreSerialAndASecondApart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []int64
	for i := range 3 {
		id, _ := e.workflow("w"+string(rune('a'+i))+".yml", "")
		e.srv.SetWorkflowState(id, ghactions.WorkflowDisabledInactivity)
		ids = append(ids, id)
	}
	ctx := context.Background()
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, err := e.client.EnableWorkflowByID(ctx, owner, name, id)
			errs <- err
		}()
	}
	// The first goes at once; the others wait for the clock.
	require.True(t, e.clock.BlockUntil(1, 10*time.Second))
	_, _, err := e.client.ListWorkflows(ctx, owner, name, nil)
	require.NoError(t, err, "a read passes while writes wait")
	for range 2 {
		require.True(t, e.clock.BlockUntil(1, 10*time.Second))
		e.clock.Advance(time.Second)
	}
	for range ids {
		require.NoError(t, <-errs)
	}
	var times []time.Time
	for _, c := range e.srv.Calls() {
		if c.Method == http.MethodPut {
			times = append(times, c.Time)
		}
	}
	require.Len(t, times, 3)
	for i := 1; i < len(times); i++ {
		assert.GreaterOrEqual(t, times[i].Sub(times[i-1]), time.Second, "write %d came %s after the one before", i, times[i].Sub(times[i-1]))
	}
	s := e.client.Stats()
	assert.Equal(t, 3, s.Writes)
	assert.Equal(t, 2, s.Paced)
}

// WithClock decides when a spent core limit lifts, even where go-github's
// own record (on the wall clock) would still refuse: the clock here is a
// day ahead of the wall clock.
func TestClockGovernsWhenARateLimitLifts(t *testing.T) {
	t.Parallel()
	ahead := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	e := newEnvAt(t, ahead)
	e.workflow("ci.yml", ghactions.ConclusionSuccess)
	reset := ahead.Add(10 * time.Minute)
	// One call left: the workflow list spends it (200, remaining 0).
	e.srv.SetRate(ghtest.Rate{Limit: 100, Remaining: 1, Used: 99, Reset: reset})
	c := e.checker()
	rep := c.Check(context.Background())
	require.ErrorIs(t, rep.Err, ghactions.ErrRateLimited)
	var rle *ghactions.RateLimitError
	require.ErrorAs(t, rep.Err, &rle)
	assert.WithinDuration(t, reset, rle.Until, 0)

	e.clock.Advance(9 * time.Minute)
	rep = c.Check(context.Background())
	require.ErrorIs(t, rep.Err, ghactions.ErrRateLimited, "before the reset on the clock")

	e.clock.Advance(2 * time.Minute)
	rep = c.Check(context.Background())
	require.NoError(t, rep.Err, "the reset passed on the clock, though not on the wall clock")
	assert.Equal(t, redundancy.StatusHealthy, rep.Status)
}

// A secondary limit without Retry-After stops calls for at least a minute;
// a primary limit answered 429 stops them until its reset.
func TestLimitsWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		until time.Duration
		secnd bool
	}{
		{"secondary 403", func(e *env) { e.srv.FailNext("", ghtest.SecondaryLimit(http.StatusForbidden, 0)) }, time.Minute, true},
		{"secondary 429", func(e *env) { e.srv.FailNext("", ghtest.SecondaryLimit(http.StatusTooManyRequests, 0)) }, time.Minute, true},
		{"primary 429", func(e *env) { e.srv.ExhaustRateLimit(start.Add(7 * time.Minute)) }, 7 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, ghtest.WithPrimaryLimitStatus(http.StatusTooManyRequests))
			e.workflow("ci.yml", ghactions.ConclusionSuccess)
			c := e.checker()
			tc.setup(e)
			rep := c.Check(context.Background())
			var rle *ghactions.RateLimitError
			require.ErrorAs(t, rep.Err, &rle)
			assert.Equal(t, tc.secnd, rle.Secondary)
			assert.WithinDuration(t, start.Add(tc.until), rle.Until, 0)
			e.takeCalls()

			e.clock.Advance(tc.until - time.Second)
			require.ErrorIs(t, c.Check(context.Background()).Err, ghactions.ErrRateLimited)
			assert.Empty(t, e.takeCalls(), "no call while the limit holds")
			e.clock.Advance(time.Second)
			rep = c.Check(context.Background())
			require.NoError(t, rep.Err)
		})
	}
}

func TestTransportOnAGitHubEnterpriseRoot(t *testing.T) {
	t.Parallel()
	var seen headerLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tr, err := ghactions.NewTransport(srv.Client().Transport, srv.URL+"/api/v3/", testToken, redundancytest.NewFakeClock(start))
	require.NoError(t, err)
	hc := &http.Client{Transport: tr}
	resp, err := hc.Get(srv.URL + "/api/v3/rate_limit")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, []string{"GET /api/v3/rate_limit auth=Bearer " + testToken}, seen.all())
}
