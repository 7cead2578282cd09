package redundancy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// sharedKey is the Store key of shared target name's record:
// "targets/<name>", or "targets-hex/<hex of name>" for a name a key
// segment cannot hold.
func sharedKey(name string) string {
	if k := "targets/" + name; ValidateKey(k) == nil {
		return k
	}
	return "targets-hex/" + hex.EncodeToString([]byte(name))
}

// sharedStore returns the election's store, or nil.
func (o *Orchestrator) sharedStore() Store {
	if o.elect == nil {
		return nil
	}
	return o.elect.cfg.Store
}

// loadShared reads and validates t's shared record (nil, nil when there
// is none yet).
func (o *Orchestrator) loadShared(ctx context.Context, t *target) (*targetRecord, error) {
	s := o.sharedStore()
	if s == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, sharedIOTimeout)
	defer cancel()
	data, err := s.Load(ctx, sharedKey(t.spec.Name))
	if errors.Is(err, ErrNoRecord) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redundancy: shared state of %q: %w", t.spec.Name, err)
	}
	var rec targetRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("redundancy: shared state of %q: not valid JSON: %w", t.spec.Name, err)
	}
	if err := rec.validate(o.clock.Now()); err != nil {
		return nil, fmt.Errorf("redundancy: shared state of %q: %w", t.spec.Name, err)
	}
	return &rec, nil
}

// applyShared takes the leader's decisions from rec into t: the budget
// window, the backoff, the escalation, the recoveries and their history,
// the open alerts.
// The observation counters stay t's own (this replica checks the target
// too), except when t was never checked here.
func (o *Orchestrator) applyShared(t *target, rec *targetRecord) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.lastCheck.IsZero() {
		t.status, t.failures, t.successes = rec.Status, rec.Failures, rec.Successes
		t.needRecheck, t.healthySince = rec.NeedRecheck, rec.HealthySince
	}
	t.attempts, t.backoffN, t.nextAttempt = rec.Attempts, rec.BackoffN, rec.NextAttempt
	t.escalated, t.recoveries = rec.Escalated, rec.Recoveries
	t.history = redactResults(o.red, rec.History)
	t.attemptLog = redactAttempts(o.red, rec.AttemptLog)
	// The leader's alerts: what it paged is not paged again after a
	// takeover; what it did not page (none recorded) is this replica's to
	// page once it leads.
	t.al = alertTrack{}
	if rec.Alerts != nil {
		t.al = rec.Alerts.restore(o.red)
	}
	o.dirty = true
}

// syncShared reads t's shared record at the start of a term; once it has
// been read (or there is none, or no store), t may be acted on.
func (o *Orchestrator) syncShared(ctx context.Context, t *target) bool {
	rec, err := o.loadShared(ctx, t)
	if err != nil {
		o.log.Error("election: shared state unreadable: the target is not acted on until it is read",
			"target", t.spec.Name, "err", o.redactString(err.Error()))
		return false
	}
	if rec != nil {
		o.applyShared(t, rec)
	} else if o.sharedStore() != nil {
		// No leader recorded anything: the alerts this replica saw while
		// following were paged by nobody.
		o.mu.Lock()
		t.al = alertTrack{}
		o.mu.Unlock()
	}
	el := o.elect
	el.mu.Lock()
	if el.lead != nil {
		el.synced[t.spec.Name] = true
	}
	el.mu.Unlock()
	return true
}

// followShared keeps a shared target in step after one of its checks: a
// follower reads the leader's record (to show its budget and escalation);
// the leader writes its own, and a leader that could not read the record
// when its term began reads it now.
func (o *Orchestrator) followShared(ctx context.Context, t *target) {
	if o.elect == nil || !t.spec.Shared || o.dryRun {
		return
	}
	l := o.elect.current()
	if l == nil {
		rec, err := o.loadShared(ctx, t)
		if err != nil {
			o.log.Warn("election: shared state unreadable", "target", t.spec.Name, "err", o.redactString(err.Error()))
			return
		}
		if rec != nil {
			o.applyShared(t, rec)
		}
		return
	}
	lctx := ContextWithLeadership(ctx, l)
	o.elect.mu.Lock()
	synced := o.elect.synced[t.spec.Name]
	o.elect.mu.Unlock()
	if !synced {
		o.syncShared(lctx, t)
		return
	}
	o.recordShared(lctx, t)
}

