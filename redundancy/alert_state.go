package redundancy

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// record copies tr for the state file (nil when there is nothing to keep).
func (tr *alertTrack) record() *alertTrack {
	if len(tr.Alerts) == 0 && tr.Flap == nil && tr.BadSince.IsZero() && len(tr.Episodes) == 0 {
		return nil
	}
	out := &alertTrack{BadSince: tr.BadSince, InEpisode: tr.InEpisode, EpisodeStart: tr.EpisodeStart,
		Episodes: slices.Clone(tr.Episodes)}
	for _, a := range tr.Alerts {
		out.Alerts = append(out.Alerts, a.clone())
	}
	if tr.Flap != nil {
		out.Flap = tr.Flap.clone()
	}
	return out
}

func (a *alertRec) clone() *alertRec {
	c := *a
	c.Subjects = slices.Clone(a.Subjects)
	c.findings = nil
	return &c
}

// restore returns the tracked state of a record, its text redacted by red
// (a file written before a secret was registered).
func (tr *alertTrack) restore(red *Redactor) alertTrack {
	rec := tr.record()
	if rec == nil {
		return alertTrack{}
	}
	out := *rec
	fix := func(a *alertRec) {
		if red == nil {
			return
		}
		a.Summary = red.String(a.Summary)
		for i, s := range a.Subjects {
			a.Subjects[i] = red.String(s)
		}
	}
	for _, a := range out.Alerts {
		fix(a)
	}
	if out.Flap != nil {
		fix(out.Flap)
	}
	slices.SortFunc(out.Alerts, func(x, y *alertRec) int {
		switch {
		case x.Problem < y.Problem:
			return -1
		case x.Problem > y.Problem:
			return 1
		}
		return 0
	})
	return out
}

// validate refuses alert state no orchestrator writes.
func (tr *alertTrack) validate(ahead func(string, time.Time) error) error {
	var errs []error
	if len(tr.Alerts) > 2*maxAlertsPerTarget { // the last report's problems, and the previous one's not yet closed
		errs = append(errs, fmt.Errorf("%d alerts (at most %d)", len(tr.Alerts), 2*maxAlertsPerTarget))
	}
	if len(tr.Episodes) > maxEpisodes {
		errs = append(errs, fmt.Errorf("%d episodes (at most %d)", len(tr.Episodes), maxEpisodes))
	}
	errs = append(errs, ahead("alerts.bad_since", tr.BadSince), ahead("alerts.episode_start", tr.EpisodeStart))
	for _, e := range tr.Episodes {
		errs = append(errs, ahead("alerts.episode", e))
	}
	seen := map[Problem]bool{}
	check := func(name string, a *alertRec) {
		switch {
		case a == nil:
			errs = append(errs, fmt.Errorf("%s: null alert", name))
			return
		case a.Problem == "":
			errs = append(errs, fmt.Errorf("%s: no problem", name))
		case seen[a.Problem]:
			errs = append(errs, fmt.Errorf("%s: problem %q twice", name, a.Problem))
		}
		seen[a.Problem] = true
		if a.State != AlertPending && a.State != AlertOpen {
			errs = append(errs, fmt.Errorf("%s: state %d is neither pending nor open", name, int(a.State)))
		}
		if a.Base < SeverityWarning || a.Base > SeverityEscalated || a.SentSev < 0 || a.SentSev > SeverityEscalated {
			errs = append(errs, fmt.Errorf("%s: severity out of range", name))
		}
		if a.Notified < 0 || a.Free < 0 || a.Absent < 0 || a.Notified > maxRecordCounter || a.Free > maxRecordCounter || a.Absent > maxRecordCounter {
			errs = append(errs, fmt.Errorf("%s: counter out of range", name))
		}
		if len(a.Subjects) > maxAlertSubjects {
			errs = append(errs, fmt.Errorf("%s: %d subjects (at most %d)", name, len(a.Subjects), maxAlertSubjects))
		}
		errs = append(errs, ahead(name+".first_seen", a.FirstSeen), ahead(name+".opened", a.Opened), ahead(name+".last_sent", a.LastSent))
	}
	for i, a := range tr.Alerts {
		check(fmt.Sprintf("alerts[%d]", i), a)
	}
	if tr.Flap != nil {
		check("alerts.flap", tr.Flap)
	}
	return errors.Join(errs...)
}
