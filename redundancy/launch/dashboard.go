package launch

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Status is the whole state of a System at one moment, as status -json
// and health-check -json print it, the status file holds it and the
// endpoint's /status serves it.
type Status struct {
	// Mode is the command's name ("ultimate").
	Mode string `json:"mode"`
	// Title heads the dashboard.
	Title  string            `json:"title,omitempty"`
	Time   time.Time         `json:"time,omitzero"`
	Status redundancy.Status `json:"status"`
	Parts  []PartStatus      `json:"parts"`
	Notes  []string          `json:"notes,omitempty"`
	// PID is the monitor's process id when a running monitor wrote it.
	PID int `json:"pid,omitempty"`
	// Endpoint is the running monitor's endpoint ("http://127.0.0.1:9321"),
	// where the silence verb reaches it.
	Endpoint string `json:"endpoint,omitempty"`
	// Silences are the root's silences and maintenance windows, active or
	// not (redundancy.Snapshot.Silences).
	Silences []redundancy.SilenceState `json:"silences,omitempty"`
}

// PartStatus is the state of one part's targets.
type PartStatus struct {
	Name    string                   `json:"name"`
	Status  redundancy.Status        `json:"status"`
	Targets []redundancy.TargetState `json:"targets"`
	// Parent is the root orchestrator's view of this part, when the
	// part's orchestrator is a target of the root under the part's name:
	// its own recoveries of the part as a whole and its budget.
	Parent *redundancy.TargetState `json:"parent,omitempty"`
	// Election is who leads the part's group, when the part's
	// orchestrator is one of several replicas (redundancy.WithElection).
	Election *redundancy.ElectionState `json:"election,omitempty"`
}

// Status returns the current state of every part's targets. Parts without
// targets are left out; the overall status is the worst part's (healthy
// when nothing is watched: the notes say why).
func (s *System) Status() Status {
	root := s.Root.Snapshot()
	st := Status{Time: root.Time, Status: redundancy.StatusHealthy, Notes: slices.Clone(s.Notes), Silences: root.Silences}
	if st.Time.IsZero() {
		st.Time = time.Now()
	}
	snaps := map[*redundancy.Orchestrator]redundancy.Snapshot{s.Root: root}
	for _, p := range s.parts() {
		if p.Orch == nil {
			continue
		}
		snap, ok := snaps[p.Orch]
		if !ok {
			snap = p.Orch.Snapshot()
			snaps[p.Orch] = snap
		}
		ps := PartStatus{Name: p.Name, Status: redundancy.StatusHealthy, Election: snap.Election}
		for _, ts := range snap.Targets {
			if p.Targets != nil && !slices.Contains(p.Targets, ts.Name) {
				continue
			}
			ps.Targets = append(ps.Targets, ts)
			ps.Status = redundancy.Worse(ps.Status, ts.Status)
		}
		if len(ps.Targets) == 0 {
			continue
		}
		if p.Orch != s.Root {
			for _, ts := range root.Targets {
				if ts.Name == p.Name {
					ts.History = nil
					ps.Parent = &ts
					break
				}
			}
		}
		st.Parts = append(st.Parts, ps)
		st.Status = redundancy.Worse(st.Status, ps.Status)
	}
	return st
}

// Render writes the dashboard: one row per target with its part, status,
// last check, findings, recoveries and budget left, then the notes. Every
// text from outside (names, findings, errors) is shown with its control
// characters escaped, so none can act on the terminal.
func Render(w io.Writer, st Status) {
	title := st.Title
	if title == "" {
		title = st.Mode
	}
	fmt.Fprintf(w, "%s — overall %s at %s\n", sanitize(title), strings.ToUpper(st.Status.String()), st.Time.Local().Format("2006-01-02 15:04:05"))
	if len(st.Parts) == 0 {
		fmt.Fprintln(w, "  nothing is watched")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PART\tTARGET\tSTATUS\tLAST CHECK\tFINDINGS\tRECOVERIES\tBUDGET LEFT")
		for _, ps := range st.Parts {
			for _, ts := range ps.Targets {
				last := "never"
				if !ts.LastCheck.IsZero() {
					last = ts.LastCheck.Local().Format("15:04:05")
				}
				status := ts.Status.String()
				if ts.Escalated {
					status += " (escalated)"
				}
				if ts.Shared && ps.Election != nil && !ps.Election.Leading {
					status += " (leader acts)"
				}
				if ts.Source == redundancy.SourceDisconnected {
					status += " (events down)"
				}
				if ts.Silenced != "" {
					status += " (silenced)"
				}
				if ts.RepairsHeld != "" {
					status += " (repairs held)"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%d\n", sanitize(ps.Name), sanitize(ts.Name), status, last,
					sanitize(findings(ts)), ts.Recoveries, ts.BudgetLeft)
			}
		}
		_ = tw.Flush()
		parts := make([]string, 0, len(st.Parts))
		for _, ps := range st.Parts {
			p := sanitize(ps.Name) + " " + ps.Status.String()
			if ps.Parent != nil && ps.Parent.Recoveries > 0 {
				p += fmt.Sprintf(" (recoveries as a whole %d)", ps.Parent.Recoveries)
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "  parts: %s\n", strings.Join(parts, " · "))
		for _, ps := range st.Parts {
			if e := ps.Election; e != nil {
				fmt.Fprintf(w, "  election: %s: %s\n", sanitize(ps.Name), sanitize(electionLine(e)))
			}
		}
	}
	renderAlerts(w, st)
	renderSilences(w, st.Silences)
	notes := slices.Clone(st.Notes)
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", sanitize(oneLine(n)))
	}
}

func findings(ts redundancy.TargetState) string {
	fs := ts.Report.Findings
	if len(fs) == 0 {
		if ts.Error != "" {
			return "check failed: " + clip(ts.Error, 60)
		}
		if ts.Report.Err != nil {
			return "check failed: " + clip(ts.Report.Err.Error(), 60)
		}
		return "-"
	}
	out := clip(fs[0].Subject+": "+string(fs[0].Problem), 60)
	if len(fs) > 1 {
		out += fmt.Sprintf(" (+%d more)", len(fs)-1)
	}
	return out
}

// electionLine says who leads a part's group, as this monitor sees it.
func electionLine(e *redundancy.ElectionState) string {
	var s string
	switch {
	case e.Leading:
		s = fmt.Sprintf("this monitor (%s) leads, token %d", e.ID, e.Token)
	case e.Leader != "":
		s = fmt.Sprintf("%s leads; this monitor (%s) follows: it checks the shared targets and leaves their repairs to the leader", e.Leader, e.ID)
	default:
		s = fmt.Sprintf("no leader known; this monitor (%s) is campaigning", e.ID)
	}
	if e.Error != "" {
		s += "; last error: " + oneLine(e.Error)
	}
	return s
}
