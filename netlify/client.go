package netlify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultBaseURL is the Netlify API root.
const DefaultBaseURL = "https://api.netlify.com/api/v1"

// TokenEnv is the environment variable Netlify's own tools read the access
// token from. NewAPIClient never reads it (nor any other variable): a
// program reads its environment once and passes the token with WithToken,
// so that it knows every secret it must keep out of its output.
const TokenEnv = "NETLIFY_AUTH_TOKEN"

// Defaults of the APIClient options.
const (
	DefaultCallTimeout      = 30 * time.Second
	DefaultMaxRetries       = 3
	DefaultRetryBase        = 500 * time.Millisecond
	DefaultMaxRateLimitWait = time.Minute
)

// maxBody bounds how much of a response the client reads.
const maxBody = 16 << 20

// Client is what the checkers and the recoverer need from Netlify.
// *APIClient implements it; netlifytest.Server serves a real APIClient.
type Client interface {
	GetSite(ctx context.Context, siteID string) (*Site, error)
	ListDeploys(ctx context.Context, siteID string, opts ListDeploysOptions) ([]Deploy, Page, error)
	GetDeploy(ctx context.Context, siteID, deployID string) (*Deploy, error)
	RestoreDeploy(ctx context.Context, siteID, deployID string) (*Deploy, error)
	CancelDeploy(ctx context.Context, deployID string) (*Deploy, error)
	LockDeploy(ctx context.Context, deployID string) (*Deploy, error)
	UnlockDeploy(ctx context.Context, deployID string) (*Deploy, error)
	CreateBuild(ctx context.Context, siteID string, opts CreateBuildOptions) (*Build, error)
	TriggerBuildHook(ctx context.Context, hookURL string, opts BuildHookOptions) error
}

var _ Client = (*APIClient)(nil)

// APIClient is a small typed client of the Netlify REST API. It is safe for
// concurrent use. Every call carries a timeout. A 429 waits until the
// X-RateLimit-Reset time (within a bound) and retries, whatever the method:
// the API refused the request. Reads (GET) are also retried with
// exponential backoff after a 5xx answer or a network error. Requests that
// change something (POST: builds, build hooks, restore, cancel, lock) are
// not: Netlify has no idempotency key, and a 502 often arrives after the
// build already started. Such a failure returns an error wrapping
// ErrUncertain, and the caller finds out whether the request took effect
// before it tries again (Recoverer's actions do). Other 4xx answers return
// an *APIError at once.
type APIClient struct {
	base       *url.URL
	baseErr    error
	token      string
	hc         *http.Client
	timeout    time.Duration
	maxRetries int
	retryBase  time.Duration
	maxRLWait  time.Duration
	clock      redundancy.Clock
	userAgent  string
}

// NewAPIClient returns a client of the Netlify API. It takes WithToken,
// WithBaseURL, WithHTTPClient, WithTimeout, WithRetry,
// WithMaxRateLimitWait, WithClock and WithUserAgent. Without options it
// talks to DefaultBaseURL with no token (pass one with WithToken; the
// process environment is never read), a 30s timeout per call, 3 retries
// from 500ms and rate-limit waits of at most a minute. A bad option (an
// unparsable base URL, an option NewAPIClient does not take) makes every
// call fail with an error wrapping ErrInvalidArgument.
func NewAPIClient(opts ...Option) *APIClient {
	s, err := apply("NewAPIClient", opts, clientOptions...)
	c := newAPIClient(s)
	if err != nil && c.baseErr == nil {
		c.baseErr = fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return c
}

func newAPIClient(s settings) *APIClient {
	c := &APIClient{
		token:      s.token,
		hc:         s.httpClient,
		timeout:    s.timeout,
		maxRetries: s.maxRetries,
		retryBase:  s.retryBase,
		maxRLWait:  s.maxRLWait,
		clock:      s.clock,
		userAgent:  s.userAgent,
	}
	c.base, c.baseErr = parseBase(s.baseURL)
	hc := &http.Client{}
	if c.hc != nil {
		cp := *c.hc // the caller's client keeps its own redirect policy
		hc = &cp
	}
	hc.CheckRedirect = keepCredentialsOnHost(hc.CheckRedirect)
	c.hc = hc
	if c.clock == nil {
		c.clock = redundancy.RealClock{}
	}
	if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	if c.retryBase <= 0 {
		c.retryBase = DefaultRetryBase
	}
	return c
}

// BaseURL returns the API root the client talks to.
func (c *APIClient) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrInvalidArgument, s)
	}
	return u, nil
}

func checkID(kind, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%w: %s id is empty", ErrInvalidArgument, kind)
	}
	if strings.ContainsAny(id, "/?#") {
		return fmt.Errorf("%w: %s id %q contains / ? or #", ErrInvalidArgument, kind, id)
	}
	return nil
}

// maxRedirects is how many redirects a call follows (as net/http's default).
const maxRedirects = 10

// keepCredentialsOnHost is the client's redirect policy (before next, the
// caller's, if any): a redirect that leaves the first request's scheme and
// host (port included) never carries the Authorization header, and no
// redirect carries a Referer (a build hook's URL is a secret). net/http
// alone would send the token to another port or a subdomain of the host,
// and over plain http after a downgrade.
func keepCredentialsOnHost(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		req.Header.Del("Referer")
		if first := via[0].URL; req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("netlify: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}
