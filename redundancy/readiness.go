package redundancy

import (
	"fmt"
	"strings"
	"time"
)

// Criticality says how much a target's failure weighs in the health of
// the whole (Target.Criticality).
type Criticality int

// The criticalities. The zero value is Critical.
const (
	// Critical: the target failing (unhealthy) fails the whole: Health
	// says "fail" (503) and Readiness is not ready.
	Critical Criticality = iota
	// NonCritical: the target failing only warns; it never makes the
	// whole fail. It is checked and recovered like any other.
	NonCritical
)

// String returns "critical" or "non-critical".
func (c Criticality) String() string {
	switch c {
	case Critical:
		return "critical"
	case NonCritical:
		return "non-critical"
	}
	return fmt.Sprintf("criticality(%d)", int(c))
}

// MarshalText encodes c as its name.
func (c Criticality) MarshalText() ([]byte, error) {
	if c != Critical && c != NonCritical {
		return nil, fmt.Errorf("redundancy: invalid criticality %d", int(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText decodes "critical" or "non-critical" (also "noncritical"),
// case-insensitively.
func (c *Criticality) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "critical":
		*c = Critical
	case "non-critical", "noncritical", "non_critical":
		*c = NonCritical
	default:
		return fmt.Errorf("redundancy: unknown criticality %q (want critical or non-critical)", b)
	}
	return nil
}

// ConnectionReporter is implemented by an event source that holds a
// connection (PM2's event socket: pm2.EventChecker): Connected says
// whether it is up right now. The orchestrator looks for it on a
// target's Source, then on its Checker, and shows it in
// TargetState.Source; metrics export it. Connected must be fast and must
// not call back into the orchestrator.
type ConnectionReporter interface {
	Connected() bool
}

// SourceState is the connection of a target's event source.
type SourceState int

// The source states. The zero value means the target has no source that
// reports a connection.
const (
	SourceNone SourceState = iota
	SourceConnected
	SourceDisconnected
)

// String returns "", "connected" or "disconnected".
func (s SourceState) String() string {
	switch s {
	case SourceConnected:
		return "connected"
	case SourceDisconnected:
		return "disconnected"
	}
	return ""
}

// MarshalText encodes s as its name.
func (s SourceState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name String returns.
func (s *SourceState) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*s = SourceNone
	case "connected":
		*s = SourceConnected
	case "disconnected":
		*s = SourceDisconnected
	default:
		return fmt.Errorf("redundancy: unknown source state %q", b)
	}
	return nil
}

// connection returns the target's ConnectionReporter, if any.
func (t Target) connection() ConnectionReporter {
	if cr, ok := t.Source.(ConnectionReporter); ok {
		return cr
	}
	if cr, ok := t.Checker.(ConnectionReporter); ok {
		return cr
	}
	return nil
}

func (t Target) sourceState() SourceState {
	cr := t.connection()
	switch {
	case cr == nil:
		return SourceNone
	case cr.Connected():
		return SourceConnected
	}
	return SourceDisconnected
}

// Readiness says whether the watched targets are well enough, per their
// criticality, for the whole to be called ready: what a readiness probe
// (/readyz) asks.
type Readiness struct {
	Ready bool      `json:"ready"`
	Time  time.Time `json:"time"`
	// Failing lists the critical targets that make the whole not ready:
	// unhealthy, or never checked yet.
	Failing []string `json:"failing,omitempty"`
	// Warnings lists the targets that are not healthy but do not fail the
	// whole: non-critical ones, and critical ones degraded or unknown.
	Warnings []string `json:"warnings,omitempty"`
}

// Readiness returns whether s is ready: no critical target is unhealthy
// (with Policy.UnknownIsFailing a check that cannot run makes it so), and
// every critical target has been checked at least once. Degraded and
// unknown critical targets, and failing non-critical ones, are warnings.
func (s Snapshot) Readiness() Readiness {
	r := Readiness{Ready: true, Time: s.Time}
	for _, ts := range s.Targets {
		line := fmt.Sprintf("%s: %s", ts.Name, ts.Status)
		if ts.Report.Summary != "" && ts.Status != StatusHealthy {
			line += ": " + ts.Report.Summary
		}
		switch {
		case ts.Criticality == Critical && ts.LastCheck.IsZero():
			r.Failing = append(r.Failing, ts.Name+": not checked yet")
		case ts.Status == StatusHealthy:
		case ts.Criticality == Critical && ts.Status == StatusUnhealthy:
			r.Failing = append(r.Failing, line)
		default:
			r.Warnings = append(r.Warnings, line)
		}
	}
	r.Ready = len(r.Failing) == 0
	return r
}

// healthOf is the overall status the health endpoint reports: the worst
// status of the critical targets; a non-critical target weighs at most
// as degraded.
func (s Snapshot) healthOf() Status {
	st := StatusHealthy
	for _, ts := range s.Targets {
		t := ts.Status
		if ts.Criticality == NonCritical && t != StatusHealthy {
			t = StatusDegraded
		}
		st = Worse(st, t)
	}
	return st
}
