package ghactions

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v62/github"
)

// ErrRateLimited is matched (with errors.Is) by every error that says a
// GitHub rate limit stops calls for now: this package's *RateLimitError,
// and the Checker's errors wrapping go-github's *github.RateLimitError or
// *github.AbuseRateLimitError (when the client has no Transport).
var ErrRateLimited = errors.New("github rate limit reached")

// RateLimitError is returned, without a call being made, while a GitHub
// rate limit is spent: the core limit until its reset (X-RateLimit-Reset),
// or a secondary limit until Retry-After has passed.
type RateLimitError struct {
	// Until is when calls may resume.
	Until time.Time
	// Secondary is true for a secondary (abuse) limit, false for the core
	// hourly quota.
	Secondary bool
	// Message is GitHub's message when the limit was just hit; empty when
	// the call was refused locally.
	Message string
}

// Error names the limit and when it lifts.
func (e *RateLimitError) Error() string {
	kind := "core rate limit exhausted"
	if e.Secondary {
		kind = "secondary rate limit hit"
	}
	s := fmt.Sprintf("github: %s: no calls until %s", kind, e.Until.UTC().Format(time.RFC3339))
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// rateLimitUntil reports whether err is any kind of rate-limit error and,
// if known, when calls may resume.
func rateLimitUntil(err error, now time.Time) (time.Time, bool) {
	var own *RateLimitError
	if errors.As(err, &own) {
		return own.Until, true
	}
	var core *github.RateLimitError
	if errors.As(err, &core) {
		return core.Rate.Reset.Time, true
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil {
			return now.Add(*abuse.RetryAfter), true
		}
		return now.Add(time.Minute), true
	}
	return time.Time{}, false
}

// Rate is the core rate-limit state GitHub last reported.
type Rate struct {
	Limit     int
	Remaining int
	Used      int
	Reset     time.Time
}

// Known reports whether any answer has reported the rate yet.
func (r Rate) Known() bool { return r.Limit > 0 }

// Fraction returns the part of the limit left, from 0 to 1 (1 when unknown).
func (r Rate) Fraction() float64 {
	if r.Limit <= 0 {
		return 1
	}
	return float64(r.Remaining) / float64(r.Limit)
}

// parseRateHeaders reads X-RateLimit-* from h; ok is false when absent.
func parseRateHeaders(h http.Header) (Rate, bool) {
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 != nil || err2 != nil {
		return Rate{}, false
	}
	r := Rate{Limit: lim, Remaining: rem}
	r.Used, _ = strconv.Atoi(h.Get("X-RateLimit-Used"))
	if v, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		r.Reset = time.Unix(v, 0)
	}
	return r, true
}

// fromGitHubRate converts go-github's Rate.
func fromGitHubRate(r github.Rate) Rate {
	return Rate{Limit: r.Limit, Remaining: r.Remaining, Used: r.Limit - r.Remaining, Reset: r.Reset.Time}
}
