package redundancy

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Silence keeps the alerts of the targets and problems it matches from the
// notifiers while it is active (they are still logged and given to
// subscribers, marked Alert.Silenced). With PauseRepairs it is a
// maintenance window: the repairs of what it matches are not run either.
//
// A silence is one-off (Until, or Duration from Start or from now) or
// recurring (Every, a cron schedule read in TimeZone, each window lasting
// Duration, optionally between Start and Until), as Gatus's maintenance
// windows and Uptime Kuma's maintenance are.
type Silence struct {
	// ID names the silence; Silence generates one when it is empty, and a
	// silence with the ID of an existing one replaces it (so a launcher
	// can set its configured silences at every start). Letters, digits,
	// ".", "_" and "-", at most 64.
	ID string `json:"id"`
	// Target is a path.Match pattern of the target names it matches (""
	// matches every target). A pattern that matches a nested target's name
	// ("pm2") also matches the targets under it ("pm2/web").
	Target string `json:"target,omitempty"`
	// Problem is a path.Match pattern of the problems it matches ("" every
	// problem), for example "pm2.*" or "github.run-failed".
	Problem Problem `json:"problem,omitempty"`
	// Comment says why, for people (at most 1024 bytes).
	Comment string `json:"comment,omitempty"`
	// Start is when it begins (zero: at once).
	Start time.Time `json:"start,omitzero"`
	// Until is when it ends: required for a one-off silence unless
	// Duration is given; for a recurring one, when the series ends.
	Until time.Time `json:"until,omitzero"`
	// Every makes it recurring: a cron schedule of five fields ("0 2 * *
	// SUN": Sundays at 02:00) or a descriptor (@daily, @weekly, @monthly).
	Every string `json:"every,omitempty"`
	// Duration is how long each window of a recurring silence lasts; for
	// a one-off silence without Until, how long it lasts.
	Duration time.Duration `json:"duration,omitempty"`
	// TimeZone is the IANA zone Every is read in ("Europe/Berlin";
	// default UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// PauseRepairs also stops the repairs of what it matches while active.
	PauseRepairs bool `json:"pause_repairs,omitempty"`
	// Created is when it was set (filled in by Silence).
	Created time.Time `json:"created,omitzero"`
}

// SilenceState is a silence as Snapshot and Silences show it.
type SilenceState struct {
	Silence
	Active bool `json:"active"`
	// Ends is the end of the current window, when active.
	Ends time.Time `json:"ends,omitzero"`
	// Next is the start of the next window, when not active.
	Next time.Time `json:"next,omitzero"`
}

// Limits of silences.
const (
	MaxSilences       = 1000
	maxSilenceComment = 1024
)

// Errors of the silence API.
var (
	ErrInvalidSilence = errors.New("redundancy: invalid silence")
	ErrUnknownSilence = errors.New("redundancy: unknown silence")
)

var silenceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// silences is an orchestrator's silences. Its lock is a leaf: nothing else
// is locked while it is held.
type silences struct {
	mu   sync.Mutex
	list []*window
}

// Silence sets s (replacing the silence with the same ID, if any) and
// returns it as stored: with its ID and Created time, and Until computed
// from Duration for a one-off silence. It fails, naming the field, for a
// silence that matches nothing (no target nor problem: use "*" for all), a
// bad pattern, ID or comment, a one-off silence without an end or whose
// end has passed, a recurring one with a bad schedule, time zone or
// duration, or when MaxSilences are set. Silences are saved in the state
// file (WithStateFile) at once, so a restart keeps them.
func (o *Orchestrator) Silence(s Silence) (Silence, error) {
	now := o.clock.Now()
	s, err := normalizeSilence(s, now)
	if err != nil {
		return Silence{}, err
	}
	w, err := compileWindow(s)
	if err != nil {
		return Silence{}, fmt.Errorf("%w%s: %w", ErrInvalidSilence, silenceLabel(s.ID), err)
	}
	if w.expired(now) {
		return Silence{}, fmt.Errorf("%w%s: it has ended (until %s)", ErrInvalidSilence, silenceLabel(s.ID), s.Until.Format(time.RFC3339))
	}
	if s.ID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.ID = "s-" + hex.EncodeToString(b[:])
		w.s.ID = s.ID
	}
	o.sil.mu.Lock()
	i := slices.IndexFunc(o.sil.list, func(x *window) bool { return x.s.ID == s.ID })
	switch {
	case i >= 0:
		o.sil.list[i] = w
	case len(o.sil.list) >= MaxSilences:
		o.sil.mu.Unlock()
		return Silence{}, fmt.Errorf("%w: %d silences are set already (the most there may be)", ErrInvalidSilence, MaxSilences)
	default:
		o.sil.list = append(o.sil.list, w)
	}
	o.sil.mu.Unlock()
	o.log.Info("silence set", "id", s.ID, "target", s.Target, "problem", string(s.Problem),
		"every", s.Every, "until", s.Until, "pause_repairs", s.PauseRepairs, "comment", o.redactString(s.Comment))
	o.silencesChanged()
	return s, nil
}

// silenceLabel names a silence in errors: ` "id"`, or nothing for one
// without an ID yet.
func silenceLabel(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(" %q", id)
}

