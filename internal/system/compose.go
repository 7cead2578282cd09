package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// Layout says how the orchestrators are composed.
type Layout string

// The layouts of the three example commands.
const (
	// Launcher is one orchestrator over every target.
	Launcher Layout = "launcher"
	// Master is one orchestrator per system, each a target of a master
	// orchestrator that recovers a system as a whole.
	Master Layout = "master"
	// Ultimate is Master plus webhook alerts, persisted state and
	// escalation reports.
	Ultimate Layout = "ultimate"
)

// Part is one orchestrator of a System and the system it watches.
type Part struct {
	System string
	Orch   *redundancy.Orchestrator
}

// System is the composed orchestrators of one command.
type System struct {
	Layout Layout
	// Root is what runs: the only orchestrator (launcher) or the master.
	Root *redundancy.Orchestrator
	// Parts are the orchestrators that hold the targets: the root itself
	// (launcher) or one per system (master, ultimate).
	Parts []Part
	// Notes say what is not watched.
	Notes []Note
	// EscalationDir is where escalation reports go (ultimate).
	EscalationDir string

	systemOf map[string]string // target -> system
	webhooks []*redundancy.WebhookNotifier
	watchers []func(context.Context) error
}

// Trigger has the named target checked at once: by the orchestrator that
// holds it and, under a master, by the master for the target's system
// (which ticks that system's orchestrator). Event sources call it.
func (s *System) Trigger(target string) {
	sys := s.SystemOf(target)
	for _, p := range s.Parts {
		if p.System == sys || p.Orch == s.Root {
			p.Orch.Trigger(target)
		}
	}
	if s.Root != nil && s.Layout != Launcher {
		s.Root.Trigger(sys)
	}
}

