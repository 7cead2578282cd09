package netlifytest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
)

// serve records the call and plays any armed fault around the real
// handler.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body),
		Authed: r.Header.Get("Authorization") == "Bearer "+s.token}
	f, faulted := s.Take(r.Method + " " + r.URL.Path)
	c.Fault = faulted
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if !faulted {
		s.mux.ServeHTTP(w, r)
		return
	}
	if f.After {
		s.mux.ServeHTTP(httptest.NewRecorder(), r) // the effect happens; its answer is lost
	}
	if f.Hang {
		s.hang(r)
		return
	}
	if f.Err != nil && f.Status == 0 {
		drop(w)
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	for k, vs := range f.Header {
		w.Header()[k] = slices.Clone(vs)
	}
	if f.Body != "" || status/100 == 2 {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	writeDefault(w, status)
}

// hang waits until the caller gives up or, for a request over the
// network, the server closes. (An in-process request waits on its own
// context only, so that in a synctest bubble the wait is durable.)
func (s *Server) hang(r *http.Request) {
	if r.Context().Value(inProcessKey{}) != nil {
		<-r.Context().Done()
		return
	}
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if mw, ok := w.(*memWriter); ok {
		mw.dropped = true
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// writeDefault writes the body the service sends with status: a gateway's
// HTML page for 502, 503 and 504, the API's JSON error otherwise.
func writeDefault(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		text := fmt.Sprintf("%d %s", status, http.StatusText(status))
		_, _ = fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", text, text)
	case http.StatusTooManyRequests:
		writeError(w, status, "Rate limit exceeded")
	default:
		writeError(w, status, http.StatusText(status))
	}
}
