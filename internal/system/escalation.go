package system

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
	"github.com/uras-dev/uras/redundancy"
)

// EscalationReport is written when a target's recovery budget is spent:
// what was found, what was tried, and what people should look at.
type EscalationReport struct {
	Time     time.Time                 `json:"time"`
	Target   string                    `json:"target"`
	System   string                    `json:"system"`
	Summary  string                    `json:"summary"`
	Findings []redundancy.Finding      `json:"findings,omitempty"`
	Error    string                    `json:"error,omitempty"`
	History  []redundancy.ActionResult `json:"history,omitempty"`
	Advice   string                    `json:"advice"`
}

type escalationReporter struct {
	dir    string
	logger *slog.Logger
	sys    *System
	red    *redundancy.Redactor
}

// Notify writes a report for each escalation.
func (r *escalationReporter) Notify(ctx context.Context, e redundancy.Event) error {
	if e.Kind != redundancy.EventEscalated {
		return nil
	}
	rep := EscalationReport{Time: e.Time, Target: e.Target, System: r.sys.SystemOf(e.Target), Summary: e.Report.Summary,
		Findings: e.Report.Findings,
		Advice:   "automatic recovery stopped for this target until it is healthy for a while; fix the findings, then run `recover -force` to retry now"}
	if e.Err != nil {
		rep.Error = e.Err.Error()
	}
	for _, p := range r.sys.Parts {
		if ts, ok := p.Orch.Target(e.Target); ok {
			rep.History = ts.History
			break
		}
	}
	rep.redact(r.red)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(r.dir, fmt.Sprintf("%s-%s.json", e.Time.UTC().Format("20060102T150405Z"), e.Target))
	if err := fsutil.WriteFileAtomic(path, b, 0o600); err != nil {
		r.logger.Error("escalation report not written", "target", e.Target, "err", err)
		return err
	}
	r.logger.Error("target escalated: report written", "target", e.Target, "report", path)
	return nil
}

// redact removes secrets from the report's text (an API error that echoes
// a token must not land in a file).
func (rep *EscalationReport) redact(red *redundancy.Redactor) {
	rep.Summary, rep.Error = red.String(rep.Summary), red.String(rep.Error)
	rep.Findings = append([]redundancy.Finding(nil), rep.Findings...)
	for i := range rep.Findings {
		rep.Findings[i].Subject, rep.Findings[i].Detail = red.String(rep.Findings[i].Subject), red.String(rep.Findings[i].Detail)
	}
	rep.History = append([]redundancy.ActionResult(nil), rep.History...)
	for i := range rep.History {
		h := &rep.History[i]
		h.Subject, h.Reason, h.Error = red.String(h.Subject), red.String(h.Reason), red.String(h.Error)
	}
}
