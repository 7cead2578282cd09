package netlify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"

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

// request describes one API call.
type request struct {
	method string
	path   string       // under the base, e.g. "/sites/x"
	abs    *url.URL     // instead of base+path (build hooks); no token is sent
	shown  string       // the path errors show (build hooks hide theirs)
	query  url.Values   // optional
	body   any          // JSON-encoded when non-nil
	out    any          // JSON-decoded into when non-nil
	header *http.Header // when non-nil, receives the answer's header
}

// idempotent reports whether the request may be sent again after a failure
// that leaves open whether it took effect.
func (r request) idempotent() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// do runs r with timeout, retries and rate-limit handling.
func (c *APIClient) do(ctx context.Context, r request) error {
	if r.shown == "" {
		r.shown = r.path
	}
	if r.abs == nil {
		if c.baseErr != nil {
			return c.baseErr
		}
		if c.token == "" {
			return ErrNoToken
		}
	}
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("netlify: %s %s: encode body: %w", r.method, r.shown, err)
		}
		payload = b
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}

	// go-retry drives the loop; the waits themselves happen on the client's
	// clock (so rate-limit resets are measured and waited on one clock), so
	// the backoff handed to go-retry only counts and sizes them.
	var wait time.Duration
	expo := retry.WithCappedDuration(30*time.Second, retry.NewExponential(c.retryBase))
	tries := 0
	backoff := retry.BackoffFunc(func() (time.Duration, bool) {
		tries++
		if tries > c.maxRetries {
			return 0, true
		}
		d, _ := expo.Next()
		if wait == 0 {
			wait = d
		}
		return 0, false
	})
	var last error
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		if wait > 0 {
			w := wait
			wait = 0
			select {
			case <-c.clock.After(w):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err, again := c.once(ctx, r, payload, &wait)
		last = err
		if again {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(last, ctx.Err()) {
		// The deadline cut a retry short: say what the last try met.
		return fmt.Errorf("%w (last try: %w)", ctx.Err(), last)
	}
	return err
}

// once makes one HTTP request and says whether its failure may be retried;
// *wait is set when the next try must wait other than the backoff (a
// rate-limit reset). A request that is not idempotent is retried only when
// it cannot have taken effect (a 429, or no connection made); its other
// failures wrap ErrUncertain.
func (c *APIClient) once(ctx context.Context, r request, payload []byte, wait *time.Duration) (error, bool) {
	u := r.abs
	if u == nil {
		u = c.base.JoinPath(r.path)
	} else {
		cp := *u
		u = &cp
	}
	if len(r.query) > 0 {
		q := u.Query()
		for k, vs := range r.query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrInvalidArgument, r.method, r.shown, err), false
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.abs == nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// uncertain marks a failure after which a change may have been made.
	uncertain := func(err error) (error, bool) {
		if r.idempotent() {
			return err, ctx.Err() == nil
		}
		return &uncertainError{err: err}, false
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			if notSent(err) {
				return fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, ctx.Err()), false
			}
			e, _ := uncertain(fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, ctx.Err()))
			return e, false
		}
		// Never quote err: its text holds the URL, and a build hook URL is
		// a credential.
		e := fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, redactURLError(err))
		if notSent(err) {
			return e, true
		}
		return uncertain(e)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	if r.header != nil {
		*r.header = resp.Header.Clone()
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		e := fmt.Errorf("netlify: %s %s: read response: %w", r.method, r.shown, redactURLError(err))
		if ctx.Err() != nil {
			e = fmt.Errorf("netlify: %s %s: read response: %w", r.method, r.shown, ctx.Err())
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 && !r.idempotent() {
			// It was done; only the answer is lost.
			return e, false
		}
		return uncertain(e)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.out == nil {
			return nil, false
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return fmt.Errorf("%w: %s %s: %d with an empty body", ErrMalformedResponse, r.method, r.shown, resp.StatusCode), false
		}
		if err := json.Unmarshal(data, r.out); err != nil {
			return fmt.Errorf("%w: %s %s: %v (body starts %q)", ErrMalformedResponse, r.method, r.shown, jsonProblem(err), c.quote(data, 64)), false
		}
		return nil, false
	}
	apiErr := &APIError{Method: r.method, Path: r.shown, StatusCode: resp.StatusCode, Message: c.quote([]byte(errorMessage(resp, data)), 256)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		rl := rateLimit(resp.Header, apiErr)
		d := c.retryBase
		if !rl.Reset.IsZero() {
			d = rl.Reset.Sub(c.clock.Now())
			if d < 0 {
				d = 0
			}
		}
		if d > c.maxRLWait {
			return rl, false
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return rl, false
		}
		*wait = d
		if d == 0 {
			*wait = time.Nanosecond // retry at once, but do not take the backoff's pause
		}
		return rl, true
	case resp.StatusCode >= 500:
		return uncertain(apiErr)
	}
	return apiErr, false
}

// notSent reports whether a transport error happened before the request
// could reach the server (no connection was made), so that sending it again
// cannot repeat an effect.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// jsonProblem is what a decoding error says, without the Go type names
// encoding/json puts in it.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q: JSON %s where the API documents another type", te.Field, te.Value)
		}
		return fmt.Sprintf("JSON %s where the API documents another type", te.Value)
	}
	return err.Error()
}

// redactURLError drops the URL from a *url.Error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func rateLimit(h http.Header, apiErr *APIError) *RateLimitError {
	rl := &RateLimitError{Err: apiErr}
	rl.Limit, _ = strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rl.Remaining, _ = strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if s, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && s > 0 {
		rl.Reset = time.Unix(s, 0)
	}
	return rl
}

// errorMessage takes the API's "message" field, else a short quote of the
// body, else the status text.
func errorMessage(resp *http.Response, data []byte) string {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		if e.Error != "" {
			return e.Error
		}
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/plain") && len(bytes.TrimSpace(data)) > 0 {
		return string(bytes.TrimSpace(data))
	}
	return http.StatusText(resp.StatusCode)
}

// scrub hides the client's token in text quoted from an answer: an API
// (or a proxy) that echoes the request must not put it in an error.
func (c *APIClient) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[REDACTED]")
}

// quote returns at most the first n bytes of b, the token hidden (in full,
// even where it crosses the cut).
func (c *APIClient) quote(b []byte, n int) string {
	s := c.scrub(string(b[:min(len(b), n+len(c.token))]))
	if len(s) > n || len(b) > n+len(c.token) {
		return s[:min(len(s), n)] + "…"
	}
	return s
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