// pushShared writes t's record to the shared store, fenced by the term ctx
// carries: a deposed leader's write fails (ErrNotLeader).
func (o *Orchestrator) pushShared(ctx context.Context, t *target) error {
	s := o.sharedStore()
	if s == nil || !t.spec.Shared || o.dryRun {
		return nil
	}
	o.mu.Lock()
	rec := t.record()
	o.mu.Unlock()
	data, err := json.Marshal(o.redactRecord(rec))
	if err != nil {
		return fmt.Errorf("redundancy: shared state of %q: %w", t.spec.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedIOTimeout)
	defer cancel()
	if err := s.Save(ctx, sharedKey(t.spec.Name), data); err != nil {
		return fmt.Errorf("redundancy: shared state of %q: %w", t.spec.Name, err)
	}
	return nil
}

// redactRecord redacts the history of a record about to leave the process.
func (o *Orchestrator) redactRecord(rec *targetRecord) *targetRecord {
	rec.History = redactResults(o.red, rec.History)
	return rec
}

// sharedSnapshot is what an attempt changes in a target, to undo it when
// the attempt cannot be recorded in the shared store.
type sharedSnapshot struct {
	attempts    []time.Time
	backoffN    int
	nextAttempt time.Time
	recoveries  int
	attemptLog  []AttemptRecord
}

func (t *target) gateSnapshot() sharedSnapshot {
	return sharedSnapshot{attempts: t.attempts, backoffN: t.backoffN, nextAttempt: t.nextAttempt, recoveries: t.recoveries,
		attemptLog: slices.Clone(t.attemptLog)}
}

func (t *target) restoreGate(s sharedSnapshot) {
	t.attempts, t.backoffN, t.nextAttempt, t.recoveries = s.attempts, s.backoffN, s.nextAttempt, s.recoveries
	t.attemptLog = s.attemptLog
}

// mutedForNotifiers reports, per event, whether it is about a shared
// target while this replica follows: the leader's notifiers tell people
// about shared targets, so that a group pages once, not once per replica.
// The logger and subscribers still get every event but alert notices
// (the alerts a follower shows are the leader's, read from the shared
// record). The caller holds o.mu.
func (o *Orchestrator) mutedForNotifiers(evs []Event) []bool {
	if o.elect == nil || o.elect.current() != nil {
		return nil
	}
	mute := make([]bool, len(evs))
	for i, e := range evs {
		if t, ok := o.targets[e.Target]; ok && t.spec.Shared {
			mute[i] = true
		}
	}
	return mute
}

// writeAhead records in the shared store the attempt just counted, before
// any of its actions runs: a successor then resumes a budget that counts
// it even if this replica dies in the middle. A write the fence refuses
// means this replica was deposed: the attempt is undone and nothing acts.
func (o *Orchestrator) writeAhead(ctx context.Context, t *target, lead Leadership, undo sharedSnapshot) error {
	if lead == nil {
		return nil
	}
	err := o.pushShared(ctx, t)
	if err == nil {
		return nil
	}
	o.mu.Lock()
	t.restoreGate(undo)
	o.mu.Unlock()
	o.log.Warn("election: the attempt could not be recorded: nothing is done", "target", t.spec.Name, "err", o.redactString(err.Error()))
	if errors.Is(err, ErrNotLeader) {
		o.lose(lead, "a fenced write was refused: another replica leads")
	}
	return err
}

// verifyLead checks, before an action, that term l is still held with
// time to spare; a nil l (a local target) always passes.
func verifyLead(ctx context.Context, l Leadership) error {
	if l == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sharedIOTimeout)
	defer cancel()
	if err := l.Verify(ctx); err != nil {
		if !errors.Is(err, ErrNotLeader) {
			err = fmt.Errorf("%w: %w", ErrNotLeader, err)
		}
		return err
	}
	return nil
}

// recordShared writes t's record after an attempt, if the term it ran
// under is still held.
func (o *Orchestrator) recordShared(ctx context.Context, t *target) {
	l, _ := LeadershipFromContext(ctx)
	if l == nil || o.elect.current() != l {
		return
	}
	if err := o.pushShared(ctx, t); err != nil {
		o.log.Warn("election: shared state not written", "target", t.spec.Name, "err", o.redactString(err.Error()))
		if errors.Is(err, ErrNotLeader) {
			o.lose(l, "a fenced write was refused: another replica leads")
		}
	}
}

// followsShared reports whether t is shared and left to another replica:
// an election is configured and this replica holds no term. The caller
// may hold o.mu.
func (o *Orchestrator) followsShared(t *target) bool {
	return o.elect != nil && t.spec.Shared && o.elect.current() == nil
}
