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

	"github.com/uras-dev/uras/ghactions"
)

func (s *Server) routes() {
	h := func(pattern string, fn func(r *http.Request, res *answer)) {
		s.mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
			fn(r, r.Context().Value(answerKey{}).(*answer))
		})
	}
	const repo, wf, run = "/repos/{owner}/{repo}", "/repos/{owner}/{repo}/actions/workflows/{wf}", "/repos/{owner}/{repo}/actions/runs/{run}"
	h("GET /rate_limit", s.getRateLimit)
	h("GET "+repo, s.getRepo)
	h("GET "+repo+"/actions/workflows", s.listWorkflows)
	h("GET "+wf, s.getWorkflow)
	h("PUT "+wf+"/enable", s.setState(ghactions.WorkflowActive))
	h("PUT "+wf+"/disable", s.setState(ghactions.WorkflowDisabledManually))
	h("POST "+wf+"/dispatches", s.dispatch)
	h("GET "+wf+"/runs", s.listRuns)
	h("GET "+repo+"/actions/runs", s.listRuns)
	h("GET "+run, s.getRun)
	h("POST "+run+"/rerun", s.rerun)
	h("POST "+run+"/rerun-failed-jobs", s.rerun)
	h("POST "+run+"/cancel", s.cancel)
	h("POST "+run+"/force-cancel", s.forceCancel)
}

func (a *answer) json(status int, v any) { a.status, a.body = status, mustJSON(v) }

func (a *answer) fail(status int, msg, doc string) { a.status, a.body = status, errorBody(msg, doc) }

const (
	docRuns      = "https://docs.github.com/rest/actions/workflow-runs"
	docWorkflows = "https://docs.github.com/rest/actions/workflows"
)

// findRepo resolves {owner}/{repo}; a private one is not found without a
// token, as on GitHub.
func (s *Server) findRepo(r *http.Request) (*repoState, bool) {
	st, ok := s.repos[repoKey(r.PathValue("owner"), r.PathValue("repo"))]
	if !ok || (st.Private && r.Header.Get("Authorization") == "") {
		return nil, false
	}
	return st, true
}

// page returns the [lo, hi) bounds of the requested page (per_page capped
// at 100, as GitHub does) and sets a Link header when there are more.
func (s *Server) page(r *http.Request, res *answer, total int) (lo, hi int, err error) {
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
			return fmt.Sprintf("<%s%s>; rel=%q", s.api(), u.RequestURI(), rel)
		}
		res.header = http.Header{"Link": {link(pg+1, "next") + ", " + link(last, "last")}}
	}
	return lo, hi, nil
}

func (s *Server) getRateLimit(r *http.Request, res *answer) {
	rate := s.rate
	if r.Header.Get("Authorization") == "" {
		rate = s.anon
	}
	core := obj{"limit": rate.Limit, "remaining": rate.Remaining, "reset": rate.Reset.Unix(), "used": rate.Used, "resource": "core"}
	search := obj{"limit": 30, "remaining": 30, "reset": rate.Reset.Unix(), "used": 0, "resource": "search"}
	graphql := obj{"limit": 5000, "remaining": 5000, "reset": rate.Reset.Unix(), "used": 0, "resource": "graphql"}
	res.json(http.StatusOK, obj{"resources": obj{"core": core, "search": search, "graphql": graphql}, "rate": core})
}

func (s *Server) getRepo(r *http.Request, res *answer) {
	st, ok := s.findRepo(r)
	if !ok {
		return
	}
	res.json(http.StatusOK, s.fullRepoJSON(st))
}

func (s *Server) listWorkflows(r *http.Request, res *answer) {
	st, ok := s.findRepo(r)
	if !ok {
		return
	}
	var all []*wfEntry
	for _, w := range s.workflows {
		if w.repo == st {
			all = append(all, w)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v.ID < all[j].v.ID })
	lo, hi, err := s.page(r, res, len(all))
	if err != nil {
		res.fail(http.StatusUnprocessableEntity, err.Error(), docWorkflows)
		return
	}
	out := make([]any, 0, hi-lo)
	for _, w := range all[lo:hi] {
		out = append(out, s.wfJSON(w))
	}
	res.json(http.StatusOK, obj{"total_count": len(all), "workflows": out})
}

// findWorkflow resolves {wf}: a numeric id or a file name ("ci.yml").
func (s *Server) findWorkflow(r *http.Request) (*wfEntry, bool) {
	st, ok := s.findRepo(r)
	if !ok {
		return nil, false
	}
	id := r.PathValue("wf")
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		w, ok := s.workflows[n]
		return w, ok && w.repo == st
	}
	for _, w := range s.workflows {
		if w.repo == st && path.Base(w.v.Path) == id {
			return w, true
		}
	}
	return nil, false
}

func (s *Server) getWorkflow(r *http.Request, res *answer) {
	if w, ok := s.findWorkflow(r); ok {
		res.json(http.StatusOK, s.wfJSON(w))
	}
}

func (s *Server) setState(state ghactions.WorkflowState) func(r *http.Request, res *answer) {
	return func(r *http.Request, res *answer) {
		w, ok := s.findWorkflow(r)
		if !ok || w.v.State == ghactions.WorkflowDeleted {
			return
		}
		if w.v.State != state {
			w.v.State = state
			w.v.UpdatedAt = s.clock.Now().UTC()
			res.effect = true
		}
		res.status, res.body = http.StatusNoContent, nil
	}
}

