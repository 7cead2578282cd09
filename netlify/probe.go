package netlify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Defaults of the probe settings.
const (
	DefaultProbeTimeout = 10 * time.Second
	DefaultSlowAfter    = 3 * time.Second
)

// maxProbeBody bounds how much of an endpoint's answer a probe reads.
const maxProbeBody = 1 << 20

// Endpoint is one function endpoint to probe. Its yaml keys are those of
// an entry of a TargetConfig's probes.
type Endpoint struct {
	// Name is the function's name; it is the findings' subject.
	Name string `yaml:"name"`
	// Path is the path under the site URL. Default
	// "/.netlify/functions/<Name>".
	Path string `yaml:"path"`
	// URL, when set, is probed instead of site URL + Path.
	URL string `yaml:"url"`
	// Method is the HTTP method. Default GET.
	Method string `yaml:"method"`
	// ExpectStatus is the status that means healthy. Default 200, or 202 for
	// a background function.
	ExpectStatus int `yaml:"expect_status"`
	// Background marks a background function (default true when Name ends
	// in BackgroundSuffix).
	Background bool `yaml:"background"`
	// BodyContains, when set, must occur in the answer's body.
	BodyContains string `yaml:"body_contains"`
	// SlowAfter: an answer slower than this is degraded. Default the
	// checker's SlowAfter.
	SlowAfter time.Duration `yaml:"slow_after"`
	// Timeout bounds the probe; past it the endpoint is down. Default the
	// checker's Timeout.
	Timeout time.Duration `yaml:"timeout"`
}

// EndpointsFromManifest returns one endpoint per function of the manifest,
// with the defaults (GET, 200 or 202 for background functions). Scheduled
// functions are left out: they cannot be invoked by URL in production.
func EndpointsFromManifest(m *Manifest) []Endpoint {
	var out []Endpoint
	for _, f := range m.Functions {
		if f.Schedule != "" {
			continue
		}
		out = append(out, Endpoint{Name: f.Name, Background: f.Background()})
	}
	return out
}

// ProbeChecker probes function endpoints over HTTP. An endpoint that errors,
// times out, or answers with an unexpected status or body is
// ProblemEndpointDown (unhealthy); one that answers well but slowly is
// ProblemEndpointSlow (degraded). Endpoints are probed concurrently.
type ProbeChecker struct {
	// SiteURL is the site's root ("https://example.netlify.app"). Required
	// unless every endpoint has a URL.
	SiteURL string
	// Endpoints to probe.
	Endpoints []Endpoint
	// HTTPClient makes the requests. Default: a client that does not follow
	// redirects.
	HTTPClient *http.Client
	// Timeout per probe. Default DefaultProbeTimeout.
	Timeout time.Duration
	// SlowAfter is the latency bound. Default DefaultSlowAfter.
	SlowAfter time.Duration
	// Clock measures latency. Default redundancy.RealClock.
	Clock redundancy.Clock
}

var _ redundancy.Checker = (*ProbeChecker)(nil)

