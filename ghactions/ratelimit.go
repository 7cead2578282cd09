package ghactions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// ErrRateLimited is matched (with errors.Is) by every error that says a
// GitHub rate limit stops calls for now: this package's *RateLimitError,
// and the Checker's errors wrapping go-github's *github.RateLimitError or
// *github.AbuseRateLimitError (when the client has no Transport).
var ErrRateLimited = errors.New("ghactions: GitHub rate limit reached")

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
	s := fmt.Sprintf("ghactions: %s: no calls until %s", kind, e.Until.UTC().Format(time.RFC3339))
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// secondaryDefaultWait is how long to stop after a secondary limit that
// named no Retry-After (GitHub: "wait for at least one minute").
const secondaryDefaultWait = time.Minute

// limitOf reads a 403/429 answer: is it a rate limit, and until when?
// GitHub's rules: Retry-After when given; else X-RateLimit-Remaining 0
// until X-RateLimit-Reset (a primary limit, answered 403 or 429); else, for
// a secondary limit, at least a minute. It consumes the body only when it
// is a limit; otherwise it leaves the body readable.
func limitOf(resp *http.Response, rate Rate, haveRate bool, now time.Time) (until time.Time, secondary bool, msg string, ok bool) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	var e struct {
		Message string `json:"message"`
		DocURL  string `json:"documentation_url"`
	}
	_ = json.Unmarshal(body, &e)
	msg = e.Message
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return now.Add(time.Duration(secs) * time.Second), true, msg, true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return at, true, msg, true
		}
	}
	if haveRate && rate.Remaining <= 0 && !rate.Reset.IsZero() {
		return rate.Reset, false, msg, true
	}
	lower := strings.ToLower(msg + " " + e.DocURL)
	if resp.StatusCode == http.StatusTooManyRequests || strings.Contains(lower, "secondary rate limit") ||
		strings.Contains(lower, "secondary-rate-limits") || strings.Contains(lower, "abuse") {
		return now.Add(secondaryDefaultWait), true, msg, true
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return time.Time{}, false, "", false
}

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
