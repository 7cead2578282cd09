package netlify

import (
	"errors"
	"fmt"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Errors the client and the checkers wrap, to be tested with errors.Is.
var (
	// ErrNoToken is returned by API calls of a client made without an
	// access token (WithToken).
	ErrNoToken = errors.New("netlify: no access token (pass one with WithToken)")
	// ErrUncertain is wrapped by the error of a request that changes
	// something (a POST) when it failed in a way that leaves open whether it
	// took effect: a 5xx answer, a timeout, a connection lost after the
	// request was sent. The client does not send such a request again; the
	// caller reads the world to find out (see Recoverer).
	ErrUncertain = errors.New("netlify: the request may have taken effect")
	// ErrMalformedResponse is wrapped by the error for a response body that
	// is not the JSON the API documents.
	ErrMalformedResponse = errors.New("netlify: malformed response")
	// ErrInvalidArgument is wrapped by the error for an empty site or deploy
	// id, or an unusable URL.
	ErrInvalidArgument = errors.New("netlify: invalid argument")
	// ErrManifestMissing is wrapped by ReadManifest's error when the manifest
	// file does not exist.
	ErrManifestMissing = errors.New("netlify: functions manifest missing")
	// ErrManifestInvalid is wrapped by ParseManifest's error for a manifest
	// that is not valid JSON of the bundler's format.
	ErrManifestInvalid = errors.New("netlify: functions manifest invalid")
	// ErrNoRestoreCandidate is wrapped by Plan's error when endpoints are
	// down and no restore is allowed: no earlier ready production deploy
	// passed the probes while it was published, or a restore already
	// happened (the published deploy is not the newest ready one). It wraps
	// redundancy.ErrExhausted, so the orchestrator escalates at once.
	ErrNoRestoreCandidate = fmt.Errorf("netlify: no deploy to restore: %w", redundancy.ErrExhausted)
)

// uncertainError marks a failure after which a change may have been made.
type uncertainError struct{ err error }

func (e *uncertainError) Error() string { return e.err.Error() + " (it may have taken effect)" }

// Unwrap returns the failure and ErrUncertain.
func (e *uncertainError) Unwrap() []error { return []error{e.err, ErrUncertain} }

// APIError is a 4xx or 5xx answer from the Netlify API. Message is the API's
// own message (its JSON "message" field) or, failing that, the status text.
type APIError struct {
	Method     string
	Path       string // the request path, without query or host
	StatusCode int
	Message    string
}

// Error returns "netlify: GET /sites/x: 404 Not Found: message".
func (e *APIError) Error() string {
	return fmt.Sprintf("netlify: %s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Message)
}

// RateLimitError is returned when the API answered 429 and waiting for the
// limit to reset was not possible: the reset lay further away than the
// client's bound (WithMaxRateLimitWait) or than the call's deadline, or the
// retries ran out.
type RateLimitError struct {
	Limit     int       // X-RateLimit-Limit, 0 when absent
	Remaining int       // X-RateLimit-Remaining
	Reset     time.Time // X-RateLimit-Reset; zero when absent or unparsable
	Err       *APIError // the 429 answer itself
}

// Error names the reset time.
func (e *RateLimitError) Error() string {
	if e.Reset.IsZero() {
		return fmt.Sprintf("netlify: rate limited (limit %d)", e.Limit)
	}
	return fmt.Sprintf("netlify: rate limited (limit %d) until %s", e.Limit, e.Reset.UTC().Format(time.RFC3339))
}

// Unwrap returns the underlying *APIError.
func (e *RateLimitError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is an *APIError with status 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == 404
}
