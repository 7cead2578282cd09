package ghactions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// WriteInterval is the least time between two mutating requests (POST,
// PUT, PATCH, DELETE), as GitHub's REST best practices ask: "wait at least
// one second between each request".
const WriteInterval = time.Second

// Stats counts what a Transport did. Calls answered 304 cost no rate limit.
type Stats struct {
	Requests    int // requests handed to the transport
	Sent        int // requests that reached GitHub
	NotModified int // of those, answered 304 and served from the cache (free)
	Charged     int // of those, counted against the core rate limit (not 304, not /rate_limit, not refused)
	Blocked     int // requests refused without a call because a rate limit was spent
	Writes      int // mutating requests sent (POST, PUT, PATCH, DELETE)
	Paced       int // of those, how many waited for WriteInterval to pass
}

// Sub returns s minus an earlier t: what happened in between.
func (s Stats) Sub(t Stats) Stats {
	return Stats{
		Requests:    s.Requests - t.Requests,
		Sent:        s.Sent - t.Sent,
		NotModified: s.NotModified - t.NotModified,
		Charged:     s.Charged - t.Charged,
		Blocked:     s.Blocked - t.Blocked,
		Writes:      s.Writes - t.Writes,
		Paced:       s.Paced - t.Paced,
	}
}

// String returns a one-line summary.
func (s Stats) String() string {
	return fmt.Sprintf("requests=%d sent=%d not-modified=%d charged=%d blocked=%d writes=%d paced=%d",
		s.Requests, s.Sent, s.NotModified, s.Charged, s.Blocked, s.Writes, s.Paced)
}

// Transport is an http.RoundTripper for the GitHub REST API that
//   - adds the token (as "Authorization: Bearer") to requests for the API
//     host only, unless the request has one: a redirect to another host
//     (a log download, a hostile Location) never carries it;
//   - makes every GET conditional: it keeps the ETag and body of each answer
//     and sends If-None-Match; a 304 is turned into a 200 carrying the kept
//     body (marked "X-From-Cache: 1"), so go-github sees a normal answer
//     that cost no rate limit;
//   - stops calling while a limit is spent: after an answer with
//     X-RateLimit-Remaining 0 until X-RateLimit-Reset, after a 403/429
//     primary limit until its reset, after a secondary limit until
//     Retry-After (at least a minute if none is given). A refused request
//     fails with *RateLimitError and makes no call;
//   - sends mutating requests one at a time, at least WriteInterval apart.
//
// Its clock decides when a limit lifts and when the next write may go. An
// answer reporting the core limit spent is handed on marked X-From-Cache,
// which makes go-github skip its own record of the limit (it would refuse
// calls until the reset by the wall clock); the Transport's block, on its
// clock, decides instead. A Transport is safe for concurrent use.
type Transport struct {
	base   http.RoundTripper
	scheme string // of the API root: the token goes to scheme://host only
	host   string
	token  string
	clock  redundancy.Clock
	writes chan struct{} // one write at a time

	mu        sync.Mutex
	cache     map[string]*cachedAnswer
	rate      Rate
	until     time.Time // no calls before this
	secondary bool      // the block is a secondary limit
	lastWrite time.Time // when the last write was answered
	stats     Stats
}

// NewTransport returns a Transport for the API rooted at apiURL (such as
// DefaultBaseURL), sending through base (nil: http.DefaultTransport) with
// token (empty: none) and clock (nil: the wall clock).
func NewTransport(base http.RoundTripper, apiURL, token string, clock redundancy.Clock) (*Transport, error) {
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ghactions: NewTransport: API URL %q is not an http(s) URL", apiURL)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	if clock == nil {
		clock = redundancy.RealClock{}
	}
	return &Transport{
		base: base, scheme: u.Scheme, host: strings.ToLower(u.Host), token: token, clock: clock,
		writes: make(chan struct{}, 1), cache: map[string]*cachedAnswer{},
	}, nil
}

// Stats returns the counts so far.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Rate returns the core rate limit as GitHub last reported it.
func (t *Transport) Rate() Rate {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rate
}

