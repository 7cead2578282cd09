package ghtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// Limits and delays a new server starts with.
const (
	// DefaultRateLimit is the core limit per window for authenticated
	// requests (GitHub's limit for a personal access token).
	DefaultRateLimit = 5000
	// AnonymousRateLimit is the core limit per window for requests without
	// a token (GitHub's limit for unauthenticated requests).
	AnonymousRateLimit = 60
	// RateWindow is how long a rate-limit window lasts before it refills.
	RateWindow = time.Hour
	// DefaultCancelDelay is how long after an accepted cancel a run ends,
	// on the server's clock: GitHub cancels asynchronously.
	DefaultCancelDelay = 5 * time.Second
	// RerunWindow is how old a run may be and still be re-run: GitHub
	// refuses (403) to re-run a run created over a month ago.
	RerunWindow = 30 * 24 * time.Hour

	// DefaultToken is the token Client sends when the server was given
	// none. A server without WithToken accepts any token.
	DefaultToken = "ghs_ghtestToken0000000000000000000000000"
)

// Rate is a rate-limit state.
type Rate struct {
	Limit     int
	Remaining int
	Used      int
	Reset     time.Time
}

// Server is a fake GitHub REST API on loopback. Its methods are safe for
// concurrent use. Create it with NewServer and Close it when done.
//
// It embeds redundancytest.Faults: FailNext("METHOD /path", Fault) arms a
// fault for the calls whose "METHOD /path" (no query) matches the pattern
// (path.Match: "POST /repos/*/*/actions/runs/*/cancel"). A Fault answers
// Status (default 500) with Header and Body (default: what GitHub's edge
// sends, an HTML page for 502, 503 and 504); Err with no Status drops the
// connection; Hang answers nothing until the client gives up; After lets
// the call take effect first (a re-run, a dispatch, a cancel) and fail
// afterwards, as a gateway's 502 that arrives after the work was done.
type Server struct {
	redundancytest.Faults

	srv         *httptest.Server
	mux         *http.ServeMux
	clock       redundancy.Clock
	token       string
	limitStatus int
	cancelDelay time.Duration
	poll        time.Duration
	wrap        func(http.Handler) http.Handler
	done        chan struct{}
	once        sync.Once

	mu        sync.Mutex
	nextID    int64
	repos     map[string]*repoState
	workflows map[int64]*wfEntry
	runs      map[int64]*runEntry
	runNumber map[int64]int
	rate      Rate // authenticated requests
	anon      Rate // requests without a token
	calls     []Call
}

type repoState struct {
	Repository
	id          int64
	owner, name string
	created     time.Time
	branches    map[string]bool
}

func (r *repoState) key() string      { return repoKey(r.owner, r.name) }
func (r *repoState) fullName() string { return r.owner + "/" + r.name }

type wfEntry struct {
	repo *repoState
	v    Workflow
}

