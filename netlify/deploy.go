package netlify

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// DeployState is the state of a deploy as the API reports it. Values outside
// the constants are kept as they come.
type DeployState string

// The deploy states Netlify reports.
const (
	DeployNew        DeployState = "new"
	DeployEnqueued   DeployState = "enqueued"
	DeployBuilding   DeployState = "building"
	DeployUploading  DeployState = "uploading"
	DeployUploaded   DeployState = "uploaded"
	DeployPreparing  DeployState = "preparing"
	DeployPrepared   DeployState = "prepared"
	DeployProcessing DeployState = "processing"
	DeployProcessed  DeployState = "processed"
	DeployReady      DeployState = "ready"
	DeployError      DeployState = "error"
	DeployRetrying   DeployState = "retrying"
	DeployAccepted   DeployState = "accepted"
	DeployRejected   DeployState = "rejected"
	DeployCancelled  DeployState = "cancelled"
	DeploySkipped    DeployState = "skipped"
)

// String returns the state as the API spells it.
func (s DeployState) String() string { return string(s) }

// Known reports whether s is one of the constants.
func (s DeployState) Known() bool {
	switch s {
	case DeployNew, DeployEnqueued, DeployBuilding, DeployUploading, DeployUploaded,
		DeployPreparing, DeployPrepared, DeployProcessing, DeployProcessed, DeployReady,
		DeployError, DeployRetrying, DeployAccepted, DeployRejected, DeployCancelled, DeploySkipped:
		return true
	}
	return false
}

// InProgress reports whether a deploy in state s is still being built or
// published (new through processed, and retrying).
func (s DeployState) InProgress() bool {
	switch s {
	case DeployNew, DeployEnqueued, DeployBuilding, DeployUploading, DeployUploaded,
		DeployPreparing, DeployPrepared, DeployProcessing, DeployProcessed, DeployRetrying, DeployAccepted:
		return true
	}
	return false
}

// Failed reports whether s is the error state.
func (s DeployState) Failed() bool { return s == DeployError || s == DeployRejected }

// FunctionSchedule is a scheduled function as a deploy registered it.
type FunctionSchedule struct {
	Name string `json:"name"`
	Cron string `json:"cron"`
}

// DeployedFunction is one entry of a deploy's available_functions (the
// field the Netlify CLI reads: "n" is the function's name).
type DeployedFunction struct {
	Name string `json:"n"`
	ID   string `json:"id,omitempty"`
}

// Deploy is a deploy of a site (the API's deploy object; the fields uras
// uses).
type Deploy struct {
	ID                 string             `json:"id"`
	SiteID             string             `json:"site_id,omitempty"`
	BuildID            string             `json:"build_id,omitempty"`
	State              DeployState        `json:"state"`
	Name               string             `json:"name,omitempty"`
	URL                string             `json:"url,omitempty"`
	SSLURL             string             `json:"ssl_url,omitempty"`
	AdminURL           string             `json:"admin_url,omitempty"`
	DeployURL          string             `json:"deploy_url,omitempty"`
	DeploySSLURL       string             `json:"deploy_ssl_url,omitempty"`
	Branch             string             `json:"branch,omitempty"`
	CommitRef          string             `json:"commit_ref,omitempty"`
	CommitURL          string             `json:"commit_url,omitempty"`
	Context            string             `json:"context,omitempty"`
	Title              string             `json:"title,omitempty"`
	ErrorMessage       string             `json:"error_message,omitempty"`
	Draft              bool               `json:"draft,omitempty"`
	Locked             bool               `json:"locked,omitempty"`
	Skipped            bool               `json:"skipped,omitempty"`
	Framework          string             `json:"framework,omitempty"`
	CreatedAt          time.Time          `json:"created_at"`
	UpdatedAt          time.Time          `json:"updated_at"`
	PublishedAt        *time.Time         `json:"published_at,omitempty"`
	RequiredFunctions  []string           `json:"required_functions,omitempty"`
	FunctionSchedules  []FunctionSchedule `json:"function_schedules,omitempty"`
	AvailableFunctions []DeployedFunction `json:"available_functions,omitempty"`
}

