// Package netlifytest is a fake Netlify for tests: an HTTP server on
// loopback that speaks the parts of the Netlify API package netlify uses,
// posts to build hooks, and serves the site's function endpoints, all from
// scriptable state. It records every call.
//
// It is at least as strict as the real service where a client can go
// wrong: every API call needs the bearer token (401 without it); deploy
// lists are paged (per_page at most 100, Link headers with rel="next" and
// rel="last"); a build starts "enqueued", goes "building" and ends ready
// (published unless auto publishing is locked) or in error as the server's
// clock moves (WithClock, WithBuildTimes) or when CompleteBuilds says so; a
// cancelled build ends in state "error" with the message "Canceled build";
// restoring publishes a ready deploy only (422 otherwise) and lifts a lock;
// only the published deploy can be locked. Answers are written as raw JSON
// shaped like the real ones, nulls and fields package netlify ignores
// included, and netlifytest's own tests check every one of them against
// Netlify's published API description (testdata/netlify-openapi.yml).
//
// Faults are injected with FailNext (redundancytest.Faults): the pattern
// is "METHOD /path" with the path as the server sees it, API prefix
// included ("POST /api/v1/sites/*/builds", "POST /build_hooks/*",
// "GET /.netlify/functions/hello"). A Fault with After takes effect first
// and answers the fault afterwards, as a gateway's 502 after the build
// started; a 502, 503 or 504 without a Body answers the HTML page a
// gateway sends.
//
//	srv := netlifytest.NewServer()
//	defer srv.Close()
//	srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
//	srv.AddDeploy("site-1", netlify.Deploy{ID: "d1", State: netlify.DeployReady}, true)
//	client := srv.Client()
package netlifytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// DefaultToken is the access token a Server accepts unless WithToken says
// otherwise.
const DefaultToken = "netlifytest-token"

// APIPrefix is the path of the API root on the server.
const APIPrefix = "/api/v1"

// Default build timings (see WithBuildTimes).
const (
	DefaultQueueTime = time.Second
	DefaultBuildTime = 2 * time.Second
)

// maxPerPage is the API's page size cap (and default).
const maxPerPage = 100

// RateLimited returns a 429 fault whose X-RateLimit-Reset is reset.
func RateLimited(reset time.Time) redundancytest.Fault {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "500")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return redundancytest.Fault{Status: http.StatusTooManyRequests, Header: h}
}

// ServerError returns a 500 fault in the API's error format.
func ServerError() redundancytest.Fault {
	return redundancytest.Fault{Status: http.StatusInternalServerError}
}

// BadGatewayAfter returns a fault that lets the call take effect, then
// answers the 502 page of a gateway, hitting times calls (negative: all).
func BadGatewayAfter(times int) redundancytest.Fault {
	return redundancytest.Fault{Status: http.StatusBadGateway, After: true, Times: times}
}

// Malformed returns a 200 fault whose body is not JSON.
func Malformed() redundancytest.Fault {
	return redundancytest.Fault{Status: http.StatusOK, Body: `{"id": "truncated`}
}

// Function scripts a function endpoint's answer.
type Function struct {
	Status  int           // default 200
	Body    string        // default "ok"
	Latency time.Duration // how long the answer takes (ends early if the client goes away)
	Hang    bool          // answer nothing until the client gives up
}

