package ghtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Wire shapes, with GitHub's field names.

type wireWorkflow struct {
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	State     string `json:"state"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	BadgeURL  string `json:"badge_url"`
}

type wireRun struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	NodeID       string  `json:"node_id"`
	HeadBranch   string  `json:"head_branch"`
	HeadSHA      string  `json:"head_sha"`
	Path         string  `json:"path"`
	DisplayTitle string  `json:"display_title"`
	RunNumber    int     `json:"run_number"`
	RunAttempt   int     `json:"run_attempt"`
	Event        string  `json:"event"`
	Status       string  `json:"status"`
	Conclusion   *string `json:"conclusion"`
	WorkflowID   int64   `json:"workflow_id"`
	URL          string  `json:"url"`
	HTMLURL      string  `json:"html_url"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
	RunStartedAt string  `json:"run_started_at"`
	JobsURL      string  `json:"jobs_url"`
	LogsURL      string  `json:"logs_url"`
	CancelURL    string  `json:"cancel_url"`
	RerunURL     string  `json:"rerun_url"`
	WorkflowURL  string  `json:"workflow_url"`
}

type wireRate struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Reset     int64  `json:"reset"`
	Used      int    `json:"used"`
	Resource  string `json:"resource"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) routes() {
	h := func(pattern string, fn func(r *http.Request, res *result)) {
		s.mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
			fn(r, r.Context().Value(resultKey{}).(*result))
		})
	}
	h("GET /rate_limit", s.getRateLimit)
	h("GET /repos/{owner}/{repo}/actions/workflows", s.listWorkflows)
	h("GET /repos/{owner}/{repo}/actions/workflows/{wf}", s.getWorkflow)
	h("PUT /repos/{owner}/{repo}/actions/workflows/{wf}/enable", s.setState(StateActive))
	h("PUT /repos/{owner}/{repo}/actions/workflows/{wf}/disable", s.setState(StateDisabledManually))
	h("POST /repos/{owner}/{repo}/actions/workflows/{wf}/dispatches", s.dispatch)
	h("GET /repos/{owner}/{repo}/actions/workflows/{wf}/runs", s.listRuns)
	h("GET /repos/{owner}/{repo}/actions/runs", s.listRuns)
	h("GET /repos/{owner}/{repo}/actions/runs/{run}", s.getRun)
	h("POST /repos/{owner}/{repo}/actions/runs/{run}/rerun", s.rerun)
	h("POST /repos/{owner}/{repo}/actions/runs/{run}/rerun-failed-jobs", s.rerun)
	h("POST /repos/{owner}/{repo}/actions/runs/{run}/cancel", s.cancel)
}

func (s *Server) base() string { return strings.TrimSuffix(s.srv.URL, "/") }

func (s *Server) wfJSON(repo string, w Workflow) wireWorkflow {
	api := fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.base(), repo, w.ID)
	return wireWorkflow{
		ID: w.ID, NodeID: fmt.Sprintf("W_kwDO%08d", w.ID), Name: w.Name, Path: w.Path, State: w.State,
		CreatedAt: ts(w.CreatedAt), UpdatedAt: ts(w.UpdatedAt), URL: api,
		HTMLURL:  fmt.Sprintf("https://github.com/%s/blob/main/%s", repo, w.Path),
		BadgeURL: fmt.Sprintf("https://github.com/%s/workflows/%s/badge.svg", repo, strings.ReplaceAll(w.Name, " ", "%20")),
	}
}

func (s *Server) runJSON(repo string, r Run) wireRun {
	api := fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.base(), repo, r.ID)
	var concl *string
	if r.Conclusion != "" {
		c := r.Conclusion
		concl = &c
	}
	var wfPath string
	if wf, ok := s.workflows[r.WorkflowID]; ok {
		wfPath = wf.v.Path
	}
	return wireRun{
		ID: r.ID, Name: r.Name, NodeID: fmt.Sprintf("WFR_kwLO%08d", r.ID), HeadBranch: r.Branch, HeadSHA: r.HeadSHA,
		Path: wfPath, DisplayTitle: r.Name, RunNumber: r.RunNumber, RunAttempt: r.Attempt, Event: r.Event,
		Status: r.Status, Conclusion: concl, WorkflowID: r.WorkflowID, URL: api,
		HTMLURL:   fmt.Sprintf("https://github.com/%s/actions/runs/%d", repo, r.ID),
		CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt), RunStartedAt: ts(r.StartedAt),
		JobsURL: api + "/jobs", LogsURL: api + "/logs", CancelURL: api + "/cancel", RerunURL: api + "/rerun",
		WorkflowURL: fmt.Sprintf("%s/repos/%s/actions/workflows/%d", s.base(), repo, r.WorkflowID),
	}
}

func repoKey(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

// page returns the [lo, hi) bounds of the requested page and sets a Link
// header on res when there are more pages (GitHub's pagination).
func (s *Server) page(r *http.Request, res *result, total int) (lo, hi int, err error) {
	per, pg := 30, 1
	q := r.URL.Query()
	if v := q.Get("per_page"); v != "" {
		if per, err = strconv.Atoi(v); err != nil || per < 1 {
			return 0, 0, fmt.Errorf("per_page %q is not a positive number", v)
		}
		per = min(per, 100)
	}
	if v := q.Get("page"); v != "" {
		if pg, err = strconv.Atoi(v); err != nil || pg < 1 {
			return 0, 0, fmt.Errorf("page %q is not a positive number", v)
		}
	}
	lo = min((pg-1)*per, total)
	hi = min(lo+per, total)
	if last := (total + per - 1) / per; pg < last {
		link := func(p int, rel string) string {
			u := *r.URL
			q := u.Query()
			q.Set("page", strconv.Itoa(p))
			q.Set("per_page", strconv.Itoa(per))
			u.RawQuery = q.Encode()
			return fmt.Sprintf("<%s%s>; rel=%q", s.base(), u.RequestURI(), rel)
		}
		res.header = http.Header{"Link": {link(pg+1, "next") + ", " + link(last, "last")}}
	}
	return lo, hi, nil
}

func invalid(res *result, msg string) {
	res.status = http.StatusUnprocessableEntity
	res.body = map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"}
}

func (s *Server) getRateLimit(_ *http.Request, res *result) {
	core := wireRate{Limit: s.rate.Limit, Remaining: s.rate.Remaining, Reset: s.rate.Reset.Unix(), Used: s.rate.Used, Resource: "core"}
	res.status = http.StatusOK
	res.body = map[string]any{"resources": map[string]any{"core": core}, "rate": core}
}

func (s *Server) listWorkflows(r *http.Request, res *result) {
	key := repoKey(r)
	if !s.repos[key] {
		return
	}
	var all []Workflow
	for _, w := range s.workflows {
		if w.repo == key {
			all = append(all, w.v)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	lo, hi, err := s.page(r, res, len(all))
	if err != nil {
		invalid(res, err.Error())
		return
	}
	out := make([]wireWorkflow, 0, hi-lo)
	for _, w := range all[lo:hi] {
		out = append(out, s.wfJSON(key, w))
	}
	res.status = http.StatusOK
	res.body = map[string]any{"total_count": len(all), "workflows": out}
}

// findWorkflow resolves {wf}: a numeric id or a file name ("ci.yml").
func (s *Server) findWorkflow(r *http.Request) (*entry[Workflow], bool) {
	key, id := repoKey(r), r.PathValue("wf")
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		w, ok := s.workflows[n]
		return w, ok && w.repo == key
	}
	for _, w := range s.workflows {
		if w.repo == key && path.Base(w.v.Path) == id {
			return w, true
		}
	}
	return nil, false
}

func (s *Server) getWorkflow(r *http.Request, res *result) {
	w, ok := s.findWorkflow(r)
	if !ok {
		return
	}
	res.status, res.body = http.StatusOK, s.wfJSON(w.repo, w.v)
}

func (s *Server) setState(state string) func(r *http.Request, res *result) {
	return func(r *http.Request, res *result) {
		w, ok := s.findWorkflow(r)
		if !ok {
			return
		}
		w.v.State = state
		w.v.UpdatedAt = s.clock.Now().UTC()
		res.status, res.body = http.StatusNoContent, nil
	}
}

func (s *Server) dispatch(r *http.Request, res *result) {
	w, ok := s.findWorkflow(r)
	if !ok {
		return
	}
	var req struct {
		Ref    string         `json:"ref"`
		Inputs map[string]any `json:"inputs"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &req); err != nil {
		res.status = http.StatusBadRequest
		res.body = map[string]string{"message": "Problems parsing JSON"}
		return
	}
	if req.Ref == "" {
		invalid(res, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	if w.v.State != StateActive {
		invalid(res, "Workflow is disabled")
		return
	}
	s.addRunLocked(w.repo, Run{WorkflowID: w.v.ID, Branch: req.Ref, Event: "workflow_dispatch", Status: RunQueued})
	res.status, res.body = http.StatusNoContent, nil
}

func (s *Server) runsLocked(key string, keep func(Run) bool) []Run {
	var out []Run
	for _, r := range s.runs {
		if r.repo == key && keep(r.v) {
			out = append(out, r.v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

func (s *Server) listRuns(r *http.Request, res *result) {
	key := repoKey(r)
	if !s.repos[key] {
		return
	}
	wfID := int64(-1)
	if r.PathValue("wf") != "" {
		w, ok := s.findWorkflow(r)
		if !ok {
			return
		}
		wfID = w.v.ID
	}
	q := r.URL.Query()
	branch, status, event := q.Get("branch"), q.Get("status"), q.Get("event")
	all := s.runsLocked(key, func(run Run) bool {
		return (wfID < 0 || run.WorkflowID == wfID) &&
			(branch == "" || run.Branch == branch) &&
			(event == "" || run.Event == event) &&
			(status == "" || run.Status == status || run.Conclusion == status)
	})
	lo, hi, err := s.page(r, res, len(all))
	if err != nil {
		invalid(res, err.Error())
		return
	}
	out := make([]wireRun, 0, hi-lo)
	for _, run := range all[lo:hi] {
		out = append(out, s.runJSON(key, run))
	}
	res.status = http.StatusOK
	res.body = map[string]any{"total_count": len(all), "workflow_runs": out}
}

func (s *Server) findRun(r *http.Request) (*entry[Run], bool) {
	n, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil {
		return nil, false
	}
	run, ok := s.runs[n]
	return run, ok && run.repo == repoKey(r)
}

func (s *Server) getRun(r *http.Request, res *result) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	res.status, res.body = http.StatusOK, s.runJSON(run.repo, run.v)
}

func (s *Server) rerun(r *http.Request, res *result) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	if run.v.Status != RunCompleted {
		res.status = http.StatusForbidden
		res.body = map[string]string{"message": "This workflow run is not completed", "documentation_url": "https://docs.github.com/rest/actions/workflow-runs"}
		return
	}
	now := s.clock.Now().UTC()
	run.v.Attempt++
	run.v.Status, run.v.Conclusion = RunQueued, ""
	run.v.StartedAt, run.v.UpdatedAt = now, now
	res.status, res.body = http.StatusCreated, map[string]any{}
}

func (s *Server) cancel(r *http.Request, res *result) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	if run.v.Status == RunCompleted {
		res.status = http.StatusConflict
		res.body = map[string]string{"message": "Cannot cancel a workflow run that is completed.", "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run"}
		return
	}
	run.v.Status, run.v.Conclusion = RunCompleted, ConclusionCancelled
	run.v.UpdatedAt = s.clock.Now().UTC()
	res.status, res.body = http.StatusAccepted, map[string]any{}
}
