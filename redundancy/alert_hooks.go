package redundancy

import (
	"errors"
	"time"
)

// alertsAfterRepair opens t's pending alerts when its recovery failed (not
// when shutdown interrupted it): the repair did not work at once.
func (o *Orchestrator) alertsAfterRepair(t *target, err error) []Event {
	if err == nil || errors.Is(err, ErrInterrupted) {
		return nil
	}
	now := o.clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.spec.nested != nil || !t.isBad() {
		return nil
	}
	var evs []Event
	for _, a := range t.al.Alerts {
		if a.State == AlertPending && a.HeldBy == "" {
			evs = append(evs, o.openAlert(t, a, now))
		}
	}
	return evs
}

// alertsEscalated raises t's alerts to SeverityEscalated: pending ones
// open, open ones are updated, each carrying the attempts and the cause;
// while t is flapping its flapping alert is the one raised.
func (o *Orchestrator) alertsEscalated(t *target, r Report, now time.Time, cause error, attempts []AttemptRecord) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.spec.nested != nil {
		return nil
	}
	tr := &t.al
	if len(tr.Alerts) == 0 && tr.Flap == nil {
		if !tr.InEpisode {
			tr.InEpisode, tr.EpisodeStart = true, now
		}
		if tr.BadSince.IsZero() {
			tr.BadSince = now
		}
		o.updateProblems(t, r, now)
	}
	targets := tr.Alerts
	if tr.Flap != nil {
		targets = []*alertRec{tr.Flap}
	}
	var evs []Event
	for _, a := range targets {
		a.Escalated = true
		if a.HeldBy != "" && a != tr.Flap {
			continue
		}
		var ev Event
		switch {
		case a.State == AlertPending:
			ev = o.openAlert(t, a, now)
		case a.Sent:
			ev = o.notice(t, a, NoticeUpdate, now)
		default:
			ev = o.notice(t, a, NoticeOpen, now)
		}
		ev.Alert.Attempts = attempts
		if cause != nil {
			ev.Alert.Error = cause.Error()
		}
		evs = append(evs, ev)
	}
	return evs
}