// Call is one request the server received.
type Call struct {
	Method string
	// Path is the request path as the server saw it: "/api/v1/sites/s1",
	// "/build_hooks/{id}", "/.netlify/functions/{name}".
	Path   string
	Query  url.Values
	Body   string
	Authed bool // the right bearer token was sent
	Fault  bool // an injected fault answered it
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the accepted access token.
func WithToken(t string) Option { return func(s *Server) { s.token = t } }

// WithClock sets the clock that stamps deploys, builds and rate-limit
// headers and moves builds along. Default redundancy.RealClock.
func WithClock(c redundancy.Clock) Option { return func(s *Server) { s.clock = c } }

// WithBuildTimes sets how long a new build stays enqueued and then
// building before it ends. Defaults DefaultQueueTime and DefaultBuildTime.
func WithBuildTimes(queued, building time.Duration) Option {
	return func(s *Server) { s.queueTime, s.buildTime = queued, building }
}

// WithHookDelay makes a build hook's build (and its deploy) appear d
// after the POST was answered, as Netlify enqueues hook builds
// asynchronously: the answer carries no deploy, and the deploy list does
// not show it at once. Default 0: at once.
func WithHookDelay(d time.Duration) Option { return func(s *Server) { s.hookDelay = d } }

// BuildResult says how a new build ends.
type BuildResult struct {
	State        netlify.DeployState // default ready
	ErrorMessage string
	// Stall keeps the build "building" until it is cancelled (or
	// SetDeployState changes it): a stuck build.
	Stall bool
}

// Build is a build the server started, through the API or a build hook.
type Build struct {
	ID, DeployID, SiteID string
	Title, Branch        string
	ClearCache           bool
	ViaHook              bool
	CreatedAt            time.Time
}

// Server is a fake Netlify. Its methods are safe for concurrent use.
type Server struct {
	redundancytest.Faults

	hs        *httptest.Server
	mux       *http.ServeMux
	token     string
	clock     redundancy.Clock
	queueTime time.Duration
	buildTime time.Duration
	hookDelay time.Duration
	closing   chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	seq       int
	sites     map[string]*site
	siteOrder []string
	deploys   map[string]*deploy   // by id
	bySite    map[string][]*deploy // by site, in creation order
	builds    []*build
	hooks     map[string]string // hook id -> site id
	hookQueue []queuedHook      // hook posts whose build is not created yet
	results   []BuildResult     // how the next builds end
	funcs     map[string]map[string]Function
	calls     []Call
	remaining int
}

// NewServer starts a fake Netlify. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		clock:     redundancy.RealClock{},
		queueTime: DefaultQueueTime,
		buildTime: DefaultBuildTime,
		closing:   make(chan struct{}),
		sites:     map[string]*site{},
		deploys:   map[string]*deploy{},
		bySite:    map[string][]*deploy{},
		hooks:     map[string]string{},
		funcs:     map[string]map[string]Function{},
		remaining: 500,
	}
	for _, o := range opts {
		o(s)
	}
	if s.clock == nil {
		s.clock = redundancy.RealClock{}
	}
	s.mux = s.routes()
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the server's root ("http://127.0.0.1:port"): the site's URL
// (function endpoints), the host of build hooks; the API is under
// URL()+APIPrefix.
func (s *Server) URL() string { return s.hs.URL }

// APIURL returns URL()+APIPrefix, the root netlify.WithBaseURL takes.
func (s *Server) APIURL() string { return s.hs.URL + APIPrefix }

// Close shuts the server down; calls hanging on a fault end.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.hs.Close()
}

// HTTPClient returns an HTTP client for the server (no redirects followed
// elsewhere, as httptest's).
func (s *Server) HTTPClient() *http.Client { return s.hs.Client() }

// Client returns the real netlify client pointed at the server, with its
// token, fast retries (1ms base) and the given options after those.
func (s *Server) Client(opts ...netlify.Option) *netlify.APIClient {
	base := []netlify.Option{
		netlify.WithBaseURL(s.APIURL()),
		netlify.WithToken(s.token),
		netlify.WithHTTPClient(s.hs.Client()),
		netlify.WithRetry(3, time.Millisecond),
		netlify.WithTimeout(10 * time.Second),
	}
	return netlify.NewAPIClient(append(base, opts...)...)
}

// Transport returns an http.RoundTripper that hands requests to the server
// in process, with no network: a test in a testing/synctest bubble can
// then let time pass while a request hangs. Requests may name any host;
// only the path and query count.
func (s *Server) Transport() http.RoundTripper { return inProcess{s} }

type inProcess struct{ s *Server }

// inProcessKey marks the context of an in-process request.
type inProcessKey struct{}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	r := req.Clone(context.WithValue(req.Context(), inProcessKey{}, true))
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.RequestURI = req.URL.RequestURI()
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	w := &memWriter{header: http.Header{}}
	t.s.serve(w, r)
	if w.dropped {
		return nil, fmt.Errorf("netlifytest: connection closed by the server")
	}
	if err := req.Context().Err(); err != nil && !w.wrote {
		return nil, err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()), Request: req,
	}, nil
}

// memWriter is the ResponseWriter of in-process requests.
type memWriter struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	wrote   bool
	dropped bool
}

func (w *memWriter) Header() http.Header { return w.header }

func (w *memWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
}

func (w *memWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts the calls matching pattern, as FailNext matches them
// ("POST /api/v1/sites/*/builds").
func (s *Server) CallCount(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if redundancytest.MatchCall(pattern, c.Method+" "+c.Path) {
			n++
		}
	}
	return n
}
