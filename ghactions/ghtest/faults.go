package ghtest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// SecondaryLimit returns a fault that answers as GitHub does when a
// secondary rate limit is hit: status (403 or 429) with GitHub's message,
// and Retry-After when retryAfter is positive. GitHub often sends none;
// a client must then wait at least a minute.
func SecondaryLimit(status int, retryAfter time.Duration) redundancytest.Fault {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	}
	return redundancytest.Fault{Status: status, Header: h, Body: string(errorBody(
		"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ABCD:1234.",
		"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"))}
}

// gatewayHTML is the kind of page GitHub's edge answers a 5xx with: HTML,
// not the API's JSON.
const gatewayHTML = `<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8">
    <title>Unicorn! &middot; GitHub</title>
  </head>
  <body>
    <p>We had issues producing the response to your request.</p>
    <p>Sorry about that. Please try refreshing and contact us if the problem persists.</p>
  </body>
</html>
`

// writeFault answers f for the call recorded at index i.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f redundancytest.Fault, i int) {
	setStatus := func(st int) {
		s.mu.Lock()
		s.calls[i].Status = st
		s.mu.Unlock()
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}
	if f.Err != nil && f.Status == 0 {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http drops the connection
	}
	st := f.Status
	if st == 0 {
		st = http.StatusInternalServerError
	}
	setStatus(st)
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	body := []byte(f.Body)
	if f.Body == "" {
		switch st {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			body = []byte(gatewayHTML)
		default:
			body = errorBody(http.StatusText(st), "https://docs.github.com/rest")
		}
	}
	write(w, st, body)
}