func (s *Server) dispatch(r *http.Request, res *answer) {
	w, ok := s.findWorkflow(r)
	if !ok || w.v.State == ghactions.WorkflowDeleted {
		return
	}
	var req struct {
		Ref              *string        `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &req); err != nil {
		res.fail(http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event")
		return
	}
	doc := "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
	switch {
	case req.Ref == nil || *req.Ref == "":
		res.fail(http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", doc)
		return
	case len(req.Inputs) > 25:
		res.fail(http.StatusUnprocessableEntity, "you may only define up to 25 `inputs` for a `workflow_dispatch` event", doc)
		return
	case w.v.State != ghactions.WorkflowActive:
		res.fail(http.StatusUnprocessableEntity, "Cannot trigger a 'workflow_dispatch' on a disabled workflow", doc)
		return
	case w.v.NoDispatch:
		res.fail(http.StatusUnprocessableEntity, "Workflow does not have 'workflow_dispatch' trigger", doc)
		return
	}
	ref := strings.TrimPrefix(*req.Ref, "refs/heads/")
	if ref != w.repo.DefaultBranch && !w.repo.branches[ref] {
		res.fail(http.StatusUnprocessableEntity, "No ref found for: "+*req.Ref, doc)
		return
	}
	id := s.addRunLocked(w.repo.key(), Run{WorkflowID: w.v.ID, Branch: ref, Event: "workflow_dispatch", Status: ghactions.RunQueued})
	res.effect = true
	if !req.ReturnRunDetails {
		res.status, res.body = http.StatusNoContent, nil
		return
	}
	full := w.repo.fullName()
	res.json(http.StatusOK, obj{
		"workflow_run_id": id,
		"run_url":         fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.api(), full, id),
		"html_url":        fmt.Sprintf("%s/%s/actions/runs/%d", web, full, id),
	})
}

func (s *Server) runsLocked(key string, keep func(Run) bool) []Run {
	var out []Run
	for _, r := range s.runs {
		if r.wf.repo.key() == key && keep(r.v) {
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

func (s *Server) listRuns(r *http.Request, res *answer) {
	st, ok := s.findRepo(r)
	if !ok {
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
	branch, status, event, sha := q.Get("branch"), q.Get("status"), q.Get("event"), q.Get("head_sha")
	all := s.runsLocked(st.key(), func(run Run) bool {
		// GitHub matches branch on head_branch alone: a fork's branch of
		// the same name matches too.
		return (wfID < 0 || run.WorkflowID == wfID) &&
			(branch == "" || run.Branch == branch) &&
			(event == "" || run.Event == event) &&
			(sha == "" || run.HeadSHA == sha) &&
			(status == "" || string(run.Status) == status || string(run.Conclusion) == status)
	})
	lo, hi, err := s.page(r, res, len(all))
	if err != nil {
		res.fail(http.StatusUnprocessableEntity, err.Error(), docRuns)
		return
	}
	out := make([]any, 0, hi-lo)
	for _, run := range all[lo:hi] {
		out = append(out, s.runJSON(s.runs[run.ID]))
	}
	res.json(http.StatusOK, obj{"total_count": len(all), "workflow_runs": out})
}

func (s *Server) findRun(r *http.Request) (*runEntry, bool) {
	st, ok := s.findRepo(r)
	if !ok {
		return nil, false
	}
	n, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil {
		return nil, false
	}
	run, ok := s.runs[n]
	return run, ok && run.wf.repo == st
}

func (s *Server) getRun(r *http.Request, res *answer) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	res.json(http.StatusOK, s.runJSON(run))
	if s.poll > 0 {
		res.header = http.Header{"X-Poll-Interval": {strconv.Itoa(int(s.poll.Seconds()))}}
	}
}

func (s *Server) rerun(r *http.Request, res *answer) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	now := s.clock.Now().UTC()
	switch {
	case run.v.Status != ghactions.RunCompleted:
		res.fail(http.StatusForbidden, "This workflow is already running", docRuns+"#re-run-a-workflow")
		return
	case now.Sub(run.v.CreatedAt) > RerunWindow:
		// GitHub's own words (cli/cli#9989).
		res.fail(http.StatusForbidden, "Unable to retry this workflow run because it was created over a month ago", docRuns+"#re-run-a-workflow")
		return
	case run.wf.v.State != ghactions.WorkflowActive:
		// A disabled workflow must be enabled before its runs can be
		// re-run (the message is this fake's).
		res.fail(http.StatusForbidden, "Unable to re-run a run of a disabled workflow", docRuns+"#re-run-a-workflow")
		return
	}
	run.v.Attempt++
	run.v.Status, run.v.Conclusion = ghactions.RunQueued, ""
	run.v.StartedAt, run.v.UpdatedAt = now, now
	run.v.CancelRequested, run.v.Zombie = time.Time{}, false
	res.effect = true
	res.json(http.StatusCreated, obj{})
}

func (s *Server) cancel(r *http.Request, res *answer) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	if run.v.Status == ghactions.RunCompleted || run.v.Zombie {
		// GitHub says this of a zombie too: a queued run that cancel
		// cannot reach any more.
		res.fail(http.StatusConflict, "Cannot cancel a workflow run that is completed.", docRuns+"#cancel-a-workflow-run")
		return
	}
	if run.v.CancelRequested.IsZero() {
		run.v.CancelRequested = s.clock.Now().UTC()
		res.effect = true
	}
	res.json(http.StatusAccepted, obj{})
}

func (s *Server) forceCancel(r *http.Request, res *answer) {
	run, ok := s.findRun(r)
	if !ok {
		return
	}
	if run.v.Status == ghactions.RunCompleted {
		res.fail(http.StatusConflict, "Cannot cancel a workflow run that is completed.", docRuns+"#force-cancel-a-workflow-run")
		return
	}
	run.v.CancelRequested = s.clock.Now().UTC()
	run.v.Zombie = false
	res.effect = true
	res.json(http.StatusAccepted, obj{})
}
