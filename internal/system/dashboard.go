package system

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Status is the whole state of a System at one moment, as `status -json`
// prints it and the status file holds it.
type Status struct {
	Mode    Layout            `json:"mode"`
	Time    time.Time         `json:"time"`
	Status  redundancy.Status `json:"status"`
	Systems []SystemStatus    `json:"systems"`
	Notes   []Note            `json:"notes,omitempty"`
	// PID is the monitor's process id when a running monitor wrote it.
	PID int `json:"pid,omitempty"`
}

// SystemStatus is one system's targets.
type SystemStatus struct {
	Name    string                   `json:"name"`
	Status  redundancy.Status        `json:"status"`
	Targets []redundancy.TargetState `json:"targets"`
	// Master is the master orchestrator's view of the system (master,
	// ultimate): its own recoveries and budget.
	Master *redundancy.TargetState `json:"master,omitempty"`
}

// Status returns the current state of every target.
func (s *System) Status() Status {
	root := s.Root.Snapshot()
	st := Status{Mode: s.Layout, Time: root.Time, Status: redundancy.StatusHealthy, Notes: s.Notes}
	if st.Time.IsZero() {
		st.Time = time.Now()
	}
	bySys := map[string]*SystemStatus{}
	var order []string
	for _, p := range s.Parts {
		for _, ts := range p.Orch.Snapshot().Targets {
			sys := s.SystemOf(ts.Name)
			ss, ok := bySys[sys]
			if !ok {
				ss = &SystemStatus{Name: sys, Status: redundancy.StatusHealthy}
				bySys[sys] = ss
				order = append(order, sys)
			}
			ss.Targets = append(ss.Targets, ts)
			ss.Status = redundancy.Worse(ss.Status, ts.Status)
		}
	}
	if s.Layout != Launcher {
		for _, ts := range root.Targets {
			if ss, ok := bySys[ts.Name]; ok {
				ts := ts
				ts.History = nil
				ss.Master = &ts
			}
		}
	}
	for _, name := range order {
		st.Systems = append(st.Systems, *bySys[name])
		st.Status = redundancy.Worse(st.Status, bySys[name].Status)
	}
	return st
}

// Render writes the dashboard: one row per target with its status, last
// check, findings, recoveries and budget left, then the notes.
func Render(w io.Writer, st Status) {
	title := map[Layout]string{Launcher: "comprehensive launcher", Master: "master orchestrator", Ultimate: "ultimate redundancy"}[st.Mode]
	fmt.Fprintf(w, "uras %s — overall %s at %s\n", title, strings.ToUpper(st.Status.String()), st.Time.Local().Format("2006-01-02 15:04:05"))
	if len(st.Systems) == 0 {
		fmt.Fprintln(w, "  nothing is watched")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SYSTEM\tTARGET\tSTATUS\tLAST CHECK\tFINDINGS\tRECOVERIES\tBUDGET LEFT")
		for _, ss := range st.Systems {
			for _, ts := range ss.Targets {
				last := "never"
				if !ts.LastCheck.IsZero() {
					last = ts.LastCheck.Local().Format("15:04:05")
				}
				status := ts.Status.String()
				if ts.Escalated {
					status += " (escalated)"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%d\n", ss.Name, ts.Name, status, last, findings(ts), ts.Recoveries, ts.BudgetLeft)
			}
		}
		_ = tw.Flush()
		var parts []string
		for _, ss := range st.Systems {
			p := ss.Name + " " + ss.Status.String()
			if ss.Master != nil && ss.Master.Recoveries > 0 {
				p += fmt.Sprintf(" (system-wide recoveries %d)", ss.Master.Recoveries)
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "  systems: %s\n", strings.Join(parts, " · "))
	}
	notes := append([]Note(nil), st.Notes...)
	sort.SliceStable(notes, func(i, j int) bool { return notes[i].System < notes[j].System })
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func findings(ts redundancy.TargetState) string {
	fs := ts.Report.Findings
	if len(fs) == 0 {
		if ts.Report.Err != nil || ts.Error != "" {
			msg := ts.Error
			if msg == "" {
				msg = ts.Report.Err.Error()
			}
			return "check failed: " + clip(msg, 60)
		}
		return "-"
	}
	out := clip(fs[0].Subject+": "+string(fs[0].Problem), 60)
	if len(fs) > 1 {
		out += fmt.Sprintf(" (+%d more)", len(fs)-1)
	}
	return out
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
