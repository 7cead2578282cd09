package netlify

import (
	"context"
	"net/http"
	"time"
)

// BuildSettings is a site's build configuration (the API's repoInfo; the
// fields uras uses).
type BuildSettings struct {
	Provider     string `json:"provider,omitempty"`
	RepoPath     string `json:"repo_path,omitempty"`
	RepoBranch   string `json:"repo_branch,omitempty"`
	RepoURL      string `json:"repo_url,omitempty"`
	Dir          string `json:"dir,omitempty"`
	FunctionsDir string `json:"functions_dir,omitempty"`
	Cmd          string `json:"cmd,omitempty"`
	StopBuilds   bool   `json:"stop_builds,omitempty"`
}

// Site is a Netlify site (the API's site object; the fields uras uses).
type Site struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	State           string         `json:"state,omitempty"`
	URL             string         `json:"url,omitempty"`
	SSLURL          string         `json:"ssl_url,omitempty"`
	AdminURL        string         `json:"admin_url,omitempty"`
	CustomDomain    string         `json:"custom_domain,omitempty"`
	DeployURL       string         `json:"deploy_url,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	PublishedDeploy *Deploy        `json:"published_deploy,omitempty"`
	BuildSettings   *BuildSettings `json:"build_settings,omitempty"`
}

// PublicURL returns the site's https URL, else its http URL.
func (s *Site) PublicURL() string {
	if s.SSLURL != "" {
		return s.SSLURL
	}
	return s.URL
}

// GetSite returns a site (GET /sites/{site_id}); siteID may also be the
// site's domain.
func (c *APIClient) GetSite(ctx context.Context, siteID string) (*Site, error) {
	if err := checkID("site", siteID); err != nil {
		return nil, err
	}
	var out Site
	if err := c.do(ctx, request{method: http.MethodGet, path: "/sites/" + siteID, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListFunctions returns the functions of the site's published deploy. The
// API has no endpoint listing a site's functions; like the Netlify CLI's
// functions:list, this reads published_deploy.available_functions of the
// site. A site with no published deploy has none.
func (c *APIClient) ListFunctions(ctx context.Context, siteID string) ([]DeployedFunction, error) {
	s, err := c.GetSite(ctx, siteID)
	if err != nil {
		return nil, err
	}
	if s.PublishedDeploy == nil {
		return nil, nil
	}
	return s.PublishedDeploy.AvailableFunctions, nil
}
