package redundancy

import (
	"encoding/json"
	"fmt"
	"time"
)

// silenceJSON is Silence on the wire, its Duration as text ("1h30m").
type silenceJSON struct {
	ID           string    `json:"id"`
	Target       string    `json:"target,omitempty"`
	Problem      Problem   `json:"problem,omitempty"`
	Comment      string    `json:"comment,omitempty"`
	Start        time.Time `json:"start,omitzero"`
	Until        time.Time `json:"until,omitzero"`
	Every        string    `json:"every,omitempty"`
	Duration     string    `json:"duration,omitempty"`
	TimeZone     string    `json:"time_zone,omitempty"`
	PauseRepairs bool      `json:"pause_repairs,omitempty"`
	Created      time.Time `json:"created,omitzero"`
}

func (s Silence) wire() silenceJSON {
	j := silenceJSON{ID: s.ID, Target: s.Target, Problem: s.Problem, Comment: s.Comment, Start: s.Start, Until: s.Until,
		Every: s.Every, TimeZone: s.TimeZone, PauseRepairs: s.PauseRepairs, Created: s.Created}
	if s.Duration != 0 {
		j.Duration = s.Duration.String()
	}
	return j
}

func (j silenceJSON) silence() (Silence, error) {
	var d time.Duration
	if j.Duration != "" {
		var err error
		if d, err = time.ParseDuration(j.Duration); err != nil {
			return Silence{}, fmt.Errorf("redundancy: silence duration: %w", err)
		}
	}
	return Silence{ID: j.ID, Target: j.Target, Problem: j.Problem, Comment: j.Comment, Start: j.Start, Until: j.Until,
		Every: j.Every, Duration: d, TimeZone: j.TimeZone, PauseRepairs: j.PauseRepairs, Created: j.Created}, nil
}

// MarshalJSON encodes s with its Duration as text ("1h30m0s").
func (s Silence) MarshalJSON() ([]byte, error) { return json.Marshal(s.wire()) }

// UnmarshalJSON decodes a silence whose duration is text ("90m").
func (s *Silence) UnmarshalJSON(b []byte) error {
	var j silenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := j.silence()
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// silenceStateJSON is SilenceState on the wire.
type silenceStateJSON struct {
	silenceJSON
	Active bool      `json:"active"`
	Ends   time.Time `json:"ends,omitzero"`
	Next   time.Time `json:"next,omitzero"`
}

// MarshalJSON encodes the silence's fields and its state side by side.
func (s SilenceState) MarshalJSON() ([]byte, error) {
	return json.Marshal(silenceStateJSON{silenceJSON: s.Silence.wire(), Active: s.Active, Ends: s.Ends, Next: s.Next})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *SilenceState) UnmarshalJSON(b []byte) error {
	var j silenceStateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := j.silence()
	if err != nil {
		return err
	}
	*s = SilenceState{Silence: v, Active: j.Active, Ends: j.Ends, Next: j.Next}
	return nil
}
