package launch

import (
	"slices"

	"github.com/uras-dev/uras/redundancy"
)

// Liveness reports whether the system's loop makes progress: the root
// orchestrator's liveness, which covers the orchestrators nested in it
// (redundancy.Orchestrator.Liveness). The monitor's /livez serves it and
// the systemd watchdog is fed only while it holds.
func (s *System) Liveness() redundancy.Liveness {
	return s.Root.Liveness()
}

// Readiness reports whether the watched targets, part by part, are well
// enough per their criticality (redundancy.Snapshot.Readiness): the
// monitor's /readyz. A part whose target in the root is non-critical
// (redundancy.Nest with Target.Criticality) makes all of its targets
// non-critical. Targets are named "part/target".
func (s *System) Readiness() redundancy.Readiness {
	st := s.Status()
	var all []redundancy.TargetState
	for _, ps := range st.Parts {
		for _, ts := range ps.Targets {
			if ps.Parent != nil && ps.Parent.Criticality == redundancy.NonCritical {
				ts.Criticality = redundancy.NonCritical
			}
			if len(st.Parts) > 1 || ps.Name != "all" {
				ts.Name = ps.Name + "/" + ts.Name
			}
			all = append(all, ts)
		}
	}
	r := redundancy.Snapshot{Time: st.Time, Targets: slices.Clip(all)}.Readiness()
	return r
}