// BlockedUntil returns when calls may resume, or the zero time when they
// are not blocked.
func (t *Transport) BlockedUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clock.Now().Before(t.until) {
		return t.until
	}
	return time.Time{}
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.stats.Requests++
	t.mu.Unlock()
	if err := t.gate(); err != nil {
		closeBody(req)
		return nil, err
	}
	if isWrite(req.Method) {
		release, err := t.pace(req.Context())
		if err != nil {
			closeBody(req)
			return nil, err
		}
		defer release()
		if err := t.gate(); err != nil { // a limit may have been hit while waiting
			closeBody(req)
			return nil, err
		}
	}

	out := req.Clone(req.Context())
	if t.forAPI(out.URL) {
		if t.token != "" && out.Header.Get("Authorization") == "" {
			out.Header.Set("Authorization", "Bearer "+t.token)
		}
	} else {
		// Not the API host: no credential of ours, whoever set it.
		out.Header.Del("Authorization")
	}
	key, hit := t.lookup(out)

	resp, err := t.base.RoundTrip(out)
	t.mu.Lock()
	t.stats.Sent++
	if isWrite(req.Method) {
		t.stats.Writes++
	}
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return t.answer(req, resp, key, hit)
}

// forAPI reports whether u is on the API's scheme and host.
func (t *Transport) forAPI(u *url.URL) bool {
	return u.Scheme == t.scheme && strings.EqualFold(u.Host, t.host)
}

// gate refuses a call while a limit is spent.
func (t *Transport) gate() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clock.Now().Before(t.until) {
		t.stats.Blocked++
		return &RateLimitError{Until: t.until, Secondary: t.secondary}
	}
	return nil
}

// pace waits for the previous write to end and for WriteInterval to pass
// after it, on the clock. The caller calls release once its answer is in.
func (t *Transport) pace(ctx context.Context) (release func(), err error) {
	select {
	case t.writes <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ghactions: wait for the previous write: %w", ctx.Err())
	}
	t.mu.Lock()
	wait := t.lastWrite.Add(WriteInterval).Sub(t.clock.Now())
	if !t.lastWrite.IsZero() && wait > 0 {
		t.stats.Paced++
	} else {
		wait = 0
	}
	t.mu.Unlock()
	if wait > 0 {
		select {
		case <-t.clock.After(wait):
		case <-ctx.Done():
			<-t.writes
			return nil, fmt.Errorf("ghactions: wait %s between writes: %w", wait, ctx.Err())
		}
	}
	return func() {
		t.mu.Lock()
		t.lastWrite = t.clock.Now()
		t.mu.Unlock()
		<-t.writes
	}, nil
}

// answer reads GitHub's answer: rate headers, limits, the cache.
func (t *Transport) answer(req *http.Request, resp *http.Response, key string, hit *cachedAnswer) (*http.Response, error) {
	now := t.clock.Now()
	rate, haveRate := parseRateHeaders(resp.Header)
	free := resp.StatusCode == http.StatusNotModified || strings.HasSuffix(req.URL.Path, "/rate_limit")

	var limit *RateLimitError
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		if until, secondary, msg, ok := limitOf(resp, rate, haveRate, now); ok {
			limit = &RateLimitError{Until: until, Secondary: secondary, Message: msg}
		}
	}
	var body []byte
	if limit == nil {
		var err error
		if body, err = t.readCacheable(req, resp, key); err != nil {
			return nil, err
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if haveRate {
		t.rate = rate
	}
	if limit != nil {
		t.until, t.secondary = limit.Until, limit.Secondary
		return nil, limit
	}
	if !free {
		t.stats.Charged++
	}
	if haveRate && rate.Remaining <= 0 {
		if now.Before(rate.Reset) {
			t.until, t.secondary = rate.Reset, false
		}
		// go-github would block until the reset by the wall clock: leave
		// that to our own block, on our clock.
		resp.Header.Set("X-From-Cache", "1")
	}
	t.storeLocked(resp, key, hit, body)
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
