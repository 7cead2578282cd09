package redundancy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of a target's alerts.
const (
	maxAlertsPerTarget = 64  // distinct problems in a report; more are folded into ProblemTargetFailing
	maxAlertSubjects   = 50  // subjects and findings kept per alert
	maxEpisodes        = 256 // bad stretches remembered for flap detection
)

// alertRec is one pending or open alert of a target (persisted as is).
type alertRec struct {
	Problem   Problem    `json:"problem"`
	State     AlertState `json:"state"`
	Base      Severity   `json:"severity"` // from the findings
	Escalated bool       `json:"escalated,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Subjects  []string   `json:"subjects,omitempty"`
	FirstSeen time.Time  `json:"first_seen"`
	Opened    time.Time  `json:"opened,omitzero"`
	LastSent  time.Time  `json:"last_sent,omitzero"`
	Sent      bool       `json:"sent,omitempty"`          // the open notice reached the notifiers
	SentSev   Severity   `json:"sent_severity,omitempty"` // the severity last sent
	Notified  int        `json:"notified,omitempty"`
	Free      int        `json:"free,omitempty"`   // failing checks with nothing holding it back
	Absent    int        `json:"absent,omitempty"` // failing reports in a row without its problem
	HeldBy    string     `json:"held_by,omitempty"`

	findings []Finding // the latest, for notices; not persisted
}

func (a *alertRec) severity() Severity {
	if a.Escalated {
		return SeverityEscalated
	}
	return a.Base
}

// alertTrack is a target's alerting state (guarded by Orchestrator.mu,
// persisted in its state record).
type alertTrack struct {
	Alerts       []*alertRec `json:"alerts,omitempty"` // sorted by problem
	Flap         *alertRec   `json:"flap,omitempty"`
	BadSince     time.Time   `json:"bad_since,omitzero"` // first failing report of the current stretch
	InEpisode    bool        `json:"in_episode,omitempty"`
	EpisodeStart time.Time   `json:"episode_start,omitzero"`
	Episodes     []time.Time `json:"episodes,omitempty"` // starts of bad stretches, for flap detection
}

func (tr *alertTrack) sorted() []*alertRec { return tr.Alerts }

func (tr *alertTrack) find(p Problem) *alertRec {
	for _, a := range tr.Alerts {
		if a.Problem == p {
			return a
		}
	}
	return nil
}

func (tr *alertTrack) add(a *alertRec) {
	tr.Alerts = append(tr.Alerts, a)
	slices.SortFunc(tr.Alerts, func(x, y *alertRec) int { return strings.Compare(string(x.Problem), string(y.Problem)) })
}

// isBad reports whether t is bad past its threshold.
func (t *target) isBad() bool {
	switch t.status {
	case StatusDegraded, StatusUnhealthy:
		return true
	case StatusUnknown:
		return t.unknowns >= t.policy.FailureThreshold
	}
	return false
}

// observeLocked folds r into t (Target.observe) and then into its
// alerts, returning the events of both. The caller holds o.mu.
func (o *Orchestrator) observeLocked(t *target, r Report, now time.Time) ([]Event, bool) {
	evs, want := t.observe(r, now)
	t.observeAttempts(r)
	return append(evs, o.alertCheck(t, r, now)...), want
}

// alertCheck moves t's alerts after a check. The caller holds o.mu.
func (o *Orchestrator) alertCheck(t *target, r Report, now time.Time) []Event {
	if t.spec.nested != nil {
		return nil // a nested orchestrator's own targets alert
	}
	tr := &t.al
	if r.Status != StatusHealthy && tr.BadSince.IsZero() {
		tr.BadSince = now
	}
	if !t.isBad() {
		var evs []Event
		if t.status == StatusHealthy {
			for _, a := range tr.Alerts {
				evs = append(evs, o.closeAlert(t, a, now))
			}
			tr.Alerts, tr.InEpisode = nil, false
			if r.Status == StatusHealthy {
				tr.BadSince = time.Time{}
			}
		}
		return append(evs, o.flapCheck(t, now)...)
	}
	hold, wait := o.targetHold(t, 0)
	if !tr.InEpisode {
		tr.InEpisode, tr.EpisodeStart = true, now
		if hold == "" || wait { // a failing dependency's stretches are its own, not this target's flaps
			tr.Episodes = append(tr.Episodes, now)
			if over := len(tr.Episodes) - maxEpisodes; over > 0 {
				tr.Episodes = slices.Delete(tr.Episodes, 0, over)
			}
		}
	}
	evs := o.updateProblems(t, r, now)
	evs = append(evs, o.flapCheck(t, now)...)
	counts := r.Status == StatusDegraded || r.Status == StatusUnhealthy || t.status == StatusUnknown && r.Status == StatusUnknown
	present := map[Problem]bool{}
	for _, a := range tr.Alerts {
		present[a.Problem] = true
	}
	for _, a := range tr.Alerts {
		a.Escalated = t.escalated
		a.HeldBy = hold
		if a.HeldBy == "" && tr.Flap != nil {
			a.HeldBy = AlertKey(t.spec.Name, ProblemFlapping)
		}
		if a.HeldBy == "" {
			a.HeldBy = problemHold(t, a.Problem, present)
		}
		if a.HeldBy != "" {
			continue
		}
		switch a.State {
		case AlertPending:
			if o.silencedBy(t.spec.Name, a.Problem, now, true) != "" {
				a.Free = 0 // repairs are paused: the repair gets its chance after the window
				continue
			}
			if counts {
				a.Free++
			}
			if a.Free >= o.freeChecksToOpen(t) {
				evs = append(evs, o.openAlert(t, a, now))
			}
		case AlertOpen:
			evs = append(evs, o.followUp(t, a, now)...)
		}
	}
	return evs
}

// freeChecksToOpen is how many failing checks, nothing holding it back, a
// pending alert waits before it opens: one, or two when a repair is given
// its chance first (quiet repairs).
func (o *Orchestrator) freeChecksToOpen(t *target) int {
	if t.alertPolicy.PageRepairs || t.spec.Recoverer == nil {
		return 1
	}
	return 2
}

// problemGroup is what a report says about one problem.
type problemGroup struct {
	status   Status
	subjects []string
	findings []Finding
}

// updateProblems matches t's alerts to the problems of r: new problems get
// a pending alert, and alerts whose problem was missing from
// SuccessThreshold failing reports in a row close. A report that says
// nothing new (healthy below the success threshold, a check that could not
// run once) changes nothing.
func (o *Orchestrator) updateProblems(t *target, r Report, now time.Time) []Event {
	tr := &t.al
	groups := map[Problem]*problemGroup{}
	var order []Problem
	group := func(p Problem, st Status) *problemGroup {
		g := groups[p]
		if g == nil {
			g = &problemGroup{status: st}
			groups[p] = g
			order = append(order, p)
		}
		g.status = Worse(g.status, st)
		return g
	}
	switch {
	case r.Status == StatusDegraded || r.Status == StatusUnhealthy:
		for _, f := range r.Findings {
			if f.Status == StatusHealthy {
				continue
			}
			p := f.Problem
			if groups[p] == nil && len(groups) >= maxAlertsPerTarget-1 {
				p = ProblemTargetFailing
			}
			g := group(p, f.Status)
			if len(g.findings) < maxAlertSubjects {
				g.findings = append(g.findings, f)
				if !slices.Contains(g.subjects, f.Subject) {
					g.subjects = append(g.subjects, f.Subject)
				}
			}
		}
		if len(groups) == 0 {
			group(ProblemTargetFailing, r.Status)
		}
	case t.status == StatusUnknown && r.Status == StatusUnknown, len(tr.Alerts) == 0:
		group(reportProblem(t, r), Worse(StatusDegraded, t.status))
	default:
		return nil
	}
	for _, p := range order {
		g := groups[p]
		a := tr.find(p)
		if a == nil {
			first := now
			if now.Equal(tr.EpisodeStart) && !tr.BadSince.IsZero() {
				first = tr.BadSince
			}
			a = &alertRec{Problem: p, State: AlertPending, FirstSeen: first}
			tr.add(a)
		}
		a.Absent = 0
		a.Base = severityOf(g.status)
		a.Subjects, a.findings = g.subjects, g.findings
		a.Summary = problemSummary(p, g, r)
	}
	var evs []Event
	kept := tr.Alerts[:0]
	for _, a := range tr.Alerts {
		if groups[a.Problem] == nil {
			a.Absent++
			if a.Absent >= t.policy.SuccessThreshold {
				evs = append(evs, o.closeAlert(t, a, now))
				continue
			}
		}
		kept = append(kept, a)
	}
	clear(tr.Alerts[len(kept):])
	tr.Alerts = kept
	return evs
}

// problemSummary says what a report says about one problem in a line.
func problemSummary(p Problem, g *problemGroup, r Report) string {
	if len(g.findings) == 0 {
		if r.Summary != "" {
			return r.Summary
		}
		return string(p)
	}
	var parts []string
	for i, f := range g.findings {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(g.findings)-3))
			break
		}
		s := f.Subject
		if f.Detail != "" {
			s += ": " + f.Detail
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// openAlert opens a pending alert.
func (o *Orchestrator) openAlert(t *target, a *alertRec, now time.Time) Event {
	a.State, a.Opened = AlertOpen, now
	return o.notice(t, a, NoticeOpen, now)
}

// followUp is what an open alert sends at a check: its open notice, when a
// silence kept it back and has ended; an update, when its severity rose
// since the last notice; else a reminder when Renotify has passed.
func (o *Orchestrator) followUp(t *target, a *alertRec, now time.Time) []Event {
	if o.silencedBy(t.spec.Name, a.Problem, now, false) != "" {
		return nil
	}
	if a.SentSev == SeverityEscalated && !a.Escalated {
		a.SentSev = a.Base // the escalation was cleared (a forced recovery): a new one is news again
	}
	switch every := t.alertPolicy.Renotify; {
	case !a.Sent:
		return []Event{o.notice(t, a, NoticeOpen, now)}
	case a.severity() > a.SentSev:
		return []Event{o.notice(t, a, NoticeUpdate, now)}
	case every > 0 && now.Sub(a.LastSent) >= every:
		return []Event{o.notice(t, a, NoticeRenotify, now)}
	}
	return nil
}

// closeAlert closes a: a resolved notice when its open notice was sent,
// else a quiet one (logged only).
func (o *Orchestrator) closeAlert(t *target, a *alertRec, now time.Time) Event {
	return o.notice(t, a, NoticeResolved, now)
}

// notice builds the event of a notice about a, and counts it as sent
// unless a silence (or, for the close of an alert whose open was never
// sent, quietness) keeps it from the notifiers. The caller holds o.mu.
func (o *Orchestrator) notice(t *target, a *alertRec, n AlertNotice, now time.Time) Event {
	name := t.spec.Name
	al := Alert{
		Key: AlertKey(name, a.Problem), Notice: n, State: a.State, Target: name, Problem: a.Problem,
		Severity: a.severity(), Summary: a.Summary, Subjects: slices.Clone(a.Subjects),
		Findings: slices.Clone(a.findings), FirstSeen: a.FirstSeen, Opened: a.Opened, Time: now,
		HeldBy: a.HeldBy, Affected: o.affected(AlertKey(name, a.Problem)),
	}
	send := true
	if n == NoticeResolved {
		al.State, al.Resolved = AlertResolved, now
		if !a.Sent {
			send = false
			if al.Silenced = o.silencedBy(name, a.Problem, now, false); al.Silenced == "" {
				al.Quiet = true
			}
		}
	} else if al.Silenced = o.silencedBy(name, a.Problem, now, false); al.Silenced != "" {
		send = false
	}
	if send {
		a.Notified++
		a.LastSent, a.SentSev = now, a.severity()
		if n == NoticeOpen {
			a.Sent = true
		}
	}
	al.Notifications = a.Notified
	return Event{Time: now, Target: name, Kind: EventAlert, Alert: &al}
}

// affected returns the keys of the alerts held by key, sorted. The caller
// holds o.mu.
func (o *Orchestrator) affected(key string) []string {
	return o.affectedIndex()[key]
}

// affectedIndex maps the key of each alert that holds others to theirs,
// sorted. The caller holds o.mu.
func (o *Orchestrator) affectedIndex() map[string][]string {
	idx := map[string][]string{}
	for _, name := range o.order {
		for _, a := range o.targets[name].al.Alerts {
			if a.HeldBy != "" {
				idx[a.HeldBy] = append(idx[a.HeldBy], AlertKey(name, a.Problem))
			}
		}
	}
	for _, keys := range idx {
		slices.Sort(keys)
	}
	return idx
}

// alertStates returns t's pending and open alerts for a snapshot, with
// affected from affectedIndex. The caller holds o.mu.
func (o *Orchestrator) alertStates(t *target, now time.Time, affected map[string][]string) []Alert {
	var out []Alert
	name := t.spec.Name
	list := t.al.Alerts
	if t.al.Flap != nil {
		list = append([]*alertRec{t.al.Flap}, list...)
	}
	for _, a := range list {
		key := AlertKey(name, a.Problem)
		sev := a.Base
		if t.escalated {
			sev = SeverityEscalated
		}
		out = append(out, Alert{Key: key, State: a.State, Target: name, Problem: a.Problem, Severity: sev,
			Summary: a.Summary, Subjects: slices.Clone(a.Subjects), FirstSeen: a.FirstSeen, Opened: a.Opened, Time: now,
			Notifications: a.Notified, HeldBy: a.HeldBy, Affected: slices.Clone(affected[key]),
			Silenced: o.silencedBy(name, a.Problem, now, false)})
	}
	return out
}
