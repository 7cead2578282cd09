package redundancy

import (
	"fmt"
	"time"
)

// flapCheck opens t's flapping alert when it went bad FlapCount times
// within FlapWindow, and closes it when it is healthy and went bad fewer
// times than that in the last FlapWindow. The caller holds o.mu.
func (o *Orchestrator) flapCheck(t *target, now time.Time) []Event {
	if len(t.al.Episodes) == 0 && t.al.Flap == nil {
		return nil // the common case: never bad
	}
	return o.flapStep(t, now)
}

func (o *Orchestrator) flapStep(t *target, now time.Time) []Event {
	tr, ap := &t.al, t.alertPolicy
	cut := 0
	for cut < len(tr.Episodes) && now.Sub(tr.Episodes[cut]) >= ap.FlapWindow {
		cut++
	}
	tr.Episodes = tr.Episodes[cut:]
	n := len(tr.Episodes)
	switch {
	case tr.Flap == nil:
		if ap.FlapCount < 0 || n < ap.FlapCount || !t.isBad() {
			return nil
		}
		if hold, _ := o.targetHold(t, 0); hold != "" {
			return nil // the dependency's alert stands for it
		}
		tr.Flap = &alertRec{Problem: ProblemFlapping, State: AlertOpen, Base: SeverityWarning, FirstSeen: tr.Episodes[0],
			Summary: fmt.Sprintf("%s went bad %d times in %s", t.spec.Name, n, ap.FlapWindow), Subjects: []string{t.spec.Name}}
		for _, a := range tr.Alerts {
			if a.HeldBy == "" {
				a.HeldBy = AlertKey(t.spec.Name, ProblemFlapping)
			}
		}
		return []Event{o.openAlert(t, tr.Flap, now)}
	case t.status == StatusHealthy && (ap.FlapCount < 0 || n < ap.FlapCount):
		ev := o.closeAlert(t, tr.Flap, now)
		tr.Flap = nil
		return []Event{ev}
	default:
		tr.Flap.Escalated = t.escalated
		if n > 0 {
			tr.Flap.Summary = fmt.Sprintf("%s went bad %d times in %s", t.spec.Name, n, ap.FlapWindow)
		}
		return o.followUp(t, tr.Flap, now)
	}
}
