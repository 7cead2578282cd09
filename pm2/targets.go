package pm2

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"

	"github.com/uras-dev/uras/redundancy"
)

// targetsOptions are the options NewTargets takes.
var targetsOptions = []string{"WithClient", "WithLogger", "WithClock", "WithStore", "WithName", "WithRunner", "WithMaintenanceWindow"}

// NewTargets builds the target of one PM2_HOME from cfg: a Checker and
// its Recoverer sharing one Config, one client and one Store, with cfg's
// policy, criticality and alert policy, and the problem dependencies of
// ProblemDeps (a dead daemon is one alert, not one per app). The Group and
// the target are named "pm2" (WithName).
//
// The client is the one cfg.Client asks for (OpenClient over a CLI with
// cfg's home, binary and timeout): with the native client the target comes
// with its event source (Target.Source), so that a process exiting wakes
// its check at once while the orchestrator runs; the checker is then an
// EventChecker, which also counts crash loops from the daemon's events.
//
// It takes WithClient (instead of the client cfg describes), WithStore
// (the known-good process list and the ladders; default a MemoryStore
// shared by the checker and the recoverer), WithClock, WithLogger,
// WithName, WithRunner and WithMaintenanceWindow.
//
// A nil cfg (a section absent from a file) builds nothing, with the note
// "pm2: not configured". With cfg.Optional, a home with nothing to watch
// (no daemon, no pid file, no socket, no dump) or no pm2 binary and no
// daemon is a note, not a target. Errors start with "pm2: "; a bad cfg is
// its Validate error.
func NewTargets(ctx context.Context, cfg *TargetConfig, opts ...Option) (redundancy.Group, error) {
	s, err := apply("NewTargets", opts, targetsOptions...)
	g := redundancy.Group{Name: s.name}
	if g.Name == "" {
		g.Name = "pm2"
	}
	if err != nil {
		return g, err
	}
	if cfg == nil {
		g.Notes = append(g.Notes, g.Name+": not configured")
		return g, nil
	}
	if err := cfg.Validate(); err != nil {
		return g, err
	}
	log := s.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	note := func(format string, args ...any) {
		n := g.Name + ": " + fmt.Sprintf(format, args...)
		log.Debug("pm2 target: note", "note", n)
		g.Notes = append(g.Notes, n)
	}
	home := cfg.Home
	client := s.client
	if client == nil {
		if home == "" {
			home = pm2Home()
		}
		// An optional section skips a home with nothing to watch; a daemon
		// that runs, or ran and left its pid file, socket or a dump of apps
		// to bring back, is watched (a dead daemon is what uras is for).
		present := InspectHome(ctx, home).Present()
		bin := cfg.Binary
		if bin == "" {
			if p, err := exec.LookPath("pm2"); err == nil {
				bin = p
			} else if cfg.Optional && !present {
				note("not present (pm2 is not on PATH): skipped")
				return g, nil
			} else if cfg.Optional {
				note("pm2 is not on PATH: %s is watched, but repairs that need the pm2 command will fail", home)
			}
		}
		if cfg.Optional && !present {
			note("not present (no PM2 daemon running in %s, nor a dump to bring one back from): skipped", home)
			return g, nil
		}
		copts := []Option{WithHome(home), WithBinary(bin), WithTimeout(cfg.CLITimeout)}
		if s.runner != nil {
			copts = append(copts, WithRunner(s.runner))
		}
		client, err = OpenClient(ctx, cfg.Client, NewCLI(copts...), NativeOptions{Timeout: cfg.RPCTimeout})
		if err != nil {
			return g, fmt.Errorf("pm2: %w", err)
		}
	}
	pc := cfg.config(home)
	pc.Runner, pc.Clock, pc.MaintenanceWindow, pc.Store = s.runner, s.clock, s.window, s.store
	if pc.Store == nil {
		pc.Store = redundancy.NewMemoryStore()
	}
	if len(cfg.Apps) == 0 {
		note("no apps listed: every app the daemon knows is expected online")
	}
	checker := NewChecker(client, pc)
	t := redundancy.Target{Name: g.Name, Checker: checker, Recoverer: NewRecoverer(client, pc), Policy: cfg.Policy.Policy(),
		Criticality: cfg.criticality(), Alerts: cfg.Alerts.Policy(), ProblemDeps: ProblemDeps()}
	if native, ok := client.(*Native); ok {
		// The daemon announces exits and restarts on its event socket: a
		// crash wakes the check at once; periodic checks go on as a net.
		src := &eventSource{}
		ec := NewEventChecker(checker, native, EventCheckerOptions{Target: t.Name, Trigger: src.trigger, Apps: pc.appNames()})
		src.ec = ec
		t.Checker, t.Source = ec, src
		note("native client: daemon events wake the check at once")
	}
	log.Debug("pm2 target", "target", t.Name, "home", pc.Home, "client", fmt.Sprintf("%T", client), "apps", len(pc.Apps),
		"events", t.Source != nil, "store", s.store != nil)
	g.Targets = append(g.Targets, t)
	return g, nil
}

// eventSource is an EventChecker seen as the target's
// redundancy.EventSource: while Watch runs, the checker's trigger wakes
// the target.
type eventSource struct {
	ec   *EventChecker
	mu   sync.Mutex
	wake func()
}

var _ redundancy.EventSource = (*eventSource)(nil)

// Watch follows the daemon's events until ctx ends (EventChecker.Watch).
func (s *eventSource) Watch(ctx context.Context, wake func()) error {
	s.mu.Lock()
	s.wake = wake
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.wake = nil
		s.mu.Unlock()
	}()
	return s.ec.Watch(ctx)
}

func (s *eventSource) trigger(string) {
	s.mu.Lock()
	wake := s.wake
	s.mu.Unlock()
	if wake != nil {
		wake()
	}
}
