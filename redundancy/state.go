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

// stateFile is the JSON persisted by WithStateFile.
type stateFile struct {
	Version int                      `json:"version"`
	Saved   time.Time                `json:"saved"`
	Targets map[string]*targetRecord `json:"targets"`
}

// targetRecord is what survives a restart of one target.
type targetRecord struct {
	Status       Status         `json:"status"`
	LastCheck    time.Time      `json:"last_check,omitzero"`
	Failures     int            `json:"failures"`
	Successes    int            `json:"successes"`
	NeedRecheck  bool           `json:"need_recheck,omitempty"`
	HealthySince time.Time      `json:"healthy_since,omitzero"`
	Attempts     []time.Time    `json:"attempts,omitempty"`
	BackoffN     int            `json:"backoff_n"`
	NextAttempt  time.Time      `json:"next_attempt,omitzero"`
	Escalated    bool           `json:"escalated"`
	Recoveries   int            `json:"recoveries"`
	History      []ActionResult `json:"history,omitempty"`
}

func (t *target) record() *targetRecord {
	return &targetRecord{
		Status: t.status, LastCheck: t.lastCheck, Failures: t.failures, Successes: t.successes,
		NeedRecheck: t.needRecheck, HealthySince: t.healthySince,
		Attempts: append([]time.Time(nil), t.attempts...), BackoffN: t.backoffN, NextAttempt: t.nextAttempt,
		Escalated: t.escalated, Recoveries: t.recoveries, History: append([]ActionResult(nil), t.history...),
	}
}

func (r *targetRecord) applyTo(t *target) {
	t.status, t.lastCheck, t.failures, t.successes = r.Status, r.LastCheck, r.Failures, r.Successes
	t.needRecheck, t.healthySince = r.NeedRecheck, r.HealthySince
	t.attempts, t.backoffN, t.nextAttempt = r.Attempts, r.BackoffN, r.NextAttempt
	t.escalated, t.recoveries = r.Escalated, r.Recoveries
	t.history = r.History
	if len(t.history) > historyLimit {
		t.history = t.history[len(t.history)-historyLimit:]
	}
	t.report = Report{Status: r.Status, Summary: "restored from state file"}
}

// loadState reads the state file. A missing file is a fresh start; an
// unreadable or corrupt one is renamed aside and reported.
func (o *Orchestrator) loadState() {
	data, err := os.ReadFile(o.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var sf stateFile
	if err == nil {
		err = json.Unmarshal(data, &sf)
		if err == nil && sf.Version != stateVersion {
			err = fmt.Errorf("unsupported state version %d (want %d)", sf.Version, stateVersion)
		}
	}
	if err == nil {
		o.loaded = sf.Targets
		return
	}
	aside := fmt.Sprintf("%s.corrupt-%s", o.statePath, o.clock.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(o.statePath, aside); rerr != nil {
		err = fmt.Errorf("read state file %s: %w (and could not set it aside: %w)", o.statePath, err, rerr)
	} else {
		err = fmt.Errorf("read state file %s: %w (set aside as %s; starting fresh)", o.statePath, err, aside)
	}
	o.log.Error("state file discarded", "path", o.statePath, "err", err)
	// Subscribers cannot exist yet; notifiers can.
	o.emit(Event{Time: o.clock.Now(), Kind: EventStateDiscarded, Err: err})
}

// saveState writes every target's record atomically. Errors are logged:
// a full disk must not stop the orchestrator from repairing things.
func (o *Orchestrator) saveState() {
	if o.statePath == "" {
		return
	}
	o.saveMu.Lock()
	defer o.saveMu.Unlock()
	o.mu.Lock()
	sf := stateFile{Version: stateVersion, Saved: o.clock.Now().UTC(), Targets: make(map[string]*targetRecord, len(o.targets)+len(o.loaded))}
	for name, rec := range o.loaded { // targets not added (yet) keep their state
		sf.Targets[name] = rec
	}
	for name, t := range o.targets {
		sf.Targets[name] = t.record()
	}
	o.mu.Unlock()
	data, err := json.MarshalIndent(sf, "", "  ")
	if err == nil {
		err = fsutil.WriteFileAtomic(o.statePath, data, 0o600)
	}
	if err != nil {
		o.log.Error("save state", "path", o.statePath, "err", err)
	}
}
