package ghactions

import (
	"slices"
	"time"

	"github.com/google/go-github/v62/github"
)

// maxDelivered bounds the runs a Checker keeps between two checks; past it
// the next check reads everything from the API.
const maxDelivered = 1024

// delivered is a run as a webhook delivered it.
type delivered struct {
	info RunInfo
	own  bool // made from this repository's code, not a fork's
}

// deliver keeps run, from a workflow_run webhook delivery, for the next
// check. A run delivered twice is kept as the further along of the two.
func (c *Checker) deliver(run *github.WorkflowRun) {
	if run == nil || run.GetID() == 0 {
		return
	}
	d := delivered{info: runInfo(run), own: c.ownRun(run)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.delivered == nil {
		c.delivered = map[int64]delivered{}
	}
	if old, ok := c.delivered[d.info.ID]; ok && !newerRun(d.info, old.info) {
		return
	}
	if _, ok := c.delivered[d.info.ID]; !ok && len(c.delivered) >= maxDelivered {
		c.overflow = true
		return
	}
	c.delivered[d.info.ID] = d
}

// takeDelivered takes the runs delivered since the last check, oldest
// first, and says whether the check must read GitHub in full: when nothing
// was delivered, when the last full reading is SafetyNetInterval old or
// missing, when more runs came than were kept, or when a run belongs to a
// workflow the last reading did not know or saw inactive (it may have
// been enabled since).
func (c *Checker) takeDelivered(now time.Time) (runs []delivered, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.delivered {
		runs = append(runs, d)
	}
	overflow := c.overflow
	c.delivered, c.overflow = nil, false
	slices.SortFunc(runs, func(a, b delivered) int {
		if newerRun(b.info, a.info) {
			return -1
		}
		if newerRun(a.info, b.info) {
			return 1
		}
		return 0
	})
	if len(runs) == 0 || overflow || c.fullAt.IsZero() || now.Sub(c.fullAt) >= SafetyNetInterval {
		return runs, true
	}
	for _, d := range runs {
		i := slices.IndexFunc(c.obs.Workflows, func(w WorkflowInfo) bool { return w.ID == d.info.WorkflowID })
		if i < 0 || c.obs.Workflows[i].Watched && c.obs.Workflows[i].State != WorkflowActive {
			return runs, true
		}
	}
	return runs, false
}

// redeliver puts back runs a check took but could not use (GitHub could
// not be read), unless newer ones came meanwhile.
func (c *Checker) redeliver(runs []delivered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range runs {
		if c.delivered == nil {
			c.delivered = map[int64]delivered{}
		}
		if old, ok := c.delivered[d.info.ID]; ok && !newerRun(d.info, old.info) {
			continue
		}
		if len(c.delivered) >= maxDelivered {
			c.overflow = true
			return
		}
		c.delivered[d.info.ID] = d
	}
}

// applyDelivered folds delivered runs into wfs as readRuns would have:
// runs of this repository on branch only; a run replaces the workflow's
// newest when it is newer (or the same run further along), and joins or
// leaves the stuck and waiting lists as its status and age say.
func (c *Checker) applyDelivered(wfs []WorkflowInfo, branch string, runs []delivered, now time.Time) {
	for _, d := range runs {
		r := d.info
		if !d.own || r.HeadBranch != branch {
			continue
		}
		i := slices.IndexFunc(wfs, func(w WorkflowInfo) bool { return w.ID == r.WorkflowID })
		if i < 0 || !wfs[i].Watched || wfs[i].State != WorkflowActive {
			continue
		}
		w := &wfs[i]
		if w.Newest == nil || newerRun(r, *w.Newest) {
			n := r
			w.Newest = &n
		} else if w.Newest.ID == r.ID {
			r = *w.Newest // the reading is further along than the delivery
		}
		for _, x := range slices.Concat(w.Stuck, w.Waiting) {
			if x.ID == r.ID && newerRun(x, r) {
				r = x
			}
		}
		notR := func(x RunInfo) bool { return x.ID == r.ID }
		w.Stuck = slices.DeleteFunc(w.Stuck, notR)
		w.Waiting = slices.DeleteFunc(w.Waiting, notR)
		switch {
		case r.Status.awaitsApproval():
			if now.Sub(r.Created) > c.s.waitAfter {
				w.Waiting = append(w.Waiting, r)
			}
		case r.Status == RunQueued || r.Status == RunInProgress:
			if now.Sub(r.Started) > c.s.stuckAfter {
				w.Stuck = append(w.Stuck, r)
			}
		}
	}
}

// newerRun reports whether a is a newer run than b, or the same run
// further along: a later attempt, completed over not yet, a later update,
// or (in the same second) a later status.
//
// Statuses alone do not order an attempt's life: a run goes from
// in_progress back to waiting when a later job awaits a reviewer or a
// deployment protection rule, so updated_at decides between two readings
// of a run that has not ended.
func newerRun(a, b RunInfo) bool {
	if a.ID != b.ID {
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.ID > b.ID
	}
	if a.Attempt != b.Attempt {
		return a.Attempt > b.Attempt
	}
	if ac, bc := a.Status == RunCompleted, b.Status == RunCompleted; ac != bc {
		return ac
	}
	if !a.Updated.Equal(b.Updated) {
		return a.Updated.After(b.Updated)
	}
	return a.Status.rank() > b.Status.rank()
}

// rank orders statuses along a run's life, for two readings made in the
// same second.
func (s RunStatus) rank() int {
	switch s {
	case RunCompleted:
		return 3
	case RunInProgress:
		return 2
	default: // requested, waiting, pending, queued, and unknown values
		return 1
	}
}

// cloneWorkflows copies wfs deeply enough to change runs without touching
// the observation others read.
func cloneWorkflows(wfs []WorkflowInfo) []WorkflowInfo {
	out := slices.Clone(wfs)
	for i := range out {
		w := &out[i]
		if w.Newest != nil {
			n := *w.Newest
			w.Newest = &n
		}
		w.Stuck = slices.Clone(w.Stuck)
		w.Waiting = slices.Clone(w.Waiting)
	}
	return out
}
