package ghactions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/google/go-github/v62/github"
)

// API is the part of go-github's ActionsService that the checker and the
// recoverer call. *github.ActionsService implements it: pass client.Actions.
type API interface {
	ListWorkflows(ctx context.Context, owner, repo string, opts *github.ListOptions) (*github.Workflows, *github.Response, error)
	ListWorkflowRunsByID(ctx context.Context, owner, repo string, workflowID int64, opts *github.ListWorkflowRunsOptions) (*github.WorkflowRuns, *github.Response, error)
	GetWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.WorkflowRun, *github.Response, error)
	EnableWorkflowByID(ctx context.Context, owner, repo string, workflowID int64) (*github.Response, error)
	RerunFailedJobsByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	RerunWorkflowByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	CancelWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	CreateWorkflowDispatchEventByID(ctx context.Context, owner, repo string, workflowID int64, event github.CreateWorkflowDispatchEventRequest) (*github.Response, error)
}

var _ API = (*github.ActionsService)(nil)

// Client is a go-github client whose HTTP transport is a *Transport:
// conditional requests answered from a cache on 304, and no calls while a
// rate limit is spent.
type Client struct {
	*github.Client
	transport *Transport
}

// NewClient returns a client for the GitHub REST API. It takes WithToken
// (default: the GITHUB_TOKEN environment variable; none if unset),
// WithBaseURL (default DefaultBaseURL), WithHTTPClient (default: a client
// over http.DefaultTransport with DefaultTimeout) and WithClock.
func NewClient(opts ...Option) (*Client, error) {
	s, err := build("NewClient", opts, "WithToken", "WithBaseURL", "WithHTTPClient", "WithClock")
	if err != nil {
		return nil, err
	}
	if s.token == "" {
		s.token = strings.TrimSpace(os.Getenv("GITHUB_TOKEN"))
	}
	base, err := url.Parse(s.baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("ghactions: NewClient: base URL %q is not an http(s) URL", s.baseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	var rt http.RoundTripper
	if s.httpClient != nil {
		hc.Timeout = s.httpClient.Timeout
		rt = s.httpClient.Transport
	}
	t := NewTransport(rt, s.token, s.clock)
	hc.Transport = t
	gh := github.NewClient(hc)
	gh.BaseURL = base
	gh.UploadURL = base
	return &Client{Client: gh, transport: t}, nil
}

// Transport returns the client's caching, rate-limit-aware transport.
func (c *Client) Transport() *Transport { return c.transport }

// Stats returns what the client's transport has done so far.
func (c *Client) Stats() Stats { return c.transport.Stats() }
