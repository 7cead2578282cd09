package ghactions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v62/github"
)

// API is what the Checker and the Recoverer ask of GitHub, in go-github's
// shapes. *Client implements it; a test may implement it by hand.
type API interface {
	GetRepository(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error)
	ListWorkflows(ctx context.Context, owner, repo string, opts *github.ListOptions) (*github.Workflows, *github.Response, error)
	ListWorkflowRunsByID(ctx context.Context, owner, repo string, workflowID int64, opts *github.ListWorkflowRunsOptions) (*github.WorkflowRuns, *github.Response, error)
	GetWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.WorkflowRun, *github.Response, error)
	EnableWorkflowByID(ctx context.Context, owner, repo string, workflowID int64) (*github.Response, error)
	RerunFailedJobsByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	RerunWorkflowByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	CancelWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	ForceCancelWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error)
	CreateWorkflowDispatchEventByID(ctx context.Context, owner, repo string, workflowID int64, event github.CreateWorkflowDispatchEventRequest) (*github.Response, error)
}

var _ API = (*Client)(nil)

// Client is a go-github client whose HTTP transport is a *Transport:
// conditional requests answered from a cache on 304, no calls while a rate
// limit is spent, writes one at a time and at least a second apart, and
// the token sent to the API host only. It implements API.
type Client struct {
	*github.Client
	transport *Transport
}

// NewClient returns a client for the GitHub REST API. It takes WithToken
// (default: none, so GitHub's unauthenticated limit of 60 calls an hour
// applies; NewClient never reads the environment: the caller passes the
// token), WithBaseURL (default DefaultBaseURL), WithHTTPClient (default: a
// client over http.DefaultTransport with DefaultTimeout) and WithClock.
func NewClient(opts ...Option) (*Client, error) {
	s, err := build("NewClient", opts, "WithToken", "WithBaseURL", "WithHTTPClient", "WithClock")
	if err != nil {
		return nil, err
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
		hc.CheckRedirect = s.httpClient.CheckRedirect
		rt = s.httpClient.Transport
	}
	t, err := NewTransport(rt, base.String(), s.token, s.clock)
	if err != nil {
		return nil, err
	}
	hc.Transport = t
	gh := github.NewClient(hc)
	gh.BaseURL = base
	gh.UploadURL = base
	return &Client{Client: gh, transport: t}, nil
}

// Transport returns the client's transport.
func (c *Client) Transport() *Transport { return c.transport }

// Stats returns what the client's transport has done so far.
func (c *Client) Stats() Stats { return c.transport.Stats() }

// GetRepository reads a repository (for its default branch).
func (c *Client) GetRepository(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error) {
	return c.Repositories.Get(ctx, owner, repo)
}

// ListWorkflows lists a repository's workflows.
func (c *Client) ListWorkflows(ctx context.Context, owner, repo string, opts *github.ListOptions) (*github.Workflows, *github.Response, error) {
	return c.Actions.ListWorkflows(ctx, owner, repo, opts)
}

// ListWorkflowRunsByID lists the runs of one workflow, newest first.
func (c *Client) ListWorkflowRunsByID(ctx context.Context, owner, repo string, workflowID int64, opts *github.ListWorkflowRunsOptions) (*github.WorkflowRuns, *github.Response, error) {
	return c.Actions.ListWorkflowRunsByID(ctx, owner, repo, workflowID, opts)
}

// GetWorkflowRunByID reads one run.
func (c *Client) GetWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.WorkflowRun, *github.Response, error) {
	return c.Actions.GetWorkflowRunByID(ctx, owner, repo, runID)
}

// EnableWorkflowByID enables a workflow (204).
func (c *Client) EnableWorkflowByID(ctx context.Context, owner, repo string, workflowID int64) (*github.Response, error) {
	return c.Actions.EnableWorkflowByID(ctx, owner, repo, workflowID)
}

// RerunFailedJobsByID re-runs the failed jobs of a completed run (201).
func (c *Client) RerunFailedJobsByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error) {
	return c.Actions.RerunFailedJobsByID(ctx, owner, repo, runID)
}

// RerunWorkflowByID re-runs a completed run (201).
func (c *Client) RerunWorkflowByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error) {
	return c.Actions.RerunWorkflowByID(ctx, owner, repo, runID)
}

// CancelWorkflowRunByID asks GitHub to cancel a run. GitHub answers 202
// (go-github's *github.AcceptedError) and cancels later; 409 when the run
// cannot be cancelled.
func (c *Client) CancelWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error) {
	return c.Actions.CancelWorkflowRunByID(ctx, owner, repo, runID)
}

// ForceCancelWorkflowRunByID cancels a run that does not respond to a
// cancel, bypassing always() conditions
// (POST /repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel; 202, or
// 409). go-github v62 has no method for it.
func (c *Client) ForceCancelWorkflowRunByID(ctx context.Context, owner, repo string, runID int64) (*github.Response, error) {
	u := fmt.Sprintf("repos/%v/%v/actions/runs/%v/force-cancel", owner, repo, runID)
	req, err := c.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, req, nil)
}

// CreateWorkflowDispatchEventByID starts a workflow_dispatch run (204).
func (c *Client) CreateWorkflowDispatchEventByID(ctx context.Context, owner, repo string, workflowID int64, event github.CreateWorkflowDispatchEventRequest) (*github.Response, error) {
	return c.Actions.CreateWorkflowDispatchEventByID(ctx, owner, repo, workflowID, event)
}
