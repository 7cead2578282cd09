package ghtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultRateLimit is the core limit a new server starts with (GitHub's
// limit for a personal access token).
const DefaultRateLimit = 5000

// RateWindow is how long the rate-limit window lasts before it refills.
const RateWindow = time.Hour

// Rate is the server's core rate-limit state.
type Rate struct {
	Limit     int
	Remaining int
	Used      int
	Reset     time.Time
}

// Server is a fake GitHub REST API on loopback. Its methods are safe for
// concurrent use. Create it with NewServer and Close it when done.
type Server struct {
	srv   *httptest.Server
	mux   *http.ServeMux
	clock redundancy.Clock
	done  chan struct{}
	once  sync.Once

	mu        sync.Mutex
	nextID    int64
	repos     map[string]bool // "owner/name"
	workflows map[int64]*entry[Workflow]
	runs      map[int64]*entry[Run]
	runNumber map[int64]int // per workflow
	rate      Rate
	faults    []*Fault
	calls     []Call
}

type entry[T any] struct {
	repo string // "owner/name"
	v    T
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server take its time (timestamps, rate-limit resets)
// from c instead of the wall clock.
func WithClock(c redundancy.Clock) Option { return func(s *Server) { s.clock = c } }

// WithRateLimit sets the core limit per window (default DefaultRateLimit).
func WithRateLimit(limit int) Option {
	return func(s *Server) { s.rate.Limit, s.rate.Remaining = limit, limit }
}

// NewServer starts a fake GitHub with no repositories.
func NewServer(opts ...Option) *Server {
	s := &Server{
		clock:     redundancy.RealClock{},
		done:      make(chan struct{}),
		nextID:    1000,
		repos:     map[string]bool{},
		workflows: map[int64]*entry[Workflow]{},
		runs:      map[int64]*entry[Run]{},
		runNumber: map[int64]int{},
		rate:      Rate{Limit: DefaultRateLimit, Remaining: DefaultRateLimit},
	}
	for _, o := range opts {
		o(s)
	}
	s.rate.Reset = s.clock.Now().Add(RateWindow).Truncate(time.Second)
	s.mux = http.NewServeMux()
	s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the server's base URL with a trailing slash, as go-github
// wants its BaseURL.
func (s *Server) URL() string { return s.srv.URL + "/" }

// HTTPClient returns an *http.Client that reaches the server.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// Client returns a go-github client pointed at the server (no caching, no
// token).
func (s *Server) Client() *github.Client {
	c := github.NewClient(s.srv.Client())
	u, _ := url.Parse(s.URL())
	c.BaseURL = u
	c.UploadURL = u
	return c
}

// Close releases hanging requests and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.Close()
	})
}

func (s *Server) refillLocked() {
	if now := s.clock.Now(); !now.Before(s.rate.Reset) {
		s.rate.Remaining, s.rate.Used = s.rate.Limit, 0
		s.rate.Reset = now.Add(RateWindow).Truncate(time.Second)
	}
}

func (s *Server) takeFaultLocked(method, path string) *Fault {
	for i, f := range s.faults {
		if !f.matches(method, path) {
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

func (s *Server) rateHeadersLocked(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.rate.Remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.Used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.Reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// result is what a route handler answers; serve turns it into HTTP.
type result struct {
	status int
	body   any // nil: no body
	header http.Header
}

type resultKey struct{}

// serve wraps every request: faults, rate limit, ETag/304, recording.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.refillLocked()
	call := Call{
		Time:        s.clock.Now(),
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.RawQuery,
		Conditional: r.Header.Get("If-None-Match") != "",
		Authorized:  r.Header.Get("Authorization") != "",
	}
	fault := s.takeFaultLocked(r.Method, r.URL.Path)
	if fault != nil && fault.Kind == FaultHang {
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}
	defer s.mu.Unlock()
	free := r.URL.Path == "/rate_limit"
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")

	var status int
	var body []byte
	switch {
	case !free && s.rate.Remaining <= 0:
		status = http.StatusForbidden
		body = mustJSON(map[string]string{
			"message":           "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
		})
		s.rateHeadersLocked(h)
	case fault != nil:
		status, body = s.faultAnswer(fault, h)
		call.Charged = true
		s.charge()
		s.rateHeadersLocked(h)
	default:
		res := &result{status: http.StatusNotFound, body: notFound()}
		ctx := context.WithValue(r.Context(), resultKey{}, res)
		s.mux.ServeHTTP(discard{}, r.WithContext(ctx))
		status = res.status
		for k, v := range res.header {
			h[k] = v
		}
		if res.body != nil {
			body = mustJSON(res.body)
		}
		if r.Method == http.MethodGet && status == http.StatusOK {
			sum := sha256.Sum256(body)
			etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
			h.Set("ETag", etag)
			h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
			if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
				status, body = http.StatusNotModified, nil
			}
		}
		if status != http.StatusNotModified && !free {
			call.Charged = true
			s.charge()
		}
		s.rateHeadersLocked(h)
	}
	call.Status = status
	s.calls = append(s.calls, call)
	if body == nil || status == http.StatusNoContent || status == http.StatusNotModified {
		h.Del("Content-Type")
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) charge() {
	if s.rate.Remaining > 0 {
		s.rate.Remaining--
		s.rate.Used++
	}
}

func (s *Server) faultAnswer(f *Fault, h http.Header) (int, []byte) {
	switch f.Kind {
	case FaultMalformedJSON:
		return http.StatusOK, []byte(`{"total_count": 3, "workflows": [{"id": 1, "name": "CI", "pa`)
	case FaultSecondaryLimit:
		st := f.Status
		if st == 0 {
			st = http.StatusForbidden
		}
		ra := f.RetryAfter
		if ra <= 0 {
			ra = time.Minute
		}
		h.Set("Retry-After", strconv.Itoa(int(ra/time.Second)))
		return st, mustJSON(map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	default:
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		return st, mustJSON(map[string]string{"message": http.StatusText(st)})
	}
}

func notFound() map[string]string {
	return map[string]string{
		"message":           "Not Found",
		"documentation_url": "https://docs.github.com/rest",
		"status":            "404",
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ghtest: encode %T: %v", v, err))
	}
	return b
}

// discard is the ResponseWriter the mux writes to: routes answer through
// the result in the request context, never directly.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
