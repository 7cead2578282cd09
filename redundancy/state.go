package redundancy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

const stateVersion = 1

// MaxStateFileSize bounds the state file WithStateFile reads (64 MiB): a
// larger file is set aside as corrupt.
const MaxStateFileSize = 64 << 20

// stateSaveInterval is the least time between two state writes under Run.
const stateSaveInterval = time.Second

// Bounds of a state record beyond which it is corrupt, not merely old.
const (
	maxRecordAttempts = 10_000
	maxRecordCounter  = 1 << 40
	maxRecordAhead    = 366 * 24 * time.Hour // how far ahead of the clock a recorded time may be
)

// stateFile is the JSON persisted by WithStateFile.
type stateFile struct {
	Version  int                      `json:"version"`
	Saved    time.Time                `json:"saved"`
	Targets  map[string]*targetRecord `json:"targets"`
	Silences []Silence                `json:"silences,omitempty"`
}

// targetRecord is what survives a restart of one target.
type targetRecord struct {
	Status       Status          `json:"status"`
	LastCheck    time.Time       `json:"last_check,omitzero"`
	Failures     int             `json:"failures"`
	Successes    int             `json:"successes"`
	NeedRecheck  bool            `json:"need_recheck,omitempty"`
	HealthySince time.Time       `json:"healthy_since,omitzero"`
	Attempts     []time.Time     `json:"attempts,omitempty"`
	BackoffN     int             `json:"backoff_n"`
	NextAttempt  time.Time       `json:"next_attempt,omitzero"`
	Escalated    bool            `json:"escalated"`
	Recoveries   int             `json:"recoveries"`
	History      []ActionResult  `json:"history,omitempty"`
	AttemptLog   []AttemptRecord `json:"attempt_log,omitempty"`
	Alerts       *alertTrack     `json:"alerts,omitempty"`
}

func (t *target) record() *targetRecord {
	return &targetRecord{
		Status: t.status, LastCheck: t.lastCheck, Failures: t.failures, Successes: t.successes,
		NeedRecheck: t.needRecheck, HealthySince: t.healthySince,
		Attempts: append([]time.Time(nil), t.attempts...), BackoffN: t.backoffN, NextAttempt: t.nextAttempt,
		Escalated: t.escalated, Recoveries: t.recoveries, History: append([]ActionResult(nil), t.history...),
		AttemptLog: append([]AttemptRecord(nil), t.attemptLog...), Alerts: t.al.record(),
	}
}

func (r *targetRecord) applyTo(t *target, red *Redactor) {
	t.status, t.lastCheck, t.failures, t.successes = r.Status, r.LastCheck, r.Failures, r.Successes
	t.needRecheck, t.healthySince = r.NeedRecheck, r.HealthySince
	t.attempts, t.backoffN, t.nextAttempt = r.Attempts, r.BackoffN, r.NextAttempt
	t.escalated, t.recoveries = r.Escalated, r.Recoveries
	t.history = redactResults(red, r.History) // a file written before a secret was registered
	t.attemptLog = redactAttempts(red, r.AttemptLog)
	if r.Alerts != nil {
		t.al = r.Alerts.restore(red)
	}
	t.report = Report{Status: r.Status, Summary: "restored from state file"}
}

// validate refuses a record no orchestrator writes: negative or absurd
// counters, more history than is kept, times far ahead of now.
func (r *targetRecord) validate(now time.Time) error {
	if r == nil {
		return errors.New("null record")
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"failures", r.Failures}, {"successes", r.Successes}, {"backoff_n", r.BackoffN}, {"recoveries", r.Recoveries}} {
		if c.v < 0 || c.v > maxRecordCounter {
			return fmt.Errorf("%s %d out of range [0, %d]", c.name, c.v, int64(maxRecordCounter))
		}
	}
	if r.BackoffN > r.Recoveries {
		return fmt.Errorf("backoff_n %d above recoveries %d", r.BackoffN, r.Recoveries)
	}
	if len(r.Attempts) > maxRecordAttempts {
		return fmt.Errorf("%d attempts (at most %d)", len(r.Attempts), maxRecordAttempts)
	}
	if len(r.History) > historyLimit {
		return fmt.Errorf("%d history entries (at most %d)", len(r.History), historyLimit)
	}
	limit := now.Add(maxRecordAhead)
	ahead := func(name string, t time.Time) error {
		if t.After(limit) {
			return fmt.Errorf("%s %s is more than a year ahead", name, t.Format(time.RFC3339))
		}
		return nil
	}
	errs := []error{ahead("last_check", r.LastCheck), ahead("healthy_since", r.HealthySince), ahead("next_attempt", r.NextAttempt)}
	for _, a := range r.Attempts {
		errs = append(errs, ahead("attempt", a))
	}
	for i, h := range r.History {
		if h.Tries < 0 || h.Attempt < 0 || h.Elapsed < 0 || h.Recovery < 0 {
			errs = append(errs, fmt.Errorf("history[%d]: negative tries, attempt, recovery or elapsed", i))
		}
		errs = append(errs, ahead(fmt.Sprintf("history[%d].started", i), h.Started))
	}
	if len(r.AttemptLog) > attemptLogLimit {
		errs = append(errs, fmt.Errorf("%d attempt_log entries (at most %d)", len(r.AttemptLog), attemptLogLimit))
	}
	for i, a := range r.AttemptLog {
		if a.Recovery < 0 || a.Outcome < AttemptRunning || a.Outcome > AttemptRelapsed {
			errs = append(errs, fmt.Errorf("attempt_log[%d]: recovery or outcome out of range", i))
		}
		errs = append(errs, ahead(fmt.Sprintf("attempt_log[%d].started", i), a.Started))
	}
	if r.Alerts != nil {
		errs = append(errs, r.Alerts.validate(ahead))
	}
	return errors.Join(errs...)
}

