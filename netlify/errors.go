package netlify

import (
	"errors"
	"fmt"
	"time"
)

// Errors the client and the checkers wrap, to be tested with errors.Is.
var (
	// ErrNoToken is returned by calls made without an access token (none
	// given with WithToken and NETLIFY_AUTH_TOKEN unset).
	ErrNoToken = errors.New("netlify: no access token (set NETLIFY_AUTH_TOKEN or use WithToken)")
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
	// ErrNoRestoreCandidate is returned when no earlier ready deploy exists to
	// restore.
	ErrNoRestoreCandidate = errors.New("netlify: no earlier ready deploy to restore")
)

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
