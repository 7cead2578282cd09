package redundancy

import (
	"fmt"
	"strings"
)

// Status is the health of a target, a report or a finding.
//
// The zero value is StatusUnknown: nothing is known yet, or the check itself
// could not run. Statuses are ordered by severity with Worse.
type Status int

// The statuses, from least to most severe in Worse's order (Unknown sits
// between Degraded and Unhealthy: not knowing is worse than a warning).
const (
	StatusUnknown Status = iota
	StatusHealthy
	StatusDegraded
	StatusUnhealthy
)

var statusNames = [...]string{"unknown", "healthy", "degraded", "unhealthy"}

// String returns the lower-case name of s ("healthy"), or "status(N)" for a
// value outside the constants.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(statusNames) {
		return nil, fmt.Errorf("redundancy: invalid status %d", int(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes a status name, case-insensitively.
func (s *Status) UnmarshalText(b []byte) error {
	p, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// ParseStatus returns the Status named by name ("healthy", "Degraded", ...).
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return Status(i), nil
		}
	}
	return StatusUnknown, fmt.Errorf("redundancy: unknown status %q (want unknown, healthy, degraded or unhealthy)", name)
}

// severity orders statuses for Worse.
func (s Status) severity() int {
	switch s {
	case StatusHealthy:
		return 0
	case StatusDegraded:
		return 1
	case StatusUnknown:
		return 2
	case StatusUnhealthy:
		return 3
	}
	return 2
}

// Worse returns the more severe of s and t: unhealthy, then unknown, then
// degraded, then healthy.
func Worse(s, t Status) Status {
	if t.severity() > s.severity() {
		return t
	}
	return s
}
