package ghtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/uras-dev/uras/ghactions"
)

// DefaultBranch is the default branch of a repository the server creates
// on its own (AddWorkflow of an unknown repository).
const DefaultBranch = "main"

// Repository is a repository the server knows. Zero fields get defaults:
// DefaultBranch is "main".
type Repository struct {
	DefaultBranch string
	// Branches are the refs a workflow may be dispatched on, besides the
	// default branch and the branches of the repository's own runs.
	Branches []string
	Private  bool
}

// Workflow is a workflow the server knows. Zero fields get defaults when
// added: ID is assigned, State is active, timestamps are the server's now.
type Workflow struct {
	ID        int64
	Name      string
	Path      string // ".github/workflows/ci.yml"
	State     ghactions.WorkflowState
	CreatedAt time.Time
	UpdatedAt time.Time
	// NoDispatch says the workflow file has no workflow_dispatch trigger:
	// GitHub refuses to dispatch it (422).
	NoDispatch bool
}

// Run is a workflow run the server knows. Zero fields get defaults when
// added: ID and RunNumber are assigned, Attempt is 1, Status is completed
// when Conclusion is set and queued otherwise, Event is "push" (or
// "pull_request" for a fork's run), HeadRepo is the run's own repository,
// HeadSHA a fixed fake, timestamps the server's now.
type Run struct {
	ID         int64
	WorkflowID int64
	Name       string // defaults to the workflow's name
	Branch     string // head_branch
	// HeadRepo is the repository the run's code came from, "owner/name":
	// the run's own repository, or a fork's for a pull request from a fork
	// (whose head_branch may well be "main" too).
	HeadRepo   string
	HeadSHA    string
	RunNumber  int
	Attempt    int // run_attempt
	Event      string
	Status     ghactions.RunStatus     // queued, in_progress, waiting, requested, pending, completed
	Conclusion ghactions.RunConclusion // empty while not completed
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  time.Time // run_started_at
	// Zombie makes a run that cancel cannot reach: POST .../cancel answers
	// 409 although the run is not completed; only force-cancel ends it.
	Zombie bool
	// CancelRequested is when a cancel or force-cancel of the run was
	// accepted (zero: none). The run ends (completed, cancelled) once the
	// server's CancelDelay has passed on its clock, or at LandCancel.
	CancelRequested time.Time
}

// Call is one request the server received.
type Call struct {
	Time        time.Time
	Method      string
	Path        string // URL path, e.g. /repos/o/r/actions/workflows
	Query       string // raw query
	Status      int    // the status the server answered (0: connection dropped or hung)
	Conditional bool   // the request carried If-None-Match
	Authorized  bool   // the request carried an Authorization header (its value is never recorded)
	Charged     bool   // the call counted against a rate limit (not a 304, not /rate_limit, not refused)
	// Effect says the call changed the server's state (a re-run, a
	// dispatch, an accepted cancel, ...), whatever it answered: with a
	// fault armed After, a call answers 5xx and still had its effect.
	Effect bool
	Fault  bool // an injected fault answered
}

// String returns "METHOD /path?query -> status".
func (c Call) String() string {
	p := c.Path
	if c.Query != "" {
		p += "?" + c.Query
	}
	return fmt.Sprintf("%s %s -> %d", c.Method, p, c.Status)
}

// repoKey is the lower-case "owner/name" GitHub matches repositories by.
func repoKey(owner, name string) string { return strings.ToLower(owner + "/" + name) }

// AddRepository adds (or replaces the settings of) owner/name and returns
// its id.
func (s *Server) AddRepository(owner, name string, r Repository) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repoLocked(owner, name, &r).id
}

func (s *Server) repoLocked(owner, name string, set *Repository) *repoState {
	key := repoKey(owner, name)
	st, ok := s.repos[key]
	if !ok {
		s.nextID++
		st = &repoState{id: s.nextID, owner: owner, name: name, created: s.clock.Now().UTC(), branches: map[string]bool{}}
		st.Repository.DefaultBranch = DefaultBranch
		s.repos[key] = st
	}
	if set != nil {
		st.Repository = *set
		if st.DefaultBranch == "" {
			st.DefaultBranch = DefaultBranch
		}
		for _, b := range set.Branches {
			st.branches[b] = true
		}
	}
	return st
}

// AddWorkflow adds a workflow to owner/repo (creating the repository if
// needed) and returns its id. See Workflow for the defaults.
func (s *Server) AddWorkflow(owner, repo string, w Workflow) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.repoLocked(owner, repo, nil)
	s.nextID++
	w.ID = s.nextID
	now := s.clock.Now().UTC()
	if w.State == "" {
		w.State = ghactions.WorkflowActive
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = now
	}
	if w.Name == "" {
		w.Name = w.Path
	}
	s.workflows[w.ID] = &wfEntry{repo: st, v: w}
	return w.ID
}

