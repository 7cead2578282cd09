package redundancy

import "time"

// target is the orchestrator's record of one Target. Fields below spec and
// policy are guarded by Orchestrator.mu.
type target struct {
	spec        Target
	policy      Policy      // spec.Policy with defaults
	alertPolicy AlertPolicy // spec.Alerts with defaults

	status    Status
	report    Report
	lastCheck time.Time
	nextCheck time.Time
	busy      bool
	triggered bool   // Trigger asked for a check ahead of the schedule
	woken     bool   // the check under way was triggered
	listed    bool   // on the orchestrator's urgent or ready list (schedule.go)
	urgent    bool   // listed on the urgent list
	listing   uint64 // counts listings and claims: tells stale list entries
	heapIdx   int    // index in the orchestrator's due heap; -1 when not in it
	seq       int    // order of addition: breaks ties in the due heap

	failures     int // consecutive degraded or unhealthy reports
	successes    int // consecutive healthy reports
	unknowns     int // consecutive reports of checks that could not run
	needRecheck  bool
	healthySince time.Time

	attempts    []time.Time // recovery attempts inside the budget window
	backoffN    int         // attempts since the backoff was last reset
	nextAttempt time.Time   // the backoff allows no automatic attempt before this
	escalated   bool
	recoveries  int // attempts ever made
	history     []ActionResult
	attemptLog  []AttemptRecord // the last attempts, with their outcomes

	al alertTrack
}

const historyLimit = 100

// observe folds one report into the target's counters and returns the
// events it causes and whether the policy now calls for a recovery.
func (t *target) observe(r Report, now time.Time) (evs []Event, wantRecovery bool) {
	t.report = r
	t.lastCheck = now
	prev := t.status
	next := prev
	p := t.policy
	st := r.Status
	if st == StatusUnknown && p.UnknownIsFailing {
		st = StatusUnhealthy // a check that cannot run is itself the failure
	}
	switch st {
	case StatusHealthy:
		t.successes++
		t.failures, t.unknowns = 0, 0
		if t.healthySince.IsZero() {
			t.healthySince = now
		}
		need := 1
		if prev == StatusDegraded || prev == StatusUnhealthy || t.needRecheck {
			need = p.SuccessThreshold
		}
		if t.successes >= need {
			next = StatusHealthy
			t.needRecheck = false
		}
		if now.Sub(t.healthySince) >= p.Backoff.ResetAfter {
			t.backoffN = 0
		}
		if next == StatusHealthy && now.Sub(t.healthySince) >= p.EscalationHold {
			t.escalated = false
		}
	case StatusDegraded, StatusUnhealthy:
		t.failures++
		t.successes, t.unknowns = 0, 0
		t.healthySince = time.Time{}
		if t.failures >= p.FailureThreshold {
			next = st
			wantRecovery = true
		}
	default: // unknown: the check could not run
		t.unknowns++
		t.successes = 0
		t.healthySince = time.Time{}
		if t.unknowns >= p.FailureThreshold {
			next = StatusUnknown
		}
	}
	if next != prev {
		t.status = next
		evs = append(evs, Event{Time: now, Target: t.spec.Name, Kind: EventStatusChanged, From: prev, To: next, Report: r})
	}
	return evs, wantRecovery
}

// pruneAttempts drops attempts that left the budget window.
func (t *target) pruneAttempts(now time.Time) {
	cut := 0
	for cut < len(t.attempts) && now.Sub(t.attempts[cut]) >= t.policy.Budget.Window {
		cut++
	}
	t.attempts = t.attempts[cut:]
}

func (t *target) budgetLeft(now time.Time) int {
	n := 0
	for _, a := range t.attempts {
		if now.Sub(a) < t.policy.Budget.Window {
			n++
		}
	}
	return max(t.policy.Budget.Max-n, 0)
}

// windowHistory returns the action results of the attempts still inside
// the budget window, oldest first: what was tried before an escalation.
func (t *target) windowHistory(now time.Time) []ActionResult {
	var out []ActionResult
	for _, r := range t.history {
		if now.Sub(r.Started) < t.policy.Budget.Window {
			out = append(out, r)
		}
	}
	return out
}

func (t *target) addHistory(rs ...ActionResult) {
	t.history = append(t.history, rs...)
	if over := len(t.history) - historyLimit; over > 0 {
		t.history = append(t.history[:0:0], t.history[over:]...)
	}
}
