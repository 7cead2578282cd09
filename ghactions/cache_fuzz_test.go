package ghactions_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzTransportAnswers feeds the Transport arbitrary answers from "GitHub":
// it must never panic, and a rate-limit error always names when calls may
// resume.
func FuzzTransportAnswers(f *testing.F) {
	f.Add(403, "60", "0", "1709300000", []byte(`{"message":"You have exceeded a secondary rate limit"}`), "")
	f.Add(429, "", "", "", []byte(`not json`), "")
	f.Add(200, "", "4999", "1709300000", []byte(`{"total_count":0}`), `W/"abc"`)
	f.Add(304, "", "4999", "x", []byte(nil), `W/"abc"`)
	f.Add(403, "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "99999999999999999999", []byte(`{}`), "")
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset string, body []byte, etag string) {
		if status < 100 || status > 599 {
			return
		}
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("X-RateLimit-Limit", "5000")
			for k, v := range map[string]string{"Retry-After": retryAfter, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset, "ETag": etag} {
				if v != "" {
					h.Set(k, v)
				}
			}
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r, ContentLength: -1}, nil
		})
		tr, err := ghactions.NewTransport(base, "https://api.github.com/", "tok", redundancytest.NewFakeClock(start))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			req, _ := http.NewRequest(http.MethodGet, "https://api.github.com/repos/o/r/actions/workflows", nil)
			resp, err := tr.RoundTrip(req)
			var rle *ghactions.RateLimitError
			switch {
			case errors.As(err, &rle):
				if rle.Until.IsZero() {
					t.Fatalf("rate-limit error without a resume time: %v", err)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			default:
				_, _ = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
			}
		}
	})
}
