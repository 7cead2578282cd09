package ghactions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/redundancy"
)

// ErrMalformedResponse is wrapped by check errors when GitHub's answer
// could not be decoded.
var ErrMalformedResponse = errors.New("malformed JSON in GitHub's answer")

// runsPerWorkflow is how many of a workflow's newest runs on the branch one
// check reads (one page).
const runsPerWorkflow = 20

// Checker checks the GitHub Actions health of one repository branch:
// workflow states, the newest run of each workflow, runs stuck queued or
// in progress, and the core rate limit. It makes one call for the workflow
// list and one per active workflow; with a Client from NewClient every one
// of them is conditional, so a cycle in which nothing changed costs no rate
// limit.
//
// A check that cannot ask GitHub (5xx, timeout, malformed answer, a spent
// rate limit) reports StatusUnknown with Err set, which never starts a
// recovery. A Checker is safe for concurrent use.
type Checker struct {
	api  API
	repo Repo
	s    settings

	mu  sync.Mutex
	obs Observation
}

var _ redundancy.Checker = (*Checker)(nil)

// NewChecker returns a checker of repo through api (usually client.Actions
// of a Client from NewClient). It takes WithClock, WithStuckAfter and
// WithRateFloor.
func NewChecker(api API, repo Repo, opts ...Option) (*Checker, error) {
	s, err := build("NewChecker", opts, "WithClock", "WithStuckAfter", "WithRateFloor")
	if err != nil {
		return nil, err
	}
	if api == nil {
		return nil, errors.New("ghactions: NewChecker: api is nil")
	}
	if err := repo.validate(); err != nil {
		return nil, err
	}
	repo.Workflows = append([]string(nil), repo.Workflows...)
	return &Checker{api: api, repo: repo, s: s}, nil
}

// Repo returns the repository the checker watches.
func (c *Checker) Repo() Repo { return c.repo }

// Observation is what the last successful check saw; the Recoverer plans
// from it.
type Observation struct {
	Time      time.Time
	Workflows []WorkflowInfo // every workflow of the repository
	Rate      Rate
}

// WorkflowInfo is one workflow as the last check saw it.
type WorkflowInfo struct {
	ID       int64
	Name     string
	Path     string // ".github/workflows/ci.yml"
	State    WorkflowState
	Watched  bool     // selected by Repo.Workflows
	Newest   *RunInfo // newest run on the branch, nil if none (only for watched, active workflows)
	Stuck    []RunInfo
	HTMLURL  string
	ReadRuns bool // the runs were read
}

// RunInfo is one workflow run.
type RunInfo struct {
	ID         int64
	Number     int
	Attempt    int // run_attempt: 1 for the first try
	Status     RunStatus
	Conclusion RunConclusion
	Event      string
	Started    time.Time // run_started_at, or created_at
	HTMLURL    string
}

// Observed returns what the last successful check saw.
func (c *Checker) Observed() Observation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.obs
}

// Check implements redundancy.Checker.
func (c *Checker) Check(ctx context.Context) redundancy.Report {
	now := c.s.clock.Now()
	var rate Rate
	note := func(resp *github.Response) {
		if resp != nil && resp.Rate.Limit > 0 {
			rate = fromGitHubRate(resp.Rate)
		}
	}

	wfs, err := c.listWorkflows(ctx, note)
	if err != nil {
		return c.errorReport(err, now)
	}
	var findings []redundancy.Finding
	for _, want := range c.repo.Workflows {
		found := false
		for _, w := range wfs {
			found = found || matchWorkflow(want, w.Path, w.Name)
		}
		if !found {
			findings = append(findings, redundancy.Finding{
				Subject: want, Problem: ProblemWorkflowNotFound, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("no workflow %q in %s/%s", want, c.repo.Owner, c.repo.Name),
			})
		}
	}
	watched := 0
	for i := range wfs {
		w := &wfs[i]
		if !w.Watched {
			continue
		}
		watched++
		if f, ok := c.judgeState(w); ok {
			findings = append(findings, f)
		}
		if w.State != WorkflowActive {
			continue
		}
		if err := c.readRuns(ctx, w, now, note); err != nil {
			return c.errorReport(err, now)
		}
		findings = append(findings, c.judgeRuns(w, now)...)
	}
	if rate.Known() && rate.Fraction() < c.s.rateFloor {
		findings = append(findings, redundancy.Finding{
			Subject: c.repo.String(), Problem: ProblemRateLimitLow, Status: redundancy.StatusDegraded,
			Detail: fmt.Sprintf("%d of %d core API calls left until %s", rate.Remaining, rate.Limit, rate.Reset.UTC().Format(time.RFC3339)),
		})
	}
	c.mu.Lock()
	c.obs = Observation{Time: now, Workflows: wfs, Rate: rate}
	c.mu.Unlock()

	summary := fmt.Sprintf("%s: %d workflows watched, all well", c.repo, watched)
	if len(findings) > 0 {
		summary = fmt.Sprintf("%s: %d workflows watched, %d findings", c.repo, watched, len(findings))
	}
	return redundancy.NewReport(summary, findings...)
}