// decodeState parses and validates a state file.
func decodeState(data []byte, now time.Time) (map[string]*targetRecord, []Silence, error) {
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, nil, err
	}
	if sf.Version != stateVersion {
		return nil, nil, fmt.Errorf("unsupported state version %d (want %d)", sf.Version, stateVersion)
	}
	for name, rec := range sf.Targets {
		if err := rec.validate(now); err != nil {
			return nil, nil, fmt.Errorf("target %q: %w", name, err)
		}
	}
	if len(sf.Silences) > MaxSilences {
		return nil, nil, fmt.Errorf("%d silences (at most %d)", len(sf.Silences), MaxSilences)
	}
	return sf.Targets, sf.Silences, nil
}

// loadState reads the state file (at most MaxStateFileSize bytes). A
// missing file is a fresh start; an unreadable, oversized or corrupt one is
// renamed aside and reported; a path that is not a regular file (a FIFO, a
// device, a directory) is never read, renamed nor written: the state is
// then not persisted, and that is reported.
func (o *Orchestrator) loadState() {
	data, err := fsutil.ReadFile(o.statePath, MaxStateFileSize)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if errors.Is(err, fsutil.ErrNotRegular) {
		o.stateOff = true
		err = fmt.Errorf("redundancy: state file: %w; the state is not persisted", err)
		o.log.Error("state file unusable", "path", o.statePath, "err", o.redactString(err.Error()))
		o.emit(Event{Time: o.clock.Now(), Kind: EventStateDiscarded, Err: err})
		return
	}
	if err == nil {
		var sil []Silence
		o.loaded, sil, err = decodeState(data, o.clock.Now())
		if err == nil {
			o.restoreSilences(sil, o.clock.Now())
			return
		}
	}
	aside := fmt.Sprintf("%s.corrupt-%s", o.statePath, o.clock.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(o.statePath, aside); rerr != nil {
		err = fmt.Errorf("read state file %s: %w (and could not set it aside: %w)", o.statePath, err, rerr)
	} else {
		err = fmt.Errorf("read state file %s: %w (set aside as %s; starting fresh)", o.statePath, err, aside)
	}
	o.log.Error("state file discarded", "path", o.statePath, "err", o.redactString(err.Error()))
	// Subscribers cannot exist yet; notifiers can.
	o.emit(Event{Time: o.clock.Now(), Kind: EventStateDiscarded, Err: err})
}

// saveDue reports whether changes wait to be saved and how long until the
// throttle (one write per stateSaveInterval) allows it.
func (o *Orchestrator) saveDue(now time.Time) (time.Duration, bool) {
	if o.statePath == "" {
		return 0, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.dirty || o.stateOff {
		return 0, false
	}
	if o.lastSave.IsZero() {
		return 0, true
	}
	return stateSaveInterval - now.Sub(o.lastSave), true
}

// saveState writes every target's record atomically: when forced, at
// once; otherwise only when the last write is stateSaveInterval old and no
// other write is under way (Run's loop writes what is left when the
// interval has passed). Errors are logged: a full disk must not stop the
// orchestrator from repairing things.
func (o *Orchestrator) saveState(force bool) {
	if o.statePath == "" {
		return
	}
	if force {
		o.saveMu.Lock()
	} else if !o.saveMu.TryLock() {
		return
	}
	defer o.saveMu.Unlock()
	now := o.clock.Now()
	o.mu.Lock()
	if o.stateOff || !force && (!o.dirty || !o.lastSave.IsZero() && now.Sub(o.lastSave) < stateSaveInterval) {
		o.mu.Unlock()
		return
	}
	sf := stateFile{Version: stateVersion, Saved: now.UTC(), Targets: make(map[string]*targetRecord, len(o.targets)+len(o.loaded))}
	for name, rec := range o.loaded { // before the first Tick or Run, records of targets not added (yet) are kept
		sf.Targets[name] = rec
	}
	for name, t := range o.targets {
		sf.Targets[name] = t.record()
	}
	o.dirty, o.lastSave = false, now
	o.saves++
	o.mu.Unlock()
	sf.Silences = o.savedSilences(now)
	data, err := json.MarshalIndent(sf, "", "  ")
	if err == nil {
		err = fsutil.WriteFileAtomic(o.statePath, data, 0o600)
	}
	if err != nil {
		o.mu.Lock()
		o.dirty = true
		o.mu.Unlock()
		o.log.Error("save state", "path", o.statePath, "err", o.redactString(err.Error()))
	}
}
