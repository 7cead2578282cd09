// Package netlifytest is a fake Netlify for tests: an httptest server that
// speaks the parts of the Netlify API the netlify package uses (real paths,
// status codes, JSON fields and rate-limit headers), posts to build hooks,
// and serves the site's function endpoints, all from scriptable state. It
// records every call.
//
//	srv := netlifytest.NewServer()
//	defer srv.Close()
//	srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
//	srv.AddDeploy("site-1", netlify.Deploy{ID: "d1", State: netlify.DeployReady}, true)
//	client := srv.Client()
package netlifytest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/redundancy"
)

// DefaultToken is the access token a Server accepts unless WithToken says
// otherwise.
const DefaultToken = "netlifytest-token"

// APIPrefix is the path of the API root on the server.
const APIPrefix = "/api/v1"

// Response is a scripted answer (see Server.FailNext).
type Response struct {
	Status int
	Body   string
	Header http.Header
}

// RateLimited returns a 429 answer whose X-RateLimit-Reset is reset.
func RateLimited(reset time.Time) Response {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "500")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return Response{Status: http.StatusTooManyRequests, Body: `{"code":429,"message":"Rate limit exceeded"}`, Header: h}
}

// ServerError returns a 500 answer in the API's error format.
func ServerError() Response {
	return Response{Status: http.StatusInternalServerError, Body: `{"code":500,"message":"Internal Server Error"}`}
}

// Malformed returns a 200 answer whose body is not JSON.
func Malformed() Response {
	return Response{Status: http.StatusOK, Body: `{"id": "truncated`}
}

// Function scripts a function endpoint's answer.
type Function struct {
	Status  int           // default 200
	Body    string        // default "ok"
	Latency time.Duration // how long the answer takes (ends early if the client goes away)
}

// Call is one request the server received.
type Call struct {
	Method string
	// Path is the request path; API calls are shown without APIPrefix
	// ("/sites/s1/deploys"), build hooks as "/build_hooks/{id}", function
	// endpoints as "/.netlify/functions/{name}".
	Path   string
	Query  url.Values
	Body   string
	Authed bool // the right bearer token was sent
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the accepted access token.
func WithToken(t string) Option { return func(s *Server) { s.token = t } }

// WithClock sets the clock that stamps deploys, builds and rate-limit
// headers. Default redundancy.RealClock.
func WithClock(c redundancy.Clock) Option { return func(s *Server) { s.clock = c } }

// BuildResult says what the deploy of a new build becomes.
type BuildResult struct {
	State        netlify.DeployState // default ready
	ErrorMessage string
}

// Server is a fake Netlify. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	token string
	clock redundancy.Clock

	mu        sync.Mutex
	seq       int
	sites     map[string]*netlify.Site
	siteOrder []string
	deploys   map[string][]*netlify.Deploy // by site, in creation order
	published map[string]string            // site -> deploy id
	builds    []netlify.Build
	hooks     map[string]string // hook id -> site id
	results   []BuildResult     // queued results of the next builds
	fails     map[string][]Response
	funcs     map[string]map[string]Function // deploy id ("" = any) -> name -> answer
	calls     []Call
	remaining int
}

// NewServer starts a fake Netlify. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		clock:     redundancy.RealClock{},
		sites:     map[string]*netlify.Site{},
		deploys:   map[string][]*netlify.Deploy{},
		published: map[string]string{},
		hooks:     map[string]string{},
		fails:     map[string][]Response{},
		funcs:     map[string]map[string]Function{},
		remaining: 500,
	}
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(s.routes())
	return s
}

// APIURL returns the API root ("http://127.0.0.1:port/api/v1").
func (s *Server) APIURL() string { return s.URL + APIPrefix }

// Client returns a netlify client pointed at the server, with its token,
// fast retries (1ms base) and the given options after those.
func (s *Server) Client(opts ...netlify.ClientOption) *netlify.APIClient {
	base := []netlify.ClientOption{
		netlify.WithBaseURL(s.APIURL()),
		netlify.WithToken(s.token),
		netlify.WithHTTPClient(s.Server.Client()),
		netlify.WithRetry(3, time.Millisecond),
		netlify.WithTimeout(10 * time.Second),
	}
	return netlify.NewAPIClient(append(base, opts...)...)
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("%024x", s.seq)
}

// AddSite adds a site. An empty ID gets one; empty URLs point at the
// server (whose function endpoints serve the first site added). It returns
// the ID.
func (s *Server) AddSite(site netlify.Site) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if site.ID == "" {
		site.ID = s.nextID()
	}
	if site.URL == "" {
		site.URL = s.URL
	}
	if site.SSLURL == "" {
		site.SSLURL = s.URL
	}
	if site.CreatedAt.IsZero() {
		site.CreatedAt = s.clock.Now().UTC()
	}
	site.UpdatedAt = site.CreatedAt
	site.PublishedDeploy = nil
	cp := site
	s.sites[site.ID] = &cp
	s.siteOrder = append(s.siteOrder, site.ID)
	return site.ID
}

