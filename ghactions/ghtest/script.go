package ghtest

import (
	"fmt"
	"time"
)

// AddWorkflow adds a workflow to owner/repo (creating the repository if
// needed) and returns its id. See Workflow for the defaults.
func (s *Server) AddWorkflow(owner, repo string, w Workflow) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := owner + "/" + repo
	s.repos[key] = true
	s.nextID++
	w.ID = s.nextID
	now := s.clock.Now().UTC()
	if w.State == "" {
		w.State = StateActive
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
	s.workflows[w.ID] = &entry[Workflow]{repo: key, v: w}
	return w.ID
}

// AddRun adds a run of the workflow r.WorkflowID and returns its id. It
// panics if the workflow is unknown (a test bug). See Run for the defaults.
func (s *Server) AddRun(owner, repo string, r Run) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addRunLocked(owner+"/"+repo, r)
}

func (s *Server) addRunLocked(key string, r Run) int64 {
	wf, ok := s.workflows[r.WorkflowID]
	if !ok || wf.repo != key {
		panic(fmt.Sprintf("ghtest: AddRun: workflow %d is not in %s", r.WorkflowID, key))
	}
	s.nextID++
	r.ID = s.nextID
	now := s.clock.Now().UTC()
	if r.Name == "" {
		r.Name = wf.v.Name
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
	}
	if r.HeadSHA == "" {
		r.HeadSHA = fmt.Sprintf("%040x", r.ID)
	}
	if r.Status == "" {
		r.Status = RunQueued
		if r.Conclusion != "" {
			r.Status = RunCompleted
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
	s.runs[r.ID] = &entry[Run]{repo: key, v: r}
	return r.ID
}

// SetWorkflowState sets a workflow's state ("disabled_inactivity", ...).
// It reports whether the workflow exists.
func (s *Server) SetWorkflowState(id int64, state string) bool {
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
	r, ok := s.runs[id]
	if ok {
		fn(&r.v)
		r.v.UpdatedAt = s.clock.Now().UTC()
	}
	return ok
}

// CompleteRun marks the run completed with conclusion ("success",
// "failure", ...) and reports whether it exists.
func (s *Server) CompleteRun(id int64, conclusion string) bool {
	return s.UpdateRun(id, func(r *Run) { r.Status, r.Conclusion = RunCompleted, conclusion })
}

// Run returns the run with id.
func (s *Server) Run(id int64) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	return s.runsLocked(owner+"/"+repo, func(Run) bool { return true })
}

// SetRate replaces the core rate-limit state.
func (s *Server) SetRate(r Rate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = r
}

// ExhaustRateLimit spends the whole core limit until reset.
func (s *Server) ExhaustRateLimit(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.Used += s.rate.Remaining
	s.rate.Remaining = 0
	s.rate.Reset = reset.Truncate(time.Second)
}

// RateLimit returns the core rate-limit state.
func (s *Server) RateLimit() Rate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refillLocked()
	return s.rate
}

// Inject adds a fault; see Fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls returns every call received so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}
