package system

import (
	"io"
	"slices"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/redundancy/launch"
)

// Title is the dashboard's heading of a layout.
func (l Layout) Title() string {
	switch l {
	case Launcher:
		return "uras comprehensive launcher"
	case Master:
		return "uras master orchestrator"
	case Ultimate:
		return "uras ultimate redundancy"
	}
	return "uras " + string(l)
}

// Launch returns the system as the public launcher runs and shows it: the
// root, one part per system (under the launcher layout, parts of the one
// orchestrator, by target), the event sources, Close and the notes.
func (s *System) Launch() *launch.System {
	ls := &launch.System{Root: s.Root, Watch: s.Watch, Close: s.Close}
	for _, n := range s.Notes {
		ls.Notes = append(ls.Notes, n.String())
	}
	if s.Layout != Launcher {
		for _, p := range s.Parts {
			ls.Parts = append(ls.Parts, launch.Part{Name: p.System, Orch: p.Orch})
		}
		return ls
	}
	bySys := map[string][]string{}
	var order []string
	for _, name := range s.Root.Names() {
		sys := s.SystemOf(name)
		if _, ok := bySys[sys]; !ok {
			order = append(order, sys)
		}
		bySys[sys] = append(bySys[sys], name)
	}
	slices.SortStableFunc(order, func(a, b string) int { return systemRank(a) - systemRank(b) })
	for _, sys := range order {
		ls.Parts = append(ls.Parts, launch.Part{Name: sys, Orch: s.Root, Targets: bySys[sys]})
	}
	return ls
}

func systemRank(sys string) int {
	if i := slices.Index(config.Systems, sys); i >= 0 {
		return i
	}
	return len(config.Systems)
}

// Status returns the state of every target, as the dashboard shows it.
func (s *System) Status() launch.Status {
	st := s.Launch().Status()
	st.Mode, st.Title = string(s.Layout), s.Layout.Title()
	return st
}

// Render writes the dashboard (launch.Render).
func Render(w io.Writer, st launch.Status) { launch.Render(w, st) }