// AddDeploy adds a deploy to a site; publish makes it the published one
// (its published_at is set). Empty fields get defaults: ID, state ready,
// context production, branch main, created_at now (a nanosecond after the
// previous deploy at the least, so order is creation order). It returns the
// ID. It panics on an unknown site: that is a broken test.
func (s *Server) AddDeploy(siteID string, d netlify.Deploy, publish bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDeploy(siteID, d, publish)
}

func (s *Server) addDeploy(siteID string, d netlify.Deploy, publish bool) string {
	site, ok := s.sites[siteID]
	if !ok {
		panic("netlifytest: AddDeploy to unknown site " + siteID)
	}
	if d.ID == "" {
		d.ID = s.nextID()
	}
	d.SiteID = siteID
	if d.State == "" {
		d.State = netlify.DeployReady
	}
	if d.Context == "" {
		d.Context = "production"
	}
	if d.Branch == "" {
		d.Branch = "main"
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.clock.Now().UTC()
		if ds := s.deploys[siteID]; len(ds) > 0 && !d.CreatedAt.After(ds[len(ds)-1].CreatedAt) {
			d.CreatedAt = ds[len(ds)-1].CreatedAt.Add(time.Nanosecond)
		}
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
	if d.URL == "" {
		d.URL = site.URL
		d.SSLURL = site.SSLURL
	}
	if d.DeployURL == "" {
		d.DeployURL = site.URL
		d.DeploySSLURL = site.SSLURL
	}
	cp := d
	s.deploys[siteID] = append(s.deploys[siteID], &cp)
	if publish {
		s.publish(siteID, &cp)
	}
	return d.ID
}

func (s *Server) publish(siteID string, d *netlify.Deploy) {
	now := s.clock.Now().UTC()
	d.PublishedAt = &now
	s.published[siteID] = d.ID
}

// SetDeployState changes a deploy's state and error message.
func (s *Server) SetDeployState(siteID, deployID string, state netlify.DeployState, errorMessage string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.findDeploy(siteID, deployID); d != nil {
		d.State = state
		d.ErrorMessage = errorMessage
		d.UpdatedAt = s.clock.Now().UTC()
	}
}

// Deploys returns a site's deploys, newest first.
func (s *Server) Deploys(siteID string) []netlify.Deploy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listDeploys(siteID)
}

func (s *Server) listDeploys(siteID string) []netlify.Deploy {
	ds := s.deploys[siteID]
	out := make([]netlify.Deploy, 0, len(ds))
	for i := len(ds) - 1; i >= 0; i-- {
		out = append(out, *ds[i])
	}
	netlify.SortNewestFirst(out)
	return out
}

// Published returns the id of a site's published deploy ("" when none).
func (s *Server) Published(siteID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.published[siteID]
}

// Builds returns the builds started so far (by the API or build hooks).
func (s *Server) Builds() []netlify.Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netlify.Build(nil), s.builds...)
}

// BuildHookURL creates a build hook for the site and returns its URL.
func (s *Server) BuildHookURL(siteID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID()
	s.hooks[id] = siteID
	return s.URL + "/build_hooks/" + id
}

// QueueBuildResults says what the next builds' deploys become, in order;
// once the queue is empty, builds succeed (ready, published).
func (s *Server) QueueBuildResults(rs ...BuildResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, rs...)
}

// FailNext makes the next calls to method and API path (without
// APIPrefix, for example "/sites/s1"; "*" matches any) answer with rs, one
// each, before the server answers normally again.
func (s *Server) FailNext(method, path string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := method + " " + path
	s.fails[k] = append(s.fails[k], rs...)
}

// SetFunction scripts the answer of /.netlify/functions/<name> whatever
// deploy is published.
func (s *Server) SetFunction(name string, f Function) { s.SetDeployFunction("", name, f) }

// SetDeployFunction scripts the answer of /.netlify/functions/<name> while
// deployID is published; it takes precedence over SetFunction.
func (s *Server) SetDeployFunction(deployID, name string, f Function) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.funcs[deployID] == nil {
		s.funcs[deployID] = map[string]Function{}
	}
	s.funcs[deployID][name] = f
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts the calls of method to path (as Call.Path shows it).
func (s *Server) CallCount(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method && c.Path == path {
			n++
		}
	}
	return n
}

func (s *Server) findDeploy(siteID, id string) *netlify.Deploy {
	for _, d := range s.deploys[siteID] {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// sortedDeploys is listDeploys filtered by the API's query parameters.
func (s *Server) filterDeploys(siteID string, q url.Values) []netlify.Deploy {
	all := s.listDeploys(siteID)
	out := all[:0]
	for _, d := range all {
		if st := q.Get("state"); st != "" && string(d.State) != st {
			continue
		}
		if b := q.Get("branch"); b != "" && d.Branch != b {
			continue
		}
		if p := q.Get("production"); p != "" {
			want, _ := strconv.ParseBool(p)
			if (d.Context == "production") != want {
				continue
			}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	page, _ := strconv.Atoi(q.Get("page"))
	per, _ := strconv.Atoi(q.Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 100
	}
	lo := (page - 1) * per
	if lo >= len(out) {
		return []netlify.Deploy{}
	}
	hi := min(lo+per, len(out))
	return out[lo:hi]
}
