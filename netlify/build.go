package netlify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Build is a build of a site (the API's build object).
type Build struct {
	ID        string    `json:"id"`
	DeployID  string    `json:"deploy_id,omitempty"`
	SHA       string    `json:"sha,omitempty"`
	Done      bool      `json:"done"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateBuildOptions tunes CreateBuild. Zero fields are left out.
type CreateBuildOptions struct {
	// ClearCache builds without the build cache (query clear_cache=true).
	ClearCache bool
	// Title is shown in the deploy list (query title).
	Title string
	// Branch builds this branch instead of the production branch (query
	// branch).
	Branch string
}

// CreateBuild starts a new build of the site from its linked repository
// (POST /sites/{site_id}/builds). The options travel as query parameters,
// as the API description has them. A failure wrapping ErrUncertain may
// have started the build: look for a new deploy before trying again.
func (c *APIClient) CreateBuild(ctx context.Context, siteID string, opts CreateBuildOptions) (*Build, error) {
	if err := checkID("site", siteID); err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts.ClearCache {
		q.Set("clear_cache", "true")
	}
	if opts.Title != "" {
		q.Set("title", opts.Title)
	}
	if opts.Branch != "" {
		q.Set("branch", opts.Branch)
	}
	var out Build
	if err := c.do(ctx, request{method: http.MethodPost, path: "/sites/" + siteID + "/builds", query: q, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// BuildHookOptions tunes TriggerBuildHook.
type BuildHookOptions struct {
	Title      string // trigger_title: shown in the deploy log
	Branch     string // trigger_branch: build this branch instead of the hook's
	ClearCache bool   // clear_cache: build without the cache
}

// TriggerBuildHook posts to a build hook URL
// (https://api.netlify.com/build_hooks/{id}). The hook URL is itself a
// credential: it is never quoted in errors, and the access token is not
// sent with it. The answer names no deploy; a failure wrapping
// ErrUncertain may have started a build.
func (c *APIClient) TriggerBuildHook(ctx context.Context, hookURL string, opts BuildHookOptions) error {
	u, err := url.Parse(strings.TrimSpace(hookURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: build hook URL is not an absolute http(s) URL", ErrInvalidArgument)
	}
	q := url.Values{}
	if opts.Title != "" {
		q.Set("trigger_title", opts.Title)
	}
	if opts.Branch != "" {
		q.Set("trigger_branch", opts.Branch)
	}
	if opts.ClearCache {
		q.Set("clear_cache", "true")
	}
	return c.do(ctx, request{method: http.MethodPost, abs: u, shown: "build hook", query: q, body: map[string]any{}})
}
