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

// ClientOption configures an APIClient.
type ClientOption func(*APIClient)

// WithBaseURL points the client at another API root (a proxy, or
// netlifytest.Server). Default DefaultBaseURL.
func WithBaseURL(u string) ClientOption {
	return func(c *APIClient) { c.base, c.baseErr = parseBase(u) }
}

// WithToken sets the personal access token. There is no default: without
// it every API call fails with ErrNoToken (build hooks need none). The
// token is sent only to the API root, never to build hook URLs, and never
// appears in errors or logs.
func WithToken(token string) ClientOption { return func(c *APIClient) { c.token = token } }

// WithHTTPClient sets the HTTP client. Default: a new http.Client (its
// deadline comes from WithTimeout).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *APIClient) { c.hc = hc } }

// WithTimeout bounds one call, retries and rate-limit waits included.
// Default DefaultCallTimeout.
func WithTimeout(d time.Duration) ClientOption { return func(c *APIClient) { c.timeout = d } }

// WithRetry sets how many times a 429, or for a read a 5xx or network
// failure, is retried and the first backoff (doubling after each). Defaults
// DefaultMaxRetries and DefaultRetryBase; max 0 disables retries.
func WithRetry(max int, base time.Duration) ClientOption {
	return func(c *APIClient) { c.maxRetries, c.retryBase = max, base }
}

// WithMaxRateLimitWait bounds how long a 429 may make a call wait for the
// limit to reset; a later reset returns a *RateLimitError at once.
// Default DefaultMaxRateLimitWait.
func WithMaxRateLimitWait(d time.Duration) ClientOption {
	return func(c *APIClient) { c.maxRLWait = d }
}

// WithClock sets the clock rate-limit resets are measured and waited on.
// Default redundancy.RealClock.
func WithClock(clk redundancy.Clock) ClientOption { return func(c *APIClient) { c.clock = clk } }

// WithUserAgent sets the User-Agent header. Default "uras-netlify".
func WithUserAgent(ua string) ClientOption { return func(c *APIClient) { c.userAgent = ua } }

// NewAPIClient returns a client of the Netlify API. Without options it talks
// to DefaultBaseURL with no token (pass one with WithToken; the process
// environment is never read), a 30s timeout per call, 3 retries from 500ms
// and rate-limit waits of at most a minute.
// A bad option (an unparsable base URL) makes every call fail with an error
// wrapping ErrInvalidArgument.
func NewAPIClient(opts ...ClientOption) *APIClient {
	c := &APIClient{
		timeout:    DefaultCallTimeout,
		maxRetries: DefaultMaxRetries,
		retryBase:  DefaultRetryBase,
		maxRLWait:  DefaultMaxRateLimitWait,
		clock:      redundancy.RealClock{},
		userAgent:  "uras-netlify",
	}
	c.base, c.baseErr = parseBase(DefaultBaseURL)
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
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