type runEntry struct {
	wf *wfEntry
	v  Run
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server take its time (timestamps, rate-limit resets,
// when a cancel lands) from c instead of the wall clock.
func WithClock(c redundancy.Clock) Option { return func(s *Server) { s.clock = c } }

// WithRateLimit sets the core limit per window for authenticated requests
// (default DefaultRateLimit).
func WithRateLimit(limit int) Option {
	return func(s *Server) { s.rate.Limit, s.rate.Remaining = limit, limit }
}

// WithToken makes the server require token: a request without one is
// answered 401 "Requires authentication", one with another token 401 "Bad
// credentials" (only GET /rate_limit is open). Without WithToken any token
// is accepted, and only writes need one.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithPrimaryLimitStatus sets the status of an answer refused because the
// core limit is spent: 403 (the default) or 429; GitHub sends either.
func WithPrimaryLimitStatus(status int) Option { return func(s *Server) { s.limitStatus = status } }

// WithCancelDelay sets how long after an accepted cancel (or force-cancel)
// a run ends, on the server's clock (default DefaultCancelDelay). A run
// never ends before the clock has moved past the cancel.
func WithCancelDelay(d time.Duration) Option { return func(s *Server) { s.cancelDelay = d } }

// WithPollInterval makes GET of a run answer with x-poll-interval (in
// whole seconds), as GitHub does where it wants clients to poll less.
func WithPollInterval(d time.Duration) Option { return func(s *Server) { s.poll = d } }

// NewServer starts a fake GitHub with no repositories.
func NewServer(opts ...Option) *Server {
	s := &Server{
		clock:       redundancy.RealClock{},
		limitStatus: http.StatusForbidden,
		cancelDelay: DefaultCancelDelay,
		done:        make(chan struct{}),
		nextID:      1000,
		repos:       map[string]*repoState{},
		workflows:   map[int64]*wfEntry{},
		runs:        map[int64]*runEntry{},
		runNumber:   map[int64]int{},
		rate:        Rate{Limit: DefaultRateLimit, Remaining: DefaultRateLimit},
		anon:        Rate{Limit: AnonymousRateLimit, Remaining: AnonymousRateLimit},
	}
	for _, o := range opts {
		o(s)
	}
	reset := s.clock.Now().Add(RateWindow).Truncate(time.Second)
	s.rate.Reset, s.anon.Reset = reset, reset
	s.mux = http.NewServeMux()
	s.routes()
	var h http.Handler = http.HandlerFunc(s.serve)
	if s.wrap != nil {
		h = s.wrap(h)
	}
	s.srv = httptest.NewServer(h)
	return s
}

// URL returns the server's base URL with a trailing slash, as go-github
// wants its BaseURL.
func (s *Server) URL() string { return s.srv.URL + "/" }

// HTTPClient returns an *http.Client that reaches the server.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Client returns the real *ghactions.Client (its caching, rate-limit-aware,
// write-pacing Transport included) pointed at the server, on the server's
// clock, with the server's token (DefaultToken if it was given none).
func (s *Server) Client() *ghactions.Client {
	tok := s.token
	if tok == "" {
		tok = DefaultToken
	}
	c, err := ghactions.NewClient(ghactions.WithBaseURL(s.URL()), ghactions.WithHTTPClient(s.HTTPClient()),
		ghactions.WithClock(s.clock), ghactions.WithToken(tok))
	if err != nil { // cannot happen: the options are ours and valid
		panic("ghtest: " + err.Error())
	}
	return c
}

// Close releases hanging requests and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

// Calls returns every call received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// SetRate replaces the authenticated core rate-limit state.
func (s *Server) SetRate(r Rate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = r
}

// ExhaustRateLimit spends the whole authenticated core limit until reset.
func (s *Server) ExhaustRateLimit(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.Used += s.rate.Remaining
	s.rate.Remaining = 0
	s.rate.Reset = reset.Truncate(time.Second)
}

// RateLimit returns the authenticated core rate-limit state.
func (s *Server) RateLimit() Rate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refillLocked(&s.rate)
	return s.rate
}

func (s *Server) refillLocked(r *Rate) {
	if now := s.clock.Now(); !now.Before(r.Reset) {
		r.Remaining, r.Used = r.Limit, 0
		r.Reset = now.Add(RateWindow).Truncate(time.Second)
	}
}

func rateHeaders(h http.Header, r Rate) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.Remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(r.Used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(r.Reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// bearer returns the token of an Authorization header ("Bearer t" or
// "token t"), and whether there was one.
func bearer(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	for _, p := range []string{"Bearer ", "bearer ", "token ", "Token "} {
		if strings.HasPrefix(h, p) {
			return strings.TrimSpace(h[len(p):]), true
		}
	}
	return "", true // some other scheme: no token GitHub knows
}

// answer is what a route handler answers; serve turns it into HTTP.
type answer struct {
	status int
	body   []byte // JSON; nil: none
	header http.Header
	effect bool // the call changed the server's state
}

type answerKey struct{}

// serve wraps every request: faults, auth, rate limit, routing, ETag/304,
// recording.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	callName := r.Method + " " + r.URL.Path
	fault, faulted := s.Take(callName)
	s.mu.Lock()
	s.settleLocked()
	call := Call{
		Time: s.clock.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Conditional: r.Header.Get("If-None-Match") != "", Authorized: r.Header.Get("Authorization") != "",
		Fault: faulted,
	}
	if faulted && !fault.After {
		s.calls = append(s.calls, call)
		i := len(s.calls) - 1
		s.mu.Unlock()
		s.writeFault(w, r, fault, i)
		return
	}
	status, body, h := s.handleLocked(r, &call)
	if faulted { // After: the effect happened; the answer is the fault's
		s.calls = append(s.calls, call)
		i := len(s.calls) - 1
		s.mu.Unlock()
		s.writeFault(w, r, fault, i)
		return
	}
	call.Status = status
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	for k, v := range h {
		w.Header()[k] = v
	}
	write(w, status, body)
}

// handleLocked answers a request that no fault stops. s.mu is held.
func (s *Server) handleLocked(r *http.Request, call *Call) (int, []byte, http.Header) {
	h := http.Header{}
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", "ABCD:1234:"+strconv.Itoa(len(s.calls)))
	free := r.URL.Path == "/rate_limit"

	tok, hasAuth := bearer(r.Header.Get("Authorization"))
	bucket := &s.rate
	if !hasAuth {
		bucket = &s.anon
	}
	s.refillLocked(bucket)
	switch {
	case hasAuth && (tok == "" || (s.token != "" && tok != s.token)):
		return http.StatusUnauthorized, errorBody("Bad credentials", "https://docs.github.com/rest"), h
	case !hasAuth && !free && (s.token != "" || r.Method != http.MethodGet):
		return http.StatusUnauthorized, errorBody("Requires authentication", "https://docs.github.com/rest"), h
	}
	if !free && bucket.Remaining <= 0 {
		rateHeaders(h, *bucket)
		return s.limitStatus, errorBody("API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ABCD:1234.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"), h
	}

	res := &answer{status: http.StatusNotFound, body: notFound()}
	ctx := context.WithValue(r.Context(), answerKey{}, res)
	s.mux.ServeHTTP(discard{}, r.WithContext(ctx))
	call.Effect = res.effect
	for k, v := range res.header {
		h[k] = v
	}
	status, body := res.status, res.body
	if r.Method == http.MethodGet && status == http.StatusOK {
		etag := etagOf(body)
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if inm := r.Header.Get("If-None-Match"); inm != "" && noneMatchHits(inm, etag) {
			status, body = http.StatusNotModified, nil
		}
	}
	if status != http.StatusNotModified && !free {
		call.Charged = true
		bucket.Remaining--
		bucket.Used++
	}
	rateHeaders(h, *bucket)
	return status, body, h
}

func write(w http.ResponseWriter, status int, body []byte) {
	if body == nil || status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// discard is the ResponseWriter the mux writes to: routes answer through
// the answer in the request context, never directly.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
