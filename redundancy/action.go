package redundancy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Action is one step of a recovery plan: what will be done, to what, why,
// and the function that does it. Do must honour ctx and be safe to retry.
type Action struct {
	// Verb is a stable, provider-prefixed name: "pm2.restart",
	// "github.rerun-failed-jobs", "netlify.restore-deploy".
	Verb string
	// Subject is what the action acts on ("web", "ci.yml", a deploy id).
	Subject string
	// Reason says why, for people (usually the finding it answers).
	Reason string
	// Do performs the action.
	Do func(ctx context.Context) error
}

// String returns the action's label, "verb subject" (the verb alone when
// there is no subject), as events and logs name it.
func (a Action) String() string {
	switch {
	case a.Subject == "":
		return a.Verb
	case a.Verb == "":
		return a.Subject
	}
	return a.Verb + " " + a.Subject
}

// Recoverer turns a report into a plan: the actions that should bring the
// target back. Plan itself must do nothing: the orchestrator decides whether
// and when to run the actions (a dry run lists them). An empty plan means
// there is nothing this recoverer can do.
//
// Do's context is not cancelled when the orchestrator shuts down: an action
// that has started finishes or reaches its ActionTimeout.
type Recoverer interface {
	Plan(ctx context.Context, r Report) ([]Action, error)
}

// RecovererFunc adapts a function to a Recoverer.
type RecovererFunc func(ctx context.Context, r Report) ([]Action, error)

// Plan calls f(ctx, r).
func (f RecovererFunc) Plan(ctx context.Context, r Report) ([]Action, error) { return f(ctx, r) }

var _ Recoverer = RecovererFunc(nil)

// PlannedAction is an action of a plan as a dry run shows it: nothing is done.
type PlannedAction struct {
	Target  string `json:"target"`
	Verb    string `json:"verb"`
	Subject string `json:"subject,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// ActionResult is what happened when an action ran (or, in a dry run, would
// have run). The orchestrator keeps the last 100 per target.
type ActionResult struct {
	Target   string        `json:"target"`
	Verb     string        `json:"verb"`
	Subject  string        `json:"subject,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Attempt  int           `json:"attempt"`            // the recovery attempt it belonged to, counted within the budget window (1-based)
	Recovery int           `json:"recovery,omitempty"` // that attempt's AttemptRecord.Recovery
	Tries    int           `json:"tries"`              // how many times Do was called
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed"`
	DryRun   bool          `json:"dry_run,omitempty"`
	Error    string        `json:"error,omitempty"` // Err's message, kept across restarts
	Err      error         `json:"-"`
}

// OK reports whether the action succeeded (or was only planned).
func (r ActionResult) OK() bool { return r.Err == nil && r.Error == "" }

// MarshalJSON encodes r with Elapsed as a duration string ("1.5s"), as
// people and time.ParseDuration read it.
func (r ActionResult) MarshalJSON() ([]byte, error) {
	type plain ActionResult
	return json.Marshal(struct {
		plain
		Elapsed string `json:"elapsed"`
	}{plain(r), r.Elapsed.String()})
}

// UnmarshalJSON decodes what MarshalJSON encodes; Elapsed may also be a
// number of nanoseconds (state files written before it was a string).
func (r *ActionResult) UnmarshalJSON(b []byte) error {
	type plain ActionResult
	aux := struct {
		*plain
		Elapsed json.RawMessage `json:"elapsed"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.Elapsed = 0
	if len(aux.Elapsed) == 0 || string(aux.Elapsed) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(aux.Elapsed, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("redundancy: action result: elapsed: %w", err)
		}
		r.Elapsed = d
		return nil
	}
	var ns int64
	if err := json.Unmarshal(aux.Elapsed, &ns); err != nil {
		return fmt.Errorf("redundancy: action result: elapsed %s: want a duration such as \"1.5s\"", aux.Elapsed)
	}
	r.Elapsed = time.Duration(ns)
	return nil
}
