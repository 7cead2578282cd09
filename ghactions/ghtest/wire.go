package ghtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The answers are built as raw JSON objects shaped like GitHub's, field by
// field (nulls, URLs, nested users and repositories included), not from
// the client's structs: they can disagree with the client, as GitHub can.
// The package's tests validate them against GitHub's OpenAPI description.

type obj = map[string]any

const web = "https://github.com"

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ghtest: encode %T: %v", v, err)) // only our own maps reach here
	}
	return b
}

func errorBody(msg, doc string) []byte {
	return mustJSON(obj{"message": msg, "documentation_url": doc})
}

func notFound() []byte {
	return mustJSON(obj{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
}

func (s *Server) api() string { return strings.TrimSuffix(s.srv.URL, "/") }

// userJSON is a simple-user.
func (s *Server) userJSON(login string, id int64) obj {
	api := s.api() + "/users/" + login
	return obj{
		"login": login, "id": id, "node_id": fmt.Sprintf("U_kgDO%08d", id),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id": "", "url": api, "html_url": web + "/" + login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": "User", "user_view_type": "public",
		"site_admin": false,
	}
}

// repoURLFields are the URL fields every repository object carries, with
// the path each points at under the repository's API URL.
var repoURLFields = [][2]string{
	{"forks_url", "/forks"}, {"keys_url", "/keys{/key_id}"},
	{"collaborators_url", "/collaborators{/collaborator}"}, {"teams_url", "/teams"},
	{"hooks_url", "/hooks"}, {"issue_events_url", "/issues/events{/number}"}, {"events_url", "/events"},
	{"assignees_url", "/assignees{/user}"}, {"branches_url", "/branches{/branch}"}, {"tags_url", "/tags"},
	{"blobs_url", "/git/blobs{/sha}"}, {"git_tags_url", "/git/tags{/sha}"}, {"git_refs_url", "/git/refs{/sha}"},
	{"trees_url", "/git/trees{/sha}"}, {"statuses_url", "/statuses/{sha}"}, {"languages_url", "/languages"},
	{"stargazers_url", "/stargazers"}, {"contributors_url", "/contributors"},
	{"subscribers_url", "/subscribers"}, {"subscription_url", "/subscription"},
	{"commits_url", "/commits{/sha}"}, {"git_commits_url", "/git/commits{/sha}"},
	{"comments_url", "/comments{/number}"}, {"issue_comment_url", "/issues/comments{/number}"},
	{"contents_url", "/contents/{+path}"}, {"compare_url", "/compare/{base}...{head}"},
	{"merges_url", "/merges"}, {"archive_url", "/{archive_format}{/ref}"}, {"downloads_url", "/downloads"},
	{"issues_url", "/issues{/number}"}, {"pulls_url", "/pulls{/number}"},
	{"milestones_url", "/milestones{/number}"},
	{"notifications_url", "/notifications{?since,all,participating}"}, {"labels_url", "/labels{/name}"},
	{"releases_url", "/releases{/id}"}, {"deployments_url", "/deployments"},
}

func (s *Server) repoURLs(full string) obj {
	api := s.api() + "/repos/" + full
	o := obj{"url": api, "html_url": web + "/" + full}
	for _, f := range repoURLFields {
		o[f[0]] = api + f[1]
	}
	return o
}

// minimalRepoJSON is a minimal-repository, as runs carry it.
func (s *Server) minimalRepoJSON(owner, name string, id int64, private bool) obj {
	full := owner + "/" + name
	o := s.repoURLs(full)
	o["id"] = id
	o["node_id"] = fmt.Sprintf("R_kgDO%08d", id)
	o["name"] = name
	o["full_name"] = full
	o["private"] = private
	o["owner"] = s.userJSON(owner, id+1_000_000)
	o["description"] = nil
	o["fork"] = false
	return o
}

// fullRepoJSON is a full-repository, as GET /repos/{owner}/{repo} answers.
func (s *Server) fullRepoJSON(r *repoState) obj {
	o := s.minimalRepoJSON(r.owner, r.name, r.id, r.Private)
	full := r.fullName()
	created := ts(r.created)
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	extra := obj{
		"clone_url": web + "/" + full + ".git", "git_url": "git://github.com/" + full + ".git",
		"ssh_url": "git@github.com:" + full + ".git", "svn_url": web + "/" + full, "mirror_url": nil,
		"homepage": nil, "language": "Go", "forks_count": 0, "forks": 0, "stargazers_count": 0,
		"watchers_count": 0, "watchers": 0, "size": 108, "default_branch": r.DefaultBranch,
		"open_issues_count": 0, "open_issues": 0, "is_template": false, "topics": []any{},
		"has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false,
		"has_downloads": true, "has_discussions": false, "archived": false, "disabled": false,
		"visibility": visibility, "pushed_at": created, "created_at": created, "updated_at": created,
		"permissions":   obj{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
		"allow_forking": true, "web_commit_signoff_required": false, "license": nil,
		"temp_clone_token": "", "network_count": 0, "subscribers_count": 1,
		"custom_properties": obj{}, "organization": nil,
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// wfJSON is a workflow.
func (s *Server) wfJSON(w *wfEntry) obj {
	full := w.repo.fullName()
	return obj{
		"id": w.v.ID, "node_id": fmt.Sprintf("W_kwDO%08d", w.v.ID), "name": w.v.Name, "path": w.v.Path,
		"state": string(w.v.State), "created_at": ts(w.v.CreatedAt), "updated_at": ts(w.v.UpdatedAt),
		"url":      fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.api(), full, w.v.ID),
		"html_url": fmt.Sprintf("%s/%s/blob/%s/%s", web, full, w.repo.DefaultBranch, w.v.Path),
		"badge_url": fmt.Sprintf("%s/%s/workflows/%s/badge.svg", web, full,
			url.PathEscape(w.v.Name)),
	}
}

// runJSON is a workflow-run.
func (s *Server) runJSON(e *runEntry) obj {
	r, repo := e.v, e.wf.repo
	full := repo.fullName()
	api := fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.api(), full, r.ID)
	var conclusion any
	if r.Conclusion != "" {
		conclusion = string(r.Conclusion)
	}
	var previous any
	if r.Attempt > 1 {
		previous = fmt.Sprintf("%s/attempts/%d", api, r.Attempt-1)
	}
	headOwner, headName, _ := strings.Cut(r.HeadRepo, "/")
	headID := repo.id
	if !strings.EqualFold(r.HeadRepo, full) {
		headID = 900_000 + repo.id // a fork: another repository
	}
	actor := s.userJSON(headOwner, headID+2_000_000)
	author := obj{"name": headOwner, "email": headOwner + "@users.noreply.github.com"}
	return obj{
		"id": r.ID, "name": r.Name, "node_id": fmt.Sprintf("WFR_kwLO%08d", r.ID),
		"head_branch": r.Branch, "head_sha": r.HeadSHA, "path": e.wf.v.Path,
		"display_title": r.Name, "run_number": r.RunNumber, "run_attempt": r.Attempt,
		"event": r.Event, "status": string(r.Status), "conclusion": conclusion,
		"workflow_id": r.WorkflowID, "check_suite_id": 40_000_000 + r.ID,
		"check_suite_node_id": fmt.Sprintf("CS_kwDO%08d", r.ID),
		"url":                 api, "html_url": fmt.Sprintf("%s/%s/actions/runs/%d", web, full, r.ID),
		"pull_requests": []any{}, "created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt),
		"run_started_at": ts(r.StartedAt), "actor": actor, "triggering_actor": actor,
		"referenced_workflows": []any{},
		"jobs_url":             api + "/jobs", "logs_url": api + "/logs", "artifacts_url": api + "/artifacts",
		"cancel_url": api + "/cancel", "rerun_url": api + "/rerun", "previous_attempt_url": previous,
		"check_suite_url": fmt.Sprintf("%s/repos/%s/check-suites/%d", s.api(), full, 40_000_000+r.ID),
		"workflow_url":    fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.api(), full, r.WorkflowID),
		"head_commit": obj{
			"id": r.HeadSHA, "tree_id": strings.Repeat("7", 40), "message": "Update " + e.wf.v.Path,
			"timestamp": ts(r.CreatedAt), "author": author, "committer": author,
		},
		"repository":         s.minimalRepoJSON(repo.owner, repo.name, repo.id, repo.Private),
		"head_repository":    s.minimalRepoJSON(headOwner, headName, headID, repo.Private),
		"head_repository_id": headID,
	}
}
