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
)

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
	req, err := c.newRequest(ctx, r, payload)
	if err != nil {
		return err, false
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
		// Never quote err itself: its text holds the URL, and a build hook
		// URL is a credential.
		switch {
		case notSent(err) && ctx.Err() == nil:
			return fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, redactURLError(err)), true
		case notSent(err):
			return fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, ctx.Err()), false
		case ctx.Err() != nil:
			e, _ := uncertain(fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, ctx.Err()))
			return e, false
		}
		return uncertain(fmt.Errorf("netlify: %s %s: %w", r.method, r.shown, redactURLError(err)))
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
		cause := redactURLError(err)
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
		e := fmt.Errorf("netlify: %s %s: read response: %w", r.method, r.shown, cause)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 && !r.idempotent() {
			return e, false // it was done; only the answer is lost
		}
		return uncertain(e)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return c.decode(r, resp.StatusCode, data), false
	}
	apiErr := &APIError{Method: r.method, Path: r.shown, StatusCode: resp.StatusCode, Message: c.quote([]byte(errorMessage(resp, data)), 256)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return c.rateLimited(ctx, resp.Header, apiErr, wait)
	case resp.StatusCode >= 500:
		return uncertain(apiErr)
	}
	return apiErr, false
}

// newRequest builds the HTTP request of r.
func (c *APIClient) newRequest(ctx context.Context, r request, payload []byte) (*http.Request, error) {
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
		return nil, fmt.Errorf("%w: %s %s: %v", ErrInvalidArgument, r.method, r.shown, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.abs == nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// decode reads a 2xx answer's body into r.out.
func (c *APIClient) decode(r request, status int, data []byte) error {
	if r.out == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: %s %s: %d with an empty body", ErrMalformedResponse, r.method, r.shown, status)
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		return fmt.Errorf("%w: %s %s: %v (body starts %q)", ErrMalformedResponse, r.method, r.shown, jsonProblem(err), c.quote(data, 64))
	}
	return nil
}

// rateLimited says whether a 429 is worth waiting for: its reset within
// the client's bound and the call's deadline.
func (c *APIClient) rateLimited(ctx context.Context, h http.Header, apiErr *APIError, wait *time.Duration) (error, bool) {
	rl := rateLimit(h, apiErr)
	d := c.retryBase
	if !rl.Reset.IsZero() {
		d = max(rl.Reset.Sub(c.clock.Now()), 0)
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
