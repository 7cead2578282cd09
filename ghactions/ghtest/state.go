package ghtest

import (
	"fmt"
	"strings"
	"time"
)

// Workflow states as GitHub reports them in a workflow's "state" field.
const (
	StateActive             = "active"
	StateDeleted            = "deleted"
	StateDisabledFork       = "disabled_fork"
	StateDisabledInactivity = "disabled_inactivity"
	StateDisabledManually   = "disabled_manually"
)

// Run statuses and conclusions as GitHub reports them.
const (
	RunQueued     = "queued"
	RunInProgress = "in_progress"
	RunCompleted  = "completed"

	ConclusionSuccess        = "success"
	ConclusionFailure        = "failure"
	ConclusionCancelled      = "cancelled"
	ConclusionTimedOut       = "timed_out"
	ConclusionStartupFailure = "startup_failure"
	ConclusionActionRequired = "action_required"
)

// Workflow is a workflow the server knows. Zero fields get defaults when
// added: ID is assigned, State is "active", timestamps are the server's now.
type Workflow struct {
	ID        int64
	Name      string
	Path      string // ".github/workflows/ci.yml"
	State     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Run is a workflow run the server knows. Zero fields get defaults when
// added: ID and RunNumber are assigned, Attempt is 1, Status is "completed"
// when Conclusion is set and "queued" otherwise, Event is "push", HeadSHA a
// fixed fake, timestamps the server's now.
type Run struct {
	ID         int64
	WorkflowID int64
	Name       string // defaults to the workflow's name
	Branch     string // head_branch
	HeadSHA    string
	RunNumber  int
	Attempt    int // run_attempt
	Event      string
	Status     string // queued, in_progress, completed, ...
	Conclusion string // empty while not completed
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  time.Time // run_started_at
}

// Call is one request the server received.
type Call struct {
	Time        time.Time
	Method      string
	Path        string // URL path, e.g. /repos/o/r/actions/workflows
	Query       string // raw query
	Status      int    // the status the server answered
	Conditional bool   // the request carried If-None-Match
	Authorized  bool   // the request carried an Authorization header (its value is never recorded)
	Charged     bool   // the call counted against the core rate limit (not a 304, not /rate_limit, not refused)
}

// String returns "METHOD /path?query -> status".
func (c Call) String() string {
	p := c.Path
	if c.Query != "" {
		p += "?" + c.Query
	}
	return fmt.Sprintf("%s %s -> %d", c.Method, p, c.Status)
}

// FaultKind says how an injected fault answers.
type FaultKind int

// The kinds of fault.
const (
	// FaultStatus answers Fault.Status (default 500) with a GitHub-style
	// JSON error body.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers: the handler waits until the client gives up
	// (its context ends) or the server closes.
	FaultHang
	// FaultMalformedJSON answers 200 with a truncated JSON body.
	FaultMalformedJSON
	// FaultSecondaryLimit answers Fault.Status (default 403; GitHub also
	// uses 429) with Retry-After: Fault.RetryAfter (default 60s) and
	// GitHub's secondary-rate-limit message.
	FaultSecondaryLimit
)

// Fault makes matching requests fail. Method and PathContains narrow which
// requests match (empty: all); Times is how many requests it hits before
// it is spent (0: until ClearFaults).
type Fault struct {
	Kind         FaultKind
	Method       string
	PathContains string
	Status       int
	RetryAfter   time.Duration
	Times        int
}

func (f *Fault) matches(method, path string) bool {
	if f.Method != "" && f.Method != method {
		return false
	}
	return strings.Contains(path, f.PathContains)
}
