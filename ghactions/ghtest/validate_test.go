package ghtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/uras-dev/uras/ghactions/ghtest"
)

// specFile is GitHub's OpenAPI description, trimmed to the operations the
// server serves (see testdata/README.md).
const specFile = "testdata/api.github.com.actions.json"

// validator checks every request to and every answer of a server against
// GitHub's OpenAPI description:
//   - an answer with a status the operation documents is validated by
//     openapi3filter (body schema, required fields, nullability, types);
//   - any other answer must be what GitHub sends outside the description:
//     a 304 without a body, a JSON error body with a message (401, 403/429
//     limits, 422...), or an HTML gateway page for a 5xx;
//   - a request (path, query, body) must be valid, unless the test allows
//     bad requests (to see the server refuse them).
type validator struct {
	t   testing.TB
	doc *openapi3.T

	once    sync.Once
	router  routers.Router
	rerr    error
	mu      sync.Mutex
	errs    []string
	badReqs bool
	seen    map[string]int // "operationId status" -> answers validated against the schema
	other   map[string]int // "operationId status" -> answers outside the description
}

var (
	specOnce sync.Once
	specData []byte
	specErr  error
)

func newValidator(t testing.TB) *validator {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(specFile)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
			specErr = fmt.Errorf("the description itself: %w", err)
			return
		}
		specData, specErr = doc.MarshalJSON()
	})
	if specErr != nil {
		t.Fatalf("load %s: %v", specFile, specErr)
	}
	// Each server gets its own copy: the servers field is rewritten.
	doc, err := openapi3.NewLoader().LoadFromData(specData)
	if err != nil {
		t.Fatal(err)
	}
	v := &validator{t: t, doc: doc, seen: map[string]int{}, other: map[string]int{}}
	t.Cleanup(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, e := range v.errs {
			t.Errorf("openapi: %s", e)
		}
	})
	return v
}

// allowBadRequests lets requests that break the description through (the
// test wants to see the server refuse them); answers are still checked.
func (v *validator) allowBadRequests() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.badReqs = true
}

func (v *validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, fmt.Sprintf(format, args...))
}

func (v *validator) count(m map[string]int, key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m[key]++
}

// Seen returns how many answers of operation op with status were validated
// against the description's schema.
func (v *validator) Seen(op string, status int) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen[fmt.Sprintf("%s %d", op, status)]
}

func (v *validator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.once.Do(func() {
			v.doc.Servers = openapi3.Servers{{URL: "http://" + r.Host}}
			v.router, v.rerr = gorillamux.NewRouter(v.doc)
		})
		if v.rerr != nil {
			v.fail("router: %v", v.rerr)
			next.ServeHTTP(w, r)
			return
		}
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := &recorder{ResponseWriter: w, header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.hijacked || rec.status == 0 {
			return // a dropped connection or a hang: nothing was answered
		}
		v.check(r, reqBody, rec)
	})
}

func (v *validator) check(r *http.Request, reqBody []byte, rec *recorder) {
	name := r.Method + " " + r.URL.Path
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		// Not an operation of the description: only GitHub's 404 fits.
		if rec.status != http.StatusNotFound {
			v.fail("%s: no such operation, yet answered %d", name, rec.status)
		}
		v.checkError(name, rec)
		return
	}
	op := route.Operation.OperationID
	in := &openapi3filter.RequestValidationInput{
		Request: r.Clone(context.Background()), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		v.mu.Lock()
		bad := v.badReqs
		v.mu.Unlock()
		if !bad {
			v.fail("%s (%s): request: %v", name, op, err)
		}
	}
	key := fmt.Sprintf("%s %d", op, rec.status)
	if route.Operation.Responses.Status(rec.status) == nil {
		v.count(v.other, key)
		v.checkError(name, rec)
		return
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.status, Header: rec.header,
		Body:    io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		v.fail("%s (%s) -> %d: answer: %v", name, op, rec.status, err)
		return
	}
	v.count(v.seen, key)
}

// checkError checks an answer the description does not cover.
func (v *validator) checkError(name string, rec *recorder) {
	ct := rec.header.Get("Content-Type")
	switch {
	case rec.status == http.StatusNotModified || rec.status == http.StatusNoContent:
		if rec.body.Len() != 0 {
			v.fail("%s -> %d carries a body", name, rec.status)
		}
	case rec.status >= 500 && strings.HasPrefix(ct, "text/html"):
		if !strings.Contains(rec.body.String(), "<html") {
			v.fail("%s -> %d: HTML content type without HTML", name, rec.status)
		}
	case strings.HasPrefix(ct, "application/json"):
		var e struct {
			Message *string `json:"message"`
			Doc     string  `json:"documentation_url"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &e); err != nil || e.Message == nil {
			v.fail("%s -> %d: not a GitHub error body: %q", name, rec.status, rec.body.String())
		}
	default:
		v.fail("%s -> %d: undocumented answer with content type %q", name, rec.status, ct)
	}
}

// recorder passes an answer through and keeps a copy.
type recorder struct {
	http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (r *recorder) Header() http.Header { return r.ResponseWriter.Header() }

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.header = r.ResponseWriter.Header().Clone()
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return r.ResponseWriter.(http.Hijacker).Hijack()
}

// newValidated starts a server whose every exchange is validated.
func newValidated(t testing.TB, opts ...ghtest.Option) (*ghtest.Server, *validator) {
	t.Helper()
	v := newValidator(t)
	srv := ghtest.NewServer(append([]ghtest.Option{ghtest.WithHandlerWrap(v.wrap)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv, v
}