// normalizeSilence checks the fields of s that need no schedule and fills
// in Created and a one-off Until.
func normalizeSilence(s Silence, now time.Time) (Silence, error) {
	bad := func(format string, args ...any) (Silence, error) {
		return Silence{}, fmt.Errorf("%w%s: %s", ErrInvalidSilence, silenceLabel(s.ID), fmt.Sprintf(format, args...))
	}
	if s.ID != "" && !silenceIDRE.MatchString(s.ID) {
		return bad("id must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if s.Target == "" && s.Problem == "" {
		return bad("it needs a target or a problem (\"*\" matches every target)")
	}
	if _, err := path.Match(s.Target, ""); err != nil {
		return bad("target pattern %q: %v", s.Target, err)
	}
	if _, err := path.Match(string(s.Problem), ""); err != nil {
		return bad("problem pattern %q: %v", s.Problem, err)
	}
	if len(s.Comment) > maxSilenceComment {
		return bad("comment is %d bytes (at most %d)", len(s.Comment), maxSilenceComment)
	}
	if s.Duration < 0 {
		return bad("duration is negative (%s)", s.Duration)
	}
	if s.Every == "" && s.Duration > 0 {
		if !s.Until.IsZero() {
			return bad("give until or duration, not both")
		}
		from := s.Start
		if from.IsZero() {
			from = now
		}
		s.Until = from.Add(s.Duration)
		s.Duration = 0
	}
	if s.Created.IsZero() {
		s.Created = now
	}
	return s, nil
}

// Silences returns the silences that are set, active or not, in the order
// they were set. Ended ones are dropped.
func (o *Orchestrator) Silences() []SilenceState {
	now := o.clock.Now()
	o.sil.mu.Lock()
	defer o.sil.mu.Unlock()
	out := make([]SilenceState, 0, len(o.sil.list))
	for _, w := range o.sil.list {
		active, end, next := w.at(now)
		if !active && next.IsZero() {
			continue
		}
		out = append(out, SilenceState{Silence: w.s, Active: active, Ends: end, Next: next})
	}
	return out
}

// RemoveSilence removes the silence id, or fails with an error wrapping
// ErrUnknownSilence.
func (o *Orchestrator) RemoveSilence(id string) error {
	o.sil.mu.Lock()
	i := slices.IndexFunc(o.sil.list, func(x *window) bool { return x.s.ID == id })
	if i >= 0 {
		o.sil.list = slices.Delete(o.sil.list, i, i+1)
	}
	o.sil.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("%w %q", ErrUnknownSilence, id)
	}
	o.log.Info("silence removed", "id", id)
	o.silencesChanged()
	return nil
}

// silencesChanged saves the state at once.
func (o *Orchestrator) silencesChanged() {
	o.mu.Lock()
	o.dirty = true
	o.mu.Unlock()
	o.saveState(true)
}

// savedSilences returns the silences to persist (ended ones dropped).
func (o *Orchestrator) savedSilences(now time.Time) []Silence {
	o.sil.mu.Lock()
	defer o.sil.mu.Unlock()
	var out []Silence
	kept := o.sil.list[:0]
	for _, w := range o.sil.list {
		if w.expired(now) {
			continue
		}
		kept = append(kept, w)
		out = append(out, w.s)
	}
	clear(o.sil.list[len(kept):])
	o.sil.list = kept
	return out
}

// restoreSilences sets the silences read from the state file; one that no
// longer compiles (a time zone this host does not know) is dropped and
// logged.
func (o *Orchestrator) restoreSilences(list []Silence, now time.Time) {
	o.sil.mu.Lock()
	defer o.sil.mu.Unlock()
	for _, s := range list {
		w, err := compileWindow(s)
		if err == nil && !silenceIDRE.MatchString(s.ID) {
			err = errors.New("bad id")
		}
		if err != nil {
			o.log.Error("state: silence dropped", "id", s.ID, "err", err.Error())
			continue
		}
		if w.expired(now) || len(o.sil.list) >= MaxSilences {
			continue
		}
		o.sil.list = append(o.sil.list, w)
	}
}

// matchTarget reports whether pattern matches name or a nest above it
// ("pm2" matches "pm2/web").
func matchTarget(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	for n := name; ; {
		if ok, _ := path.Match(pattern, n); ok {
			return true
		}
		i := strings.LastIndexByte(n, '/')
		if i < 0 {
			return false
		}
		n = n[:i]
	}
}

func matchProblem(pattern, p Problem) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(string(pattern), string(p))
	return ok
}

// silencedBy returns the ID of an active silence of this orchestrator or
// of one it is nested in that matches problem p of target name (pause:
// only those that pause repairs), or "".
func (o *Orchestrator) silencedBy(name string, p Problem, now time.Time, pause bool) string {
	for cur := o; cur != nil; {
		if id := cur.sil.match(name, p, now, pause); id != "" {
			return id
		}
		l := cur.parent.Load()
		if l == nil {
			return ""
		}
		name, cur = l.name+"/"+name, l.parent
	}
	return ""
}

func (s *silences) match(name string, p Problem, now time.Time, pause bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.list {
		if pause && !w.s.PauseRepairs || !matchTarget(w.s.Target, name) || !matchProblem(w.s.Problem, p) {
			continue
		}
		if active, _, _ := w.at(now); active {
			return w.s.ID
		}
	}
	return ""
}
