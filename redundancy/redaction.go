package redundancy

import (
	"errors"
	"slices"
)

// redactedError carries an error whose message had secrets in it: Error
// returns the redacted message, and errors.Is and errors.As still see the
// original chain. It has no Unwrap, so walking the chain by hand (and
// printing each message) cannot bring the secret back.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *redactedError) As(target any) bool   { return errors.As(e.err, target) }

// redactError returns err with its message redacted by r (err itself when
// nothing was redacted, or r is nil).
func redactError(r *Redactor, err error) error {
	if r == nil || err == nil {
		return err
	}
	msg := err.Error()
	red := r.String(msg)
	if red == msg {
		return err
	}
	if re, ok := err.(*redactedError); ok {
		return &redactedError{msg: red, err: re.err}
	}
	return &redactedError{msg: red, err: err}
}

// redactReport returns a copy of rep whose text (summary, findings'
// details and subjects, error) is redacted by r.
func redactReport(r *Redactor, rep Report) Report {
	if r == nil {
		return rep
	}
	rep.Summary = r.String(rep.Summary)
	rep.Err = redactError(r, rep.Err)
	if len(rep.Findings) > 0 {
		fs := slices.Clone(rep.Findings)
		for i := range fs {
			fs[i].Subject = r.String(fs[i].Subject)
			fs[i].Detail = r.String(fs[i].Detail)
		}
		rep.Findings = fs
	}
	return rep
}

// redactResult returns res with its text redacted by r.
func redactResult(r *Redactor, res ActionResult) ActionResult {
	if r == nil {
		return res
	}
	res.Subject = r.String(res.Subject)
	res.Reason = r.String(res.Reason)
	res.Error = r.String(res.Error)
	res.Err = redactError(r, res.Err)
	return res
}

func redactResults(r *Redactor, rs []ActionResult) []ActionResult {
	if r == nil || len(rs) == 0 {
		return rs
	}
	out := make([]ActionResult, len(rs))
	for i, res := range rs {
		out[i] = redactResult(r, res)
	}
	return out
}

// redactEvent returns e with its text redacted by r.
func redactEvent(r *Redactor, e Event) Event {
	if r == nil {
		return e
	}
	e.Action = r.String(e.Action)
	e.Report = redactReport(r, e.Report)
	e.Err = redactError(r, e.Err)
	e.History = redactResults(r, e.History)
	e.Attempts = redactAttempts(r, e.Attempts)
	if e.Alert != nil {
		a := redactAlert(r, *e.Alert)
		e.Alert = &a
	}
	if e.Plan != nil {
		plan := make([]string, len(e.Plan))
		for i, a := range e.Plan {
			plan[i] = r.String(a)
		}
		e.Plan = plan
	}
	return e
}

// redactAttempts returns attempts with their text redacted by r.
func redactAttempts(r *Redactor, as []AttemptRecord) []AttemptRecord {
	if r == nil || len(as) == 0 {
		return as
	}
	out := make([]AttemptRecord, len(as))
	for i, a := range as {
		a.Error = r.String(a.Error)
		a.Actions = redactResults(r, a.Actions)
		out[i] = a
	}
	return out
}

// redactAlert returns a with its text (summary, subjects, findings,
// attempts, error) redacted by r.
func redactAlert(r *Redactor, a Alert) Alert {
	if r == nil {
		return a
	}
	a.Summary = r.String(a.Summary)
	a.Error = r.String(a.Error)
	if len(a.Subjects) > 0 {
		subj := make([]string, len(a.Subjects))
		for i, s := range a.Subjects {
			subj[i] = r.String(s)
		}
		a.Subjects = subj
	}
	a.Findings = redactReport(r, Report{Findings: a.Findings}).Findings
	a.Attempts = redactAttempts(r, a.Attempts)
	return a
}

func (o *Orchestrator) redactString(s string) string {
	if o.red == nil {
		return s
	}
	return o.red.String(s)
}
func (o *Orchestrator) redactErr(err error) error      { return redactError(o.red, err) }
func (o *Orchestrator) redactReport(rep Report) Report { return redactReport(o.red, rep) }
func (o *Orchestrator) redactEvent(e Event) Event      { return redactEvent(o.red, e) }
func (o *Orchestrator) redactResult(res ActionResult) ActionResult {
	return redactResult(o.red, res)
}