// ListDeploysOptions filters and pages ListDeploys. Zero fields are left out
// of the query.
type ListDeploysOptions struct {
	State      DeployState // only deploys in this state
	Branch     string      // only deploys of this branch
	Production *bool       // only production (true) or non-production (false) deploys
	Page       int         // 1-based page
	PerPage    int         // page size (the API's default when 0); at most MaxPerPage
}

func (o ListDeploysOptions) query() url.Values {
	q := url.Values{}
	if o.State != "" {
		q.Set("state", string(o.State))
	}
	if o.Branch != "" {
		q.Set("branch", o.Branch)
	}
	if o.Production != nil {
		q.Set("production", strconv.FormatBool(*o.Production))
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(min(o.PerPage, MaxPerPage)))
	}
	return q
}

// ListDeploys lists one page of a site's deploys, newest first
// (GET /sites/{site_id}/deploys), and says from the answer's Link header
// whether more pages follow. A PerPage above MaxPerPage asks for
// MaxPerPage. AllDeploys walks every page.
func (c *APIClient) ListDeploys(ctx context.Context, siteID string, opts ListDeploysOptions) ([]Deploy, Page, error) {
	if err := checkID("site", siteID); err != nil {
		return nil, Page{}, err
	}
	var out []Deploy
	var h http.Header
	err := c.do(ctx, request{method: http.MethodGet, path: "/sites/" + siteID + "/deploys", query: opts.query(), out: &out, header: &h})
	if err != nil {
		return nil, Page{}, err
	}
	return out, parseLink(h.Get("Link"), max(opts.Page, 1)), nil
}

// GetDeploy returns one deploy (GET /sites/{site_id}/deploys/{deploy_id}).
func (c *APIClient) GetDeploy(ctx context.Context, siteID, deployID string) (*Deploy, error) {
	if err := checkID("site", siteID); err != nil {
		return nil, err
	}
	if err := checkID("deploy", deployID); err != nil {
		return nil, err
	}
	var out Deploy
	if err := c.do(ctx, request{method: http.MethodGet, path: "/sites/" + siteID + "/deploys/" + deployID, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreDeploy publishes an earlier deploy again
// (POST /sites/{site_id}/deploys/{deploy_id}/restore). A failure wrapping
// ErrUncertain may have published it.
func (c *APIClient) RestoreDeploy(ctx context.Context, siteID, deployID string) (*Deploy, error) {
	if err := checkID("site", siteID); err != nil {
		return nil, err
	}
	if err := checkID("deploy", deployID); err != nil {
		return nil, err
	}
	var out Deploy
	if err := c.do(ctx, request{method: http.MethodPost, path: "/sites/" + siteID + "/deploys/" + deployID + "/restore", out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelDeploy cancels a deploy that is still being built, and its build
// (POST /deploys/{deploy_id}/cancel). Netlify then lists it in state error
// with the message "Canceled build". A failure wrapping ErrUncertain may
// have cancelled it.
func (c *APIClient) CancelDeploy(ctx context.Context, deployID string) (*Deploy, error) {
	return c.deployPost(ctx, deployID, "cancel")
}

// LockDeploy stops auto publishing with the deploy, which must be the
// published one, left published (POST /deploys/{deploy_id}/lock): new
// deploys are still built but not published until the lock is lifted or
// another deploy is published by hand.
func (c *APIClient) LockDeploy(ctx context.Context, deployID string) (*Deploy, error) {
	return c.deployPost(ctx, deployID, "lock")
}

// UnlockDeploy starts auto publishing again (POST /deploys/{deploy_id}/unlock).
// Deploys built while the lock held are not published by it; the next one is.
func (c *APIClient) UnlockDeploy(ctx context.Context, deployID string) (*Deploy, error) {
	return c.deployPost(ctx, deployID, "unlock")
}

func (c *APIClient) deployPost(ctx context.Context, deployID, verb string) (*Deploy, error) {
	if err := checkID("deploy", deployID); err != nil {
		return nil, err
	}
	var out Deploy
	if err := c.do(ctx, request{method: http.MethodPost, path: "/deploys/" + deployID + "/" + verb, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SortNewestFirst sorts deploys by creation time, newest first (ties by id),
// in place.
func SortNewestFirst(ds []Deploy) {
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].CreatedAt.Equal(ds[j].CreatedAt) {
			return ds[i].CreatedAt.After(ds[j].CreatedAt)
		}
		return ds[i].ID > ds[j].ID
	})
}
