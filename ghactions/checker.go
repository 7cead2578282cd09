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

// Checker checks the GitHub Actions health of one repository branch:
// workflow states, the newest run of each workflow, runs stuck queued or
// in progress, runs waiting long for a review, and the core rate limit. It
// makes one call for the workflow list and one per active workflow (plus
// one for the default branch when Repo.Branch is empty); with a Client
// from NewClient every one of them is conditional, so a cycle in which
// nothing changed costs no rate limit.
//
// Only runs of this repository are judged: GitHub's ?branch= filter also
// returns pull requests from forks whose own branch has the same name, and
// those (head_repository another repository) are skipped, so a stranger's
// failing run never makes the repository unhealthy nor gets re-run.
//
// A check that cannot ask GitHub (5xx, timeout, malformed answer, a spent
// rate limit) reports StatusUnknown with Err set, which never starts a
// recovery. A Checker is safe for concurrent use.
type Checker struct {
	api  API
	repo Repo
	s    settings

	mu        sync.Mutex
	obs       Observation
	fullAt    time.Time           // when obs was last read from the API in full
	delivered map[int64]delivered // runs webhooks told of since the last check (delivered.go)
	overflow  bool                // more were delivered than kept: read everything
}

var _ redundancy.Checker = (*Checker)(nil)

// NewChecker returns a checker of repo through api (usually a *Client from
// NewClient). It takes WithClock, WithStuckAfter, WithWaitingAfter and
// WithRateFloor.
func NewChecker(api API, repo Repo, opts ...Option) (*Checker, error) {
	s, err := build("NewChecker", opts, "WithClock", "WithStuckAfter", "WithWaitingAfter", "WithRateFloor")
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
	Branch    string         // the branch judged (Repo.Branch, or the default branch)
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
	Newest   *RunInfo // newest run of this repository on the branch, nil if none (only for watched, active workflows)
	Stuck    []RunInfo
	Waiting  []RunInfo // waiting, requested or pending past the bound
	Foreign  int       // runs on the branch skipped because they came from another repository (forks)
	HTMLURL  string
	ReadRuns bool // the runs were read
}

// Observed returns what the last successful check saw.
func (c *Checker) Observed() Observation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.obs
}

// Check implements redundancy.Checker. When webhooks (Webhook.Source)
// delivered runs since the last check, and the last full reading is
// younger than SafetyNetInterval and knows their workflows, the check
// judges the delivered runs against that reading and makes no call at all;
// otherwise it reads GitHub, and a delivered run that is further along
// than the listed one (the list can lag behind the event) wins.
func (c *Checker) Check(ctx context.Context) redundancy.Report {
	now := c.s.clock.Now()
	runs, full := c.takeDelivered(now)
	if !full {
		obs := c.Observed()
		wfs := cloneWorkflows(obs.Workflows)
		c.applyDelivered(wfs, obs.Branch, runs, now)
		return c.judge(obs.Branch, wfs, obs.Rate, now, false)
	}
	var rate Rate
	note := func(resp *github.Response) {
		if resp != nil && resp.Rate.Limit > 0 {
			rate = fromGitHubRate(resp.Rate)
		}
	}
	failed := func(err error) redundancy.Report {
		c.redeliver(runs)
		return c.errorReport(err, now)
	}

	branch, err := c.branch(ctx, note)
	if err != nil {
		return failed(err)
	}
	wfs, err := c.listWorkflows(ctx, note)
	if err != nil {
		return failed(err)
	}
	for i := range wfs {
		w := &wfs[i]
		if !w.Watched || w.State != WorkflowActive {
			continue
		}
		if err := c.readRuns(ctx, w, branch, now, note); err != nil {
			return failed(err)
		}
	}
	c.applyDelivered(wfs, branch, runs, now)
	return c.judge(branch, wfs, rate, now, true)
}

// judge turns what was seen into findings, records it as the observation
// (read in full from the API when full) and returns the report.
func (c *Checker) judge(branch string, wfs []WorkflowInfo, rate Rate, now time.Time, full bool) redundancy.Report {
	repo := c.repo
	repo.Branch = branch
	var findings []redundancy.Finding
	for _, want := range c.repo.Workflows {
		found := false
		for _, w := range wfs {
			found = found || matchWorkflow(want, w.Path, w.Name)
		}
		if !found {
			findings = append(findings, redundancy.Finding{
				Subject: want, Problem: ProblemWorkflowNotFound, Status: redundancy.StatusUnhealthy,
				Detail: fmt.Sprintf("no workflow %q in %s", want, c.repo.FullName()),
			})
		}
	}
	watched := 0
	for i := range wfs {
		w := &wfs[i]
		if !w.Watched || w.State == WorkflowDeleted {
			// GitHub lists a deleted workflow while runs of it remain:
			// it is gone on purpose, not a problem.
			continue
		}
		watched++
		if f, ok := c.judgeState(w); ok {
			findings = append(findings, f)
		}
		if w.State != WorkflowActive {
			continue
		}
		findings = append(findings, c.judgeRuns(w, branch, now)...)
	}
	if rate.Known() && rate.Fraction() < c.s.rateFloor {
		findings = append(findings, redundancy.Finding{
			Subject: repo.String(), Problem: ProblemRateLimitLow, Status: redundancy.StatusDegraded,
			Detail: fmt.Sprintf("%d of %d core API calls left until %s", rate.Remaining, rate.Limit, rate.Reset.UTC().Format(time.RFC3339)),
		})
	}
	c.mu.Lock()
	c.obs = Observation{Time: now, Branch: branch, Workflows: wfs, Rate: rate}
	if full {
		c.fullAt = now
	}
	c.mu.Unlock()

	summary := fmt.Sprintf("%s: %d workflows watched, all well", repo, watched)
	if len(findings) > 0 {
		summary = fmt.Sprintf("%s: %d workflows watched, %d findings", repo, watched, len(findings))
	}
	return redundancy.NewReport(summary, findings...)
}

// branch returns Repo.Branch, or reads the repository's default branch.
func (c *Checker) branch(ctx context.Context, note func(*github.Response)) (string, error) {
	if c.repo.Branch != "" {
		return c.repo.Branch, nil
	}
	r, resp, err := c.api.GetRepository(ctx, c.repo.Owner, c.repo.Name)
	note(resp)
	if err != nil {
		return "", c.wrap("read the default branch", err)
	}
	b := r.GetDefaultBranch()
	if b == "" {
		return "", fmt.Errorf("ghactions: %s: GitHub named no default branch", c.repo.FullName())
	}
	return b, nil
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

func (c *Checker) judgeState(w *WorkflowInfo) (redundancy.Finding, bool) {
	f := redundancy.Finding{Subject: w.Path}
	switch w.State {
	case WorkflowActive, WorkflowDeleted:
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

// wrap names what failed and marks undecodable answers.
func (c *Checker) wrap(what string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if _, limited := rateLimitUntil(err, c.s.clock.Now()); limited && !errors.Is(err, ErrRateLimited) {
		// go-github's own *RateLimitError or *AbuseRateLimitError.
		return fmt.Errorf("ghactions: %s of %s: %w: %w", what, c.repo.FullName(), ErrRateLimited, err)
	}
	if errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("ghactions: %s of %s: %w: %w", what, c.repo.FullName(), ErrMalformedResponse, err)
	}
	return fmt.Errorf("ghactions: %s of %s: %w", what, c.repo.FullName(), err)
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