// ProbeResult is what one probe saw.
type ProbeResult struct {
	Endpoint Endpoint
	URL      string
	Status   int
	Latency  time.Duration
	Err      error // transport error or timeout
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Check probes every endpoint.
func (c *ProbeChecker) Check(ctx context.Context) redundancy.Report {
	if len(c.Endpoints) == 0 {
		return redundancy.NewReport("no endpoints to probe")
	}
	results := c.Probe(ctx)
	var fs []redundancy.Finding
	slow := 0
	for _, r := range results {
		if f, ok := c.judge(r); ok {
			if f.Problem == ProblemEndpointSlow {
				slow++
			}
			fs = append(fs, f)
		}
	}
	if err := ctx.Err(); err != nil && len(fs) == len(results) {
		// The check's own deadline cut every probe: nothing was learnt.
		return redundancy.ErrorReport(fmt.Errorf("netlify probes: %w", err))
	}
	summary := fmt.Sprintf("%d endpoint(s): %d down, %d slow", len(results), len(fs)-slow, slow)
	return redundancy.NewReport(summary, fs...)
}

// Probe probes every endpoint concurrently and returns the results in the
// order of Endpoints.
func (c *ProbeChecker) Probe(ctx context.Context) []ProbeResult {
	out := make([]ProbeResult, len(c.Endpoints))
	var wg sync.WaitGroup
	for i, ep := range c.Endpoints {
		wg.Go(func() { out[i] = c.probe(ctx, ep) })
	}
	wg.Wait()
	return out
}

func (c *ProbeChecker) clock() redundancy.Clock {
	if c.Clock == nil {
		return redundancy.RealClock{}
	}
	return c.Clock
}

func (c *ProbeChecker) resolve(ep Endpoint) Endpoint {
	if ep.Method == "" {
		ep.Method = http.MethodGet
	}
	if !ep.Background && isBackgroundName(ep.Name) {
		ep.Background = true
	}
	if ep.ExpectStatus == 0 {
		ep.ExpectStatus = http.StatusOK
		if ep.Background {
			ep.ExpectStatus = http.StatusAccepted
		}
	}
	if ep.Timeout <= 0 {
		ep.Timeout = c.Timeout
		if ep.Timeout <= 0 {
			ep.Timeout = DefaultProbeTimeout
		}
	}
	if ep.SlowAfter <= 0 {
		ep.SlowAfter = c.SlowAfter
		if ep.SlowAfter <= 0 {
			ep.SlowAfter = DefaultSlowAfter
		}
	}
	if ep.Path == "" {
		ep.Path = "/.netlify/functions/" + url.PathEscape(ep.Name)
	}
	return ep
}

func (c *ProbeChecker) target(ep Endpoint) (string, error) {
	if ep.URL != "" {
		return ep.URL, nil
	}
	if c.SiteURL == "" {
		return "", fmt.Errorf("%w: endpoint %q has no URL and SiteURL is empty", ErrInvalidArgument, ep.Name)
	}
	return strings.TrimRight(c.SiteURL, "/") + "/" + strings.TrimLeft(ep.Path, "/"), nil
}

func (c *ProbeChecker) probe(ctx context.Context, ep Endpoint) ProbeResult {
	ep = c.resolve(ep)
	r := ProbeResult{Endpoint: ep}
	u, err := c.target(ep)
	if err != nil {
		r.Err = err
		return r
	}
	r.URL = u
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, ep.Method, u, nil)
	if err != nil {
		r.Err = fmt.Errorf("%w: endpoint %q: %v", ErrInvalidArgument, ep.Name, err)
		return r
	}
	req.Header.Set("User-Agent", "uras-netlify-probe")
	hc := c.HTTPClient
	if hc == nil {
		hc = noRedirects
	}
	clk := c.clock()
	start := clk.Now()
	resp, err := hc.Do(req)
	if err != nil {
		r.Latency = clk.Now().Sub(start)
		r.Err = probeErr(ctx, ep, err)
		return r
	}
	defer func() { _ = resp.Body.Close() }()
	r.Status = resp.StatusCode
	var body []byte
	if ep.BodyContains != "" {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	}
	r.Latency = clk.Now().Sub(start)
	if err != nil {
		r.Err = probeErr(ctx, ep, err)
		return r
	}
	if ep.BodyContains != "" && !strings.Contains(string(body), ep.BodyContains) {
		r.Err = fmt.Errorf("body lacks %q", ep.BodyContains)
	}
	return r
}

// errProbeTimeout is wrapped by the error of a probe that overran its
// timeout.
var errProbeTimeout = errors.New("timed out")

func probeErr(ctx context.Context, ep Endpoint, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s", errProbeTimeout, ep.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// shown is what findings name an endpoint by: its path, or for an endpoint
// with its own URL, that URL without user info, query or fragment (they may
// hold credentials).
func (ep Endpoint) shown() string {
	if ep.URL == "" {
		return ep.Path
	}
	u, err := url.Parse(ep.URL)
	if err != nil {
		return "(endpoint URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// judge turns a result into a finding, or false when the endpoint is well.
func (c *ProbeChecker) judge(r ProbeResult) (redundancy.Finding, bool) {
	ep := r.Endpoint
	where := ep.shown()
	down := func(detail string) (redundancy.Finding, bool) {
		return redundancy.Finding{Subject: ep.Name, Problem: ProblemEndpointDown, Status: redundancy.StatusUnhealthy, Detail: detail}, true
	}
	switch {
	case r.Err != nil && r.Status == 0:
		return down(fmt.Sprintf("%s %s: %v", ep.Method, where, r.Err))
	case r.Status != ep.ExpectStatus:
		return down(fmt.Sprintf("%s %s: status %d, want %d", ep.Method, where, r.Status, ep.ExpectStatus))
	case r.Err != nil:
		return down(fmt.Sprintf("%s %s: %v", ep.Method, where, r.Err))
	case r.Latency > ep.SlowAfter:
		return redundancy.Finding{Subject: ep.Name, Problem: ProblemEndpointSlow, Status: redundancy.StatusDegraded,
			Detail: fmt.Sprintf("%s %s took %s (bound %s)", ep.Method, where, r.Latency.Round(time.Millisecond), ep.SlowAfter)}, true
	}
	return redundancy.Finding{}, false
}
