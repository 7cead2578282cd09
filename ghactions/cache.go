package ghactions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// maxCachedBody bounds one cached answer; larger answers pass uncached.
const maxCachedBody = 8 << 20

// maxCacheEntries bounds the cache; past it an arbitrary entry is dropped.
const maxCacheEntries = 2048

// secondaryDefaultWait is how long to stop after a secondary limit that
// named no Retry-After (GitHub's advice: at least a minute).
const secondaryDefaultWait = time.Minute

// Stats counts what a Transport did. Calls answered 304 cost no rate limit.
type Stats struct {
	Requests    int // requests handed to the transport
	Sent        int // requests that reached GitHub
	NotModified int // of those, answered 304 and served from the cache (free)
	Charged     int // of those, counted against the core rate limit (not 304, not /rate_limit, not refused)
	Blocked     int // requests refused without a call because a rate limit was spent
}

// Sub returns s minus an earlier t: what happened in between.
func (s Stats) Sub(t Stats) Stats {
	return Stats{
		Requests:    s.Requests - t.Requests,
		Sent:        s.Sent - t.Sent,
		NotModified: s.NotModified - t.NotModified,
		Charged:     s.Charged - t.Charged,
		Blocked:     s.Blocked - t.Blocked,
	}
}

// String returns a one-line summary.
func (s Stats) String() string {
	return fmt.Sprintf("requests=%d sent=%d not-modified=%d charged=%d blocked=%d",
		s.Requests, s.Sent, s.NotModified, s.Charged, s.Blocked)
}

// Transport is an http.RoundTripper for the GitHub REST API that
//   - adds the token (as "Authorization: Bearer") unless the request has one;
//   - makes every GET conditional: it keeps the ETag and body of each answer
//     and sends If-None-Match; a 304 is turned into a 200 carrying the kept
//     body (marked "X-From-Cache: 1"), so go-github sees a normal answer
//     that cost no rate limit;
//   - stops calling while a limit is spent: after an answer with
//     X-RateLimit-Remaining 0 until X-RateLimit-Reset, after a 403/429
//     secondary limit until Retry-After (a minute if none is given). A
//     refused request fails with *RateLimitError and makes no call.
//
// Its clock decides when a limit lifts. A Transport is safe for concurrent
// use. Build one with NewClient, or directly for your own http.Client.
type Transport struct {
	base  http.RoundTripper
	token string
	clock redundancy.Clock

	mu        sync.Mutex
	cache     map[string]*cachedAnswer
	rate      Rate
	until     time.Time // no calls before this
	secondary bool      // the block is a secondary limit
	stats     Stats
}

type cachedAnswer struct {
	etag   string
	body   []byte
	header http.Header
}

// NewTransport returns a Transport sending through base (nil:
// http.DefaultTransport) with token (empty: none) and clock (nil: the wall
// clock).
func NewTransport(base http.RoundTripper, token string, clock redundancy.Clock) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	if clock == nil {
		clock = redundancy.RealClock{}
	}
	return &Transport{base: base, token: token, clock: clock, cache: map[string]*cachedAnswer{}}
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

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := t.clock.Now()
	key := ""
	if req.Method == http.MethodGet {
		key = req.URL.String() + "\x00" + req.Header.Get("Accept")
	}

	t.mu.Lock()
	t.stats.Requests++
	if now.Before(t.until) {
		t.stats.Blocked++
		err := &RateLimitError{Until: t.until, Secondary: t.secondary}
		t.mu.Unlock()
		closeBody(req)
		return nil, err
	}
	var hit *cachedAnswer
	if key != "" {
		hit = t.cache[key]
	}
	t.mu.Unlock()

	out := req.Clone(req.Context())
	if t.token != "" && out.Header.Get("Authorization") == "" {
		out.Header.Set("Authorization", "Bearer "+t.token)
	}
	conditional := hit != nil && out.Header.Get("If-None-Match") == ""
	if conditional {
		out.Header.Set("If-None-Match", hit.etag)
	}

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		t.mu.Lock()
		t.stats.Sent++
		t.mu.Unlock()
		return nil, err
	}
	now = t.clock.Now()
	rate, haveRate := parseRateHeaders(resp.Header)
	free := resp.StatusCode == http.StatusNotModified || strings.HasSuffix(req.URL.Path, "/rate_limit")

	// Limits: stop calling, and answer with our typed error.
	var limit *RateLimitError
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		if until, secondary, msg, ok := limitOf(resp, rate, haveRate, now); ok {
			limit = &RateLimitError{Until: until, Secondary: secondary, Message: msg}
		}
	}
	// Read a cacheable answer before taking the lock.
	var body []byte
	cacheable := limit == nil && key != "" && resp.StatusCode == http.StatusOK &&
		resp.Header.Get("ETag") != "" && resp.ContentLength <= maxCachedBody
	if cacheable {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
		_ = resp.Body.Close()
		if rerr != nil {
			t.mu.Lock()
			t.stats.Sent++
			t.mu.Unlock()
			return nil, fmt.Errorf("github: read answer of GET %s: %w", req.URL.Path, rerr)
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		body = b
		cacheable = len(b) <= maxCachedBody
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Sent++
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
	if haveRate && rate.Remaining <= 0 && now.Before(rate.Reset) {
		t.until, t.secondary = rate.Reset, false
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		t.stats.NotModified++
		_ = resp.Body.Close()
		h := hit.header.Clone()
		for k, v := range resp.Header { // fresh rate headers and the like
			h[k] = v
		}
		h.Set("X-From-Cache", "1")
		h.Set("Content-Length", strconv.Itoa(len(hit.body)))
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
		resp.Header = h
		resp.ContentLength = int64(len(hit.body))
		resp.Body = io.NopCloser(bytes.NewReader(hit.body))
	case cacheable:
		if _, ok := t.cache[key]; !ok && len(t.cache) >= maxCacheEntries {
			for k := range t.cache {
				delete(t.cache, k)
				break
			}
		}
		t.cache[key] = &cachedAnswer{etag: resp.Header.Get("ETag"), body: body, header: resp.Header.Clone()}
	case key != "" && resp.StatusCode == http.StatusOK:
		delete(t.cache, key) // no ETag, or too large: the old entry is stale
	}
	return resp, nil
}

// limitOf reads a 403/429 answer: is it a rate limit, and until when? It
// consumes the body only when it is one; otherwise it leaves the body
// readable.
func limitOf(resp *http.Response, rate Rate, haveRate bool, now time.Time) (until time.Time, secondary bool, msg string, ok bool) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	var e struct {
		Message string `json:"message"`
		DocURL  string `json:"documentation_url"`
	}
	_ = json.Unmarshal(body, &e)
	msg = e.Message
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return now.Add(time.Duration(secs) * time.Second), true, msg, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return at, true, msg, true
		}
	}
	if haveRate && rate.Remaining <= 0 && !rate.Reset.IsZero() {
		return rate.Reset, false, msg, true
	}
	lower := strings.ToLower(msg + " " + e.DocURL)
	if resp.StatusCode == http.StatusTooManyRequests || strings.Contains(lower, "secondary rate limit") ||
		strings.Contains(lower, "secondary-rate-limits") || strings.Contains(lower, "abuse") {
		return now.Add(secondaryDefaultWait), true, msg, true
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return time.Time{}, false, "", false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