// Watch follows the event sources of the targets (PM2's event socket when
// the native client is in use) until ctx ends. Run it beside Root.Run.
func (s *System) Watch(ctx context.Context) error {
	if len(s.watchers) == 0 {
		return nil
	}
	errs := make(chan error, len(s.watchers))
	for _, w := range s.watchers {
		go func() { errs <- w(ctx) }()
	}
	var all []error
	for range s.watchers {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// BuildOptions are the knobs of Build besides the configuration.
type BuildOptions struct {
	Deps Deps
	// Logger is the general logger (nil discards).
	Logger *slog.Logger
	// Notifiers receive the events of every part.
	Notifiers []redundancy.Notifier
	// DryRun plans without acting.
	DryRun bool
	// NoState disables the state files even in ultimate mode (one-shot verbs
	// use it so they do not race the running monitor's state).
	NoState bool
	// Redactor redacts the escalation reports (nil: the patterns only).
	Redactor *redundancy.Redactor
}

// Build composes the orchestrators of layout over the configured targets.
func Build(ctx context.Context, cfg *config.Config, layout Layout, bo BuildOptions) (*System, error) {
	logger := bo.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &System{Layout: layout, systemOf: map[string]string{}}
	deps := bo.Deps
	if deps.Trigger == nil {
		deps.Trigger = s.Trigger
	}
	deps.watchers = &s.watchers
	groups, notes, err := Targets(ctx, cfg, deps)
	if err != nil {
		return nil, err
	}
	s.Notes = notes
	for _, g := range groups {
		for _, t := range g.Targets {
			s.systemOf[t.Name] = g.System
		}
	}
	common := []redundancy.Option{redundancy.WithDryRun(bo.DryRun)}
	for _, n := range bo.Notifiers {
		common = append(common, redundancy.WithNotifier(n))
	}
	if layout == Ultimate {
		for i, w := range cfg.Alerts.Webhooks {
			wn, err := redundancy.NewWebhookNotifier(w.URL, redundancy.WithWebhookLogger(logger))
			if err != nil {
				s.closeWebhooks(ctx)
				return nil, fmt.Errorf("alerts.webhooks[%d]: %w", i, err)
			}
			s.webhooks = append(s.webhooks, wn)
			common = append(common, redundancy.WithNotifier(wn))
		}
		if len(cfg.Alerts.Webhooks) == 0 {
			s.Notes = append(s.Notes, Note{"alerts", "no webhooks configured: events are logged only"})
		}
		s.EscalationDir = filepath.Join(cfg.State.Dir, "escalations")
		common = append(common, redundancy.WithNotifier(&escalationReporter{dir: s.EscalationDir, logger: logger, sys: s, red: bo.Redactor}))
	}
	stateOpt := func(name string) []redundancy.Option {
		if layout != Ultimate || bo.NoState {
			return nil
		}
		return []redundancy.Option{redundancy.WithStateFile(filepath.Join(cfg.State.Dir, "state-"+name+".json"))}
	}
	if layout == Ultimate && !bo.NoState {
		if err := os.MkdirAll(cfg.State.Dir, 0o750); err != nil {
			s.closeWebhooks(ctx)
			return nil, fmt.Errorf("state.dir: %w", err)
		}
	}
	child := func(system string) *redundancy.Orchestrator {
		l := logger
		if bo.Deps.Logger != nil {
			l = bo.Deps.Logger(system)
		}
		opts := append([]redundancy.Option{redundancy.WithLogger(l)}, common...)
		return redundancy.New(append(opts, stateOpt(system)...)...)
	}
	if layout == Launcher {
		root := child("launcher")
		for _, g := range groups {
			for _, t := range g.Targets {
				if err := root.Add(t); err != nil {
					return nil, err
				}
			}
		}
		s.Root = root
		s.Parts = []Part{{System: "all", Orch: root}}
		return s, nil
	}
	masterOpts := append([]redundancy.Option{redundancy.WithLogger(logger)}, common...)
	master := redundancy.New(append(masterOpts, stateOpt("master")...)...)
	for _, g := range groups {
		o := child(g.System)
		interval := time.Duration(0)
		for _, t := range g.Targets {
			if err := o.Add(t); err != nil {
				return nil, err
			}
			iv := t.Policy.Interval
			if iv == 0 {
				iv = redundancy.DefaultInterval
			}
			if interval == 0 || iv < interval {
				interval = iv
			}
		}
		if err := master.Add(redundancy.Target{Name: g.System, Checker: o, Recoverer: o, Policy: MasterPolicy(cfg, interval)}); err != nil {
			return nil, err
		}
		s.Parts = append(s.Parts, Part{System: g.System, Orch: o})
	}
	s.Root = master
	return s, nil
}

// MasterPolicy is the policy of a system under the master: checked as
// often as its most frequent target (each check ticks the system's own
// orchestrator, which recovers on its targets' policies), with room for
// those recoveries, and recovered as a whole only when the system stays
// failing for longer than its own policies would tolerate.
func MasterPolicy(cfg *config.Config, interval time.Duration) redundancy.Policy {
	p := cfg.Policy.Redundancy()
	p.Interval = interval
	p.Timeout = 10 * time.Minute
	p.ActionTimeout = 10 * time.Minute
	th := p.FailureThreshold
	if th == 0 {
		th = redundancy.DefaultFailureThreshold
	}
	p.FailureThreshold = th + 2
	p.Retry = -1
	return p
}

// SystemOf returns the system a target belongs to.
func (s *System) SystemOf(target string) string {
	if sys, ok := s.systemOf[target]; ok {
		return sys
	}
	return systemOf(target)
}

// Empty reports whether nothing is watched.
func (s *System) Empty() bool { return len(s.systemOf) == 0 }

// Close delivers queued alerts and stops the webhook notifiers.
func (s *System) Close(ctx context.Context) error {
	return s.closeWebhooks(ctx)
}

func (s *System) closeWebhooks(ctx context.Context) error {
	var errs []error
	for _, w := range s.webhooks {
		errs = append(errs, w.Close(ctx))
	}
	s.webhooks = nil
	return errors.Join(errs...)
}

// Subscribe calls fn for every event of every part (the targets' events),
// and returns the function that cancels it.
func (s *System) Subscribe(fn func(Part, redundancy.Event)) func() {
	var cancels []func()
	for _, p := range s.Parts {
		p := p
		cancels = append(cancels, p.Orch.Subscribe(func(e redundancy.Event) { fn(p, e) }))
	}
	return func() {
		for _, c := range cancels {
			c()
		}
	}
}

// CheckNow checks every target once without recovering and returns the
// status.
func (s *System) CheckNow(ctx context.Context) launch.Status {
	s.Root.CheckNow(ctx)
	return s.Status()
}