func (c *Checker) listWorkflows(ctx context.Context, note func(*github.Response)) ([]WorkflowInfo, error) {
	var out []WorkflowInfo
	opt := &github.ListOptions{PerPage: 100}
	for {
		list, resp, err := c.api.ListWorkflows(ctx, c.repo.Owner, c.repo.Name, opt)
		note(resp)
		if err != nil {
			return nil, c.wrap("list workflows", err)
		}
		for _, w := range list.Workflows {
			info := WorkflowInfo{
				ID: w.GetID(), Name: w.GetName(), Path: w.GetPath(),
				State: WorkflowState(w.GetState()), HTMLURL: w.GetHTMLURL(),
			}
			info.Watched = len(c.repo.Workflows) == 0
			for _, want := range c.repo.Workflows {
				info.Watched = info.Watched || matchWorkflow(want, info.Path, info.Name)
			}
			out = append(out, info)
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (c *Checker) readRuns(ctx context.Context, w *WorkflowInfo, now time.Time, note func(*github.Response)) error {
	runs, resp, err := c.api.ListWorkflowRunsByID(ctx, c.repo.Owner, c.repo.Name, w.ID,
		&github.ListWorkflowRunsOptions{Branch: c.repo.Branch, ListOptions: github.ListOptions{PerPage: runsPerWorkflow}})
	note(resp)
	if err != nil {
		return c.wrap(fmt.Sprintf("list runs of %s", w.Path), err)
	}
	w.ReadRuns = true
	for i, r := range runs.WorkflowRuns {
		info := RunInfo{
			ID: r.GetID(), Number: r.GetRunNumber(), Attempt: r.GetRunAttempt(),
			Status: RunStatus(r.GetStatus()), Conclusion: RunConclusion(r.GetConclusion()),
			Event: r.GetEvent(), Started: r.GetRunStartedAt().Time, HTMLURL: r.GetHTMLURL(),
		}
		if info.Started.IsZero() {
			info.Started = r.GetCreatedAt().Time
		}
		if i == 0 {
			n := info
			w.Newest = &n
		}
		if info.Status != RunCompleted && now.Sub(info.Started) > c.s.stuckAfter {
			w.Stuck = append(w.Stuck, info)
		}
	}
	return nil
}

func (c *Checker) judgeState(w *WorkflowInfo) (redundancy.Finding, bool) {
	f := redundancy.Finding{Subject: w.Path}
	switch w.State {
	case WorkflowActive:
		return f, false
	case WorkflowDisabledInactivity:
		f.Problem, f.Status = ProblemWorkflowDisabled, redundancy.StatusUnhealthy
		f.Detail = fmt.Sprintf("workflow %q is disabled_inactivity: GitHub disables scheduled workflows after 60 days without repository activity", w.Name)
	case WorkflowDisabledFork:
		f.Problem, f.Status = ProblemWorkflowDisabled, redundancy.StatusUnhealthy
		f.Detail = fmt.Sprintf("workflow %q is disabled_fork: workflows of a fork stay off until enabled", w.Name)
	case WorkflowDisabledManually:
		f.Problem, f.Status = ProblemWorkflowDisabledManually, redundancy.StatusDegraded
		f.Detail = fmt.Sprintf("workflow %q was disabled by a person (disabled_manually)", w.Name)
	default:
		f.Problem, f.Status = ProblemWorkflowState, redundancy.StatusDegraded
		f.Detail = fmt.Sprintf("workflow %q is in state %q", w.Name, w.State)
	}
	return f, true
}

func (c *Checker) judgeRuns(w *WorkflowInfo, now time.Time) []redundancy.Finding {
	var out []redundancy.Finding
	for _, r := range w.Stuck {
		out = append(out, redundancy.Finding{
			Subject: w.Path, Problem: ProblemRunStuck, Status: redundancy.StatusUnhealthy,
			Detail: fmt.Sprintf("run %d (#%d) %s for %s (bound %s) %s", r.ID, r.Number, r.Status,
				now.Sub(r.Started).Round(time.Second), c.s.stuckAfter, r.HTMLURL),
		})
	}
	if r := w.Newest; r != nil && r.Status == RunCompleted {
		if p, st, bad := r.Conclusion.judge(); bad {
			out = append(out, redundancy.Finding{
				Subject: w.Path, Problem: p, Status: st,
				Detail: fmt.Sprintf("latest run on %s: run %d (#%d, attempt %d) concluded %s %s",
					c.repo.Branch, r.ID, r.Number, r.Attempt, r.Conclusion, r.HTMLURL),
			})
		}
	}
	return out
}

// wrap names what failed and marks undecodable answers.
func (c *Checker) wrap(what string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if _, limited := rateLimitUntil(err, c.s.clock.Now()); limited && !errors.Is(err, ErrRateLimited) {
		// go-github's own *RateLimitError or *AbuseRateLimitError.
		return fmt.Errorf("github: %s of %s/%s: %w: %w", what, c.repo.Owner, c.repo.Name, ErrRateLimited, err)
	}
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("github: %s of %s/%s: %w: %w", what, c.repo.Owner, c.repo.Name, ErrMalformedResponse, err)
	}
	return fmt.Errorf("github: %s of %s/%s: %w", what, c.repo.Owner, c.repo.Name, err)
}

// errorReport is the report of a check that could not ask GitHub: Unknown,
// with Err set, so no recovery starts.
func (c *Checker) errorReport(err error, now time.Time) redundancy.Report {
	f := redundancy.Finding{Subject: c.repo.String(), Problem: ProblemAPIUnreachable, Status: redundancy.StatusUnknown, Detail: err.Error()}
	if until, ok := rateLimitUntil(err, now); ok {
		f.Problem = ProblemRateLimited
		f.Detail = fmt.Sprintf("GitHub rate limit spent: no calls until %s", until.UTC().Format(time.RFC3339))
	}
	return redundancy.Report{Status: redundancy.StatusUnknown, Summary: err.Error(), Findings: []redundancy.Finding{f}, Err: err}
}
