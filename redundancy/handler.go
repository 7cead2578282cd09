package redundancy

import (
	"encoding/json"
	"net/http"
	"time"
)

// Health-check response statuses of the IETF draft "Health Check Response
// Format for HTTP APIs" (draft-inadarei-api-health-check).
const (
	healthPass = "pass"
	healthWarn = "warn"
	healthFail = "fail"
)

func healthStatus(s Status) string {
	switch s {
	case StatusHealthy:
		return healthPass
	case StatusUnhealthy:
		return healthFail
	default: // degraded, unknown
		return healthWarn
	}
}

// HealthResponse is the body Handler serves.
type HealthResponse struct {
	Status      string                   `json:"status"`
	Description string                   `json:"description,omitempty"`
	Output      string                   `json:"output,omitempty"`
	Time        time.Time                `json:"time"`
	Checks      map[string][]HealthCheck `json:"checks"`
	// Silences extends the draft: the silences set, active or not.
	Silences []SilenceState `json:"silences,omitempty"`
}

// HealthCheck is one target's entry in HealthResponse.Checks.
type HealthCheck struct {
	ComponentID   string    `json:"componentId"`
	ComponentType string    `json:"componentType"`
	Status        string    `json:"status"`
	Output        string    `json:"output,omitempty"`
	Time          time.Time `json:"time,omitzero"`
	// The fields below extend the draft (it allows extra members).
	TargetStatus Status    `json:"targetStatus"`
	Findings     []Finding `json:"findings,omitempty"`
	Escalated    bool      `json:"escalated,omitempty"`
	BudgetLeft   int       `json:"budgetLeft"`
	Recoveries   int       `json:"recoveries"`
	// Criticality says whether this check's failure fails the whole.
	Criticality Criticality `json:"criticality"`
	// Alerts are the keys of its open alerts, "key (severity)".
	Alerts      []string `json:"alerts,omitempty"`
	Silenced    string   `json:"silenced,omitempty"`    // the silence of the whole target, if any
	RepairsHeld string   `json:"repairsHeld,omitempty"` // why repairs are held back, if they are
}

// Health returns the snapshot as a health-check response. The overall
// status is the worst of the critical targets' (Target.Criticality); a
// failing non-critical target makes it "warn" at most. Each check keeps
// its target's own status.
func (s Snapshot) Health() HealthResponse {
	h := HealthResponse{Status: healthStatus(s.healthOf()), Time: s.Time, Checks: make(map[string][]HealthCheck, len(s.Targets)),
		Description: "uras redundancy orchestrator", Silences: s.Silences}
	if len(s.Targets) == 0 {
		h.Status = healthPass
	}
	for _, ts := range s.Targets {
		c := HealthCheck{
			ComponentID: ts.Name, ComponentType: "component", Status: healthStatus(ts.Status),
			Time: ts.LastCheck, TargetStatus: ts.Status, Findings: ts.Report.Findings,
			Escalated: ts.Escalated, BudgetLeft: ts.BudgetLeft, Recoveries: ts.Recoveries, Criticality: ts.Criticality,
			Silenced: ts.Silenced, RepairsHeld: ts.RepairsHeld,
		}
		for _, a := range ts.Alerts {
			if a.State == AlertOpen {
				c.Alerts = append(c.Alerts, a.Key+" ("+a.Severity.String()+")")
			}
		}
		if ts.Status != StatusHealthy {
			c.Output = ts.Report.Summary
		}
		h.Checks[ts.Name+":status"] = []HealthCheck{c}
	}
	return h
}

// Handler serves the orchestrator's snapshot as application/health+json in
// the shape of the IETF health-check response draft: "status" pass, warn or
// fail (healthy, degraded or unknown, unhealthy), and "checks" keyed
// "<target>:status", each with status, output, time and the findings. It
// answers 200 for pass and warn, 503 for fail, to GET and HEAD only. It
// serves the last snapshot and never runs a check. With WithRedactor its
// text (summaries, findings) is redacted.
func (o *Orchestrator) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := o.Snapshot().Health()
		writeHealthJSON(w, r, h.Status != healthFail, h)
	})
}

// ProbeResponse is the body LivenessHandler and ReadinessHandler serve.
type ProbeResponse struct {
	// Status is "pass" (200), "warn" (200: ready, with warnings) or
	// "fail" (503).
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
	// Output lists what fails or warns, one line each.
	Output []string `json:"output,omitempty"`
}

// Probe returns l as a probe response.
func (l Liveness) Probe() ProbeResponse {
	p := ProbeResponse{Status: healthPass, Time: l.Time, Output: l.Problems}
	if !l.Alive {
		p.Status = healthFail
	}
	return p
}

// Probe returns r as a probe response.
func (r Readiness) Probe() ProbeResponse {
	p := ProbeResponse{Status: healthPass, Time: r.Time, Output: append(append([]string(nil), r.Failing...), r.Warnings...)}
	switch {
	case !r.Ready:
		p.Status = healthFail
	case len(r.Warnings) > 0:
		p.Status = healthWarn
	}
	return p
}

// LivenessHandler serves o.Liveness as a probe (/livez): 200 "pass" while
// the loop makes progress, 503 "fail" with what is late when it does not.
// GET and HEAD only; it runs no check.
func (o *Orchestrator) LivenessHandler() http.Handler {
	return probeHandler(func() ProbeResponse { return o.Liveness().Probe() })
}

// ReadinessHandler serves Snapshot.Readiness as a probe (/readyz): 200
// "pass" or "warn" when no critical target fails, 503 "fail" otherwise
// (and before every critical target was checked once). GET and HEAD
// only; it serves the last snapshot and runs no check. With WithRedactor
// its text is redacted.
func (o *Orchestrator) ReadinessHandler() http.Handler {
	return probeHandler(func() ProbeResponse { return o.Snapshot().Readiness().Probe() })
}

func probeHandler(probe func() ProbeResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := probe()
		writeHealthJSON(w, r, p.Status != healthFail, p)
	})
}

// writeHealthJSON writes v as application/health+json, 200 when ok and
// 503 otherwise, with no body for HEAD.
func writeHealthJSON(w http.ResponseWriter, r *http.Request, ok bool, v any) {
	w.Header().Set("Content-Type", "application/health+json")
	w.Header().Set("Cache-Control", "no-store")
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
