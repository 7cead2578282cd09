package netlifytest

import (
	"encoding/json"
	"io"
	"time"
)

// The server writes its answers from maps, field by field as Netlify's
// API sends them (shapes taken from real answers: nulls for unset fields,
// and fields package netlify does not read), never from package netlify's
// own structs, so that the two cannot agree by construction.

const fakeUserID = "5b64d15c82d3f16bcbbdcdbe"

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// ts formats a time as the API does: UTC, milliseconds.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func tsOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func strOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// renderDeploy is a deploy as the API shows it. s.mu must be held.
func (s *Server) renderDeploy(d *deploy) map[string]any {
	st := s.sites[d.siteID]
	deployURL := d.deployURL
	if deployURL == "" {
		deployURL = s.URL() + "/deploy/" + d.id
	}
	var locked any
	if d.locked != nil {
		locked = *d.locked
	}
	var skipped any
	if d.skipped {
		skipped = true
	}
	required := []any{}
	var requiredFns any
	if d.required != nil {
		fns := []any{}
		for _, f := range d.required {
			fns = append(fns, f)
		}
		requiredFns = fns
	}
	schedules := []any{}
	for _, f := range d.schedules {
		schedules = append(schedules, map[string]any{"name": f.Name, "cron": f.Cron})
	}
	available := []any{}
	for _, f := range d.available {
		available = append(available, map[string]any{"n": f.Name, "id": strOrNull(f.ID), "oid": nil, "a": "lambda", "c": nil, "r": "nodejs20.x", "s": 1024})
	}
	var deployTime any
	if !d.state.InProgress() && d.buildID != "" {
		deployTime = int(d.updatedAt.Sub(d.createdAt).Seconds())
	}
	var logAccess any
	if d.buildID != "" {
		logAccess = map[string]any{"type": "firebase", "url": "https://netlify.firebaseio.com/builds/" + d.buildID + "/log"}
	}
	return map[string]any{
		"id":                    d.id,
		"site_id":               d.siteID,
		"build_id":              strOrNull(d.buildID),
		"state":                 string(d.state),
		"name":                  st.name,
		"url":                   st.url,
		"ssl_url":               st.sslURL,
		"admin_url":             "https://app.netlify.com/sites/" + st.name,
		"deploy_url":            deployURL,
		"deploy_ssl_url":        deployURL,
		"screenshot_url":        nil,
		"created_at":            ts(d.createdAt),
		"updated_at":            ts(d.updatedAt),
		"published_at":          tsOrNull(d.publishedAt),
		"user_id":               fakeUserID,
		"error_message":         strOrNull(d.errorMessage),
		"required":              required,
		"required_functions":    requiredFns,
		"commit_ref":            strOrNull(d.commitRef),
		"commit_url":            nil,
		"review_id":             nil,
		"review_url":            nil,
		"branch":                d.branch,
		"skipped":               skipped,
		"locked":                locked,
		"log_access_attributes": logAccess,
		"title":                 strOrNull(d.title),
		"context":               d.context,
		"deploy_time":           deployTime,
		"draft":                 d.draft,
		"framework":             strOrNull(d.framework),
		"function_schedules":    schedules,
		"available_functions":   available,
		"functions_region":      "us-east-2",
		"skew_protection_token": nil,
		"plugin_state":          "none",
		"lighthouse":            nil,
		"summary":               map[string]any{"status": string(d.state), "messages": []any{}},
		"links":                 map[string]any{"permalink": deployURL, "alias": deployURL},
	}
}

// renderSite is a site as the API shows it. s.mu must be held.
func (s *Server) renderSite(st *site) map[string]any {
	var published any
	if d := s.deploys[st.published]; d != nil {
		published = s.renderDeploy(d)
	}
	bs := map[string]any{
		"id": 1, "provider": "github", "deploy_key_id": nil, "repo_path": "uras-dev/" + st.name, "repo_branch": "main",
		"dir": "dist", "functions_dir": "netlify/functions", "cmd": "npm run build", "allowed_branches": []any{"main"},
		"public_repo": false, "private_logs": nil, "repo_url": "https://github.com/uras-dev/" + st.name,
		"env": map[string]any{}, "installation_id": 1234567, "stop_builds": false, "base": "",
	}
	if b := st.buildSettings; b != nil {
		for k, v := range map[string]string{"provider": b.Provider, "repo_path": b.RepoPath, "repo_branch": b.RepoBranch,
			"repo_url": b.RepoURL, "dir": b.Dir, "functions_dir": b.FunctionsDir, "cmd": b.Cmd} {
			if v != "" {
				bs[k] = v
			}
		}
		bs["stop_builds"] = b.StopBuilds
	}
	return map[string]any{
		"id":                           st.id,
		"site_id":                      st.id,
		"state":                        "current",
		"plan":                         "nf_team_starter",
		"name":                         st.name,
		"custom_domain":                strOrNull(st.customDomain),
		"domain_aliases":               []any{},
		"branch_deploy_custom_domain":  nil,
		"deploy_preview_custom_domain": nil,
		"password":                     nil,
		"notification_email":           nil,
		"url":                          st.url,
		"ssl_url":                      st.sslURL,
		"admin_url":                    "https://app.netlify.com/sites/" + st.name,
		"screenshot_url":               nil,
		"created_at":                   ts(st.createdAt),
		"updated_at":                   ts(st.updatedAt),
		"user_id":                      fakeUserID,
		"session_id":                   nil,
		"ssl":                          true,
		"force_ssl":                    nil,
		"managed_dns":                  true,
		"deploy_url":                   st.url,
		"published_deploy":             published,
		"account_id":                   "5b64d15c82d3f16bcbbdcd00",
		"account_name":                 "uras",
		"account_slug":                 "uras",
		"git_provider":                 "github",
		"deploy_hook":                  "https://api.netlify.com/hooks/github",
		"capabilities":                 map[string]any{"title": map[string]any{}, "functions": map[string]any{}},
		"processing_settings":          map[string]any{"html": map[string]any{"pretty_urls": true}},
		"build_settings":               bs,
		"id_domain":                    st.id + ".netlify.app",
		"build_image":                  "noble",
		"prerender":                    nil,
		"functions_region":             "us-east-2",
		"prevent_non_git_prod_deploys": false,
		"default_domain":               st.name + ".netlify.app",
		"use_functions":                true,
	}
}

// renderBuild is a build as the API shows it.
func (s *Server) renderBuild(b *build) map[string]any {
	state := "enqueued"
	if d := s.deploys[b.DeployID]; d != nil {
		state = string(d.state)
	}
	return map[string]any{
		"id":           b.ID,
		"deploy_id":    b.DeployID,
		"sha":          nil,
		"done":         b.done,
		"error":        strOrNull(b.err),
		"created_at":   ts(b.CreatedAt),
		"deploy_state": state,
	}
}
