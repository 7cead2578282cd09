package launch

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// renderAlerts writes the open and pending alerts of st's targets, and
// the targets whose repairs are held back, with why.
func renderAlerts(w io.Writer, st Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	n := 0
	for _, ps := range st.Parts {
		for _, ts := range ps.Targets {
			for _, a := range ts.Alerts {
				if n == 0 {
					fmt.Fprintln(w, "  alerts:")
				}
				n++
				state := strings.ToUpper(a.State.String())
				if a.State != redundancy.AlertOpen {
					state = a.State.String()
				}
				var extra []string
				if !a.Opened.IsZero() {
					extra = append(extra, "since "+clock(a.Opened))
				} else {
					extra = append(extra, "seen "+clock(a.FirstSeen))
				}
				if len(a.Affected) > 0 {
					extra = append(extra, fmt.Sprintf("stands for %d", len(a.Affected)))
				}
				if a.HeldBy != "" {
					extra = append(extra, "held by "+a.HeldBy)
				}
				if a.Silenced != "" {
					extra = append(extra, "silenced by "+a.Silenced)
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", state, a.Severity, sanitize(ps.Name+"/"+a.Key), sanitize(clip(a.Summary, 50)), sanitize(strings.Join(extra, ", ")))
			}
		}
	}
	_ = tw.Flush()
	first := true
	for _, ps := range st.Parts {
		for _, ts := range ps.Targets {
			if ts.RepairsHeld == "" {
				continue
			}
			if first {
				fmt.Fprintln(w, "  repairs held:")
				first = false
			}
			fmt.Fprintf(w, "    %s/%s: %s\n", sanitize(ps.Name), sanitize(ts.Name), sanitize(oneLine(ts.RepairsHeld)))
		}
	}
}

// renderSilences writes the silences, active first.
func renderSilences(w io.Writer, list []redundancy.SilenceState) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, "  silences:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, active := range []bool{true, false} {
		for _, s := range list {
			if s.Active == active {
				fmt.Fprintf(tw, "    %s\t%s\t%s\n", sanitize(s.ID), silenceWhen(s), sanitize(silenceWhat(s.Silence)))
			}
		}
	}
	_ = tw.Flush()
}

// silenceWhen says whether s is active and until when, or when it is next.
func silenceWhen(s redundancy.SilenceState) string {
	switch {
	case s.Active && !s.Ends.IsZero():
		return "active until " + stamp(s.Ends)
	case s.Active:
		return "active"
	case !s.Next.IsZero():
		return "next " + stamp(s.Next)
	}
	return "ended"
}

// silenceWhat says what s matches and does, on one line.
func silenceWhat(s redundancy.Silence) string {
	target, problem := s.Target, string(s.Problem)
	if target == "" {
		target = "*"
	}
	if problem == "" {
		problem = "*"
	}
	parts := []string{"target " + target, "problem " + problem}
	if s.Every != "" {
		r := fmt.Sprintf("every %q for %s", s.Every, s.Duration)
		if s.TimeZone != "" {
			r += " " + s.TimeZone
		}
		parts = append(parts, r)
	}
	if s.PauseRepairs {
		parts = append(parts, "pauses repairs")
	}
	if s.Comment != "" {
		parts = append(parts, fmt.Sprintf("%q", clip(s.Comment, 60)))
	}
	return strings.Join(parts, ", ")
}

// clock shows t as a time of day, local.
func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// stamp shows t with its date when it is not today, local.
func stamp(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}