// AddRun adds a run of the workflow r.WorkflowID and returns its id. It
// panics if the workflow is not in owner/repo (a test bug). See Run for
// the defaults.
func (s *Server) AddRun(owner, repo string, r Run) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addRunLocked(repoKey(owner, repo), r)
}

func (s *Server) addRunLocked(key string, r Run) int64 {
	wf, ok := s.workflows[r.WorkflowID]
	if !ok || wf.repo.key() != key {
		panic(fmt.Sprintf("ghtest: AddRun: workflow %d is not in %s", r.WorkflowID, key))
	}
	s.nextID++
	r.ID = s.nextID
	now := s.clock.Now().UTC()
	if r.Name == "" {
		r.Name = wf.v.Name
	}
	if r.HeadRepo == "" {
		r.HeadRepo = wf.repo.owner + "/" + wf.repo.name
	}
	own := strings.EqualFold(r.HeadRepo, wf.repo.owner+"/"+wf.repo.name)
	if own && r.Branch != "" {
		wf.repo.branches[r.Branch] = true
	}
	if r.RunNumber == 0 {
		s.runNumber[r.WorkflowID]++
		r.RunNumber = s.runNumber[r.WorkflowID]
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	if r.Event == "" {
		r.Event = "push"
		if !own {
			r.Event = "pull_request"
		}
	}
	if r.HeadSHA == "" {
		r.HeadSHA = fmt.Sprintf("%040x", r.ID)
	}
	if r.Status == "" {
		r.Status = ghactions.RunQueued
		if r.Conclusion != "" {
			r.Status = ghactions.RunCompleted
		}
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = r.CreatedAt
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	s.runs[r.ID] = &runEntry{wf: wf, v: r}
	return r.ID
}

// SetWorkflowState sets a workflow's state and reports whether the
// workflow exists.
func (s *Server) SetWorkflowState(id int64, state ghactions.WorkflowState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workflows[id]
	if ok {
		w.v.State = state
		w.v.UpdatedAt = s.clock.Now().UTC()
	}
	return ok
}

// Workflow returns the workflow with id.
func (s *Server) Workflow(id int64) (Workflow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workflows[id]
	if !ok {
		return Workflow{}, false
	}
	return w.v, true
}

// UpdateRun changes the run with id through fn (UpdatedAt is set to now)
// and reports whether it exists.
func (s *Server) UpdateRun(id int64, fn func(r *Run)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	r, ok := s.runs[id]
	if ok {
		fn(&r.v)
		r.v.UpdatedAt = s.clock.Now().UTC()
	}
	return ok
}

// CompleteRun marks the run completed with conclusion and reports whether
// it exists.
func (s *Server) CompleteRun(id int64, conclusion ghactions.RunConclusion) bool {
	return s.UpdateRun(id, func(r *Run) { r.Status, r.Conclusion = ghactions.RunCompleted, conclusion })
}

// LandCancel ends a run whose cancel was accepted now, without waiting for
// the CancelDelay; it reports whether such a run exists.
func (s *Server) LandCancel(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok || r.v.CancelRequested.IsZero() || r.v.Status == ghactions.RunCompleted {
		return false
	}
	s.endCancelledLocked(r, s.clock.Now().UTC())
	return true
}

// Run returns the run with id.
func (s *Server) Run(id int64) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	r, ok := s.runs[id]
	if !ok {
		return Run{}, false
	}
	return r.v, true
}

// Runs returns the runs of owner/repo, newest first.
func (s *Server) Runs(owner, repo string) []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	return s.runsLocked(repoKey(owner, repo), func(Run) bool { return true })
}

// settleLocked lands the cancels whose delay has passed on the clock.
func (s *Server) settleLocked() {
	now := s.clock.Now().UTC()
	for _, r := range s.runs {
		if r.v.Status != ghactions.RunCompleted && !r.v.CancelRequested.IsZero() &&
			!now.Before(r.v.CancelRequested.Add(s.cancelDelay)) && now.After(r.v.CancelRequested) {
			s.endCancelledLocked(r, now)
		}
	}
}

func (s *Server) endCancelledLocked(r *runEntry, now time.Time) {
	r.v.Status, r.v.Conclusion = ghactions.RunCompleted, ghactions.ConclusionCancelled
	r.v.UpdatedAt = now
}
