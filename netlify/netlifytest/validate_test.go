package netlifytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
)

// description is testdata/netlify-openapi.yml (Netlify's swagger, trimmed
// to the operations netlifytest serves) as OpenAPI 3, for server apiURL.
//
// One relaxation: the description marks no field nullable, yet the live
// API sends null for every unset field (error_message, commit_ref,
// published_at, title, review_id, locked, skipped, ... as deploy objects
// captured from it show), and Netlify's own clients accept it. So null is
// accepted for every property a schema does not list as required; every
// other value is checked as described.
func description(t testing.TB, apiURL string) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile("testdata/netlify-openapi.yml")
	require.NoError(t, err)
	var tree any
	require.NoError(t, yaml.Unmarshal(data, &tree))
	js, err := json.Marshal(tree)
	require.NoError(t, err)
	var doc2 openapi2.T
	require.NoError(t, json.Unmarshal(js, &doc2))
	doc, err := openapi2conv.ToV3(&doc2)
	require.NoError(t, err)
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		allowNulls(s.Value, seen)
	}
	for _, p := range doc.Paths.Map() {
		for _, op := range p.Operations() {
			for _, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					allowNulls(mt.Schema.Value, seen)
				}
			}
		}
	}
	doc.Servers = openapi3.Servers{{URL: apiURL}}
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// allowNulls makes s's optional properties nullable, all the way down; an
// optional property that is a reference becomes "null or the referenced
// schema", so the referenced schema itself stays strict.
func allowNulls(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for name, p := range s.Properties {
		if p.Value != nil {
			allowNulls(p.Value, seen)
		}
		if required[name] {
			continue
		}
		if p.Ref != "" {
			s.Properties[name] = &openapi3.SchemaRef{Value: &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{p}}}
			continue
		}
		p.Value.Nullable = true
	}
	if s.Items != nil && s.Items.Value != nil {
		allowNulls(s.Items.Value, seen)
	}
	if s.AdditionalProperties.Schema != nil && s.AdditionalProperties.Schema.Value != nil {
		allowNulls(s.AdditionalProperties.Schema.Value, seen)
	}
	for _, a := range s.AllOf {
		allowNulls(a.Value, seen)
	}
}

// dateTime is the description's "dateTime" format: RFC 3339.
var dateTime = openapi3.NewRegexpFormatValidator(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// validator is an http.RoundTripper that checks every API request and
// answer against the description. Answers that are not the API's (a
// gateway's HTML error page, which the description does not cover) are
// counted, not checked.
type validator struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper

	mu      sync.Mutex
	checked map[string]int // "operationId status" -> answers checked
	gateway int
}

func newValidator(t testing.TB, srv *netlifytest.Server) *validator {
	t.Helper()
	router, err := legacy.NewRouter(description(t, srv.APIURL()))
	require.NoError(t, err)
	return &validator{t: t, router: router, next: srv.HTTPClient().Transport, checked: map[string]int{}}
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return v.next.RoundTrip(req) // not an API operation (build hooks, functions)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		v.t.Errorf("request %s %s does not match the API description: %v", req.Method, req.URL.Path, err)
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.mu.Lock()
	defer v.mu.Unlock()
	if resp.StatusCode >= 500 && regexp.MustCompile(`^text/html`).MatchString(resp.Header.Get("Content-Type")) {
		v.gateway++
		return resp, nil
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("dateTime", dateTime)}}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("answer %d to %s %s does not match the API description: %v\nbody: %s", resp.StatusCode, req.Method, req.URL.Path, err, body)
	}
	v.checked[route.Operation.OperationID+" "+http.StatusText(resp.StatusCode)]++
	return resp, nil
}

// Checked returns how many answers were checked per operation and status.
func (v *validator) Checked() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]int{}
	for k, n := range v.checked {
		out[k] = n
	}
	return out
}

// newServer starts a server and returns it with a client whose every
// request and answer is checked against the API description.
func newServer(t testing.TB, opts ...netlifytest.Option) (*netlifytest.Server, *netlify.APIClient, *validator) {
	t.Helper()
	srv := netlifytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	v := newValidator(t, srv)
	return srv, srv.Client(netlify.WithHTTPClient(&http.Client{Transport: v})), v
}
