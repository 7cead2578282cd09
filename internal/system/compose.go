package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

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

	systemOf    map[string]string // target -> system
	webhooks    []*redundancy.WebhookNotifier
	escalations *redundancy.EscalationNotifier
	watchers    []func(context.Context) error
}

// Trigger has the named target checked at once by the orchestrator that
// holds it; under a master, that check then wakes the master's target for
// the system (redundancy.Nest). Event sources call it.
func (s *System) Trigger(target string) {
	sys := s.SystemOf(target)
	for _, p := range s.Parts {
		if p.System == sys || p.Orch == s.Root {
			p.Orch.Trigger(target)
		}
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
	// Redactor redacts everything the orchestrators, webhooks and reports
	// let out; the configuration's secrets are added to it (nil: a new one).
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
	red := bo.Redactor // the launcher's: its secrets, the environment's and the endpoint token
	if red == nil {
		red = redundancy.NewRedactor()
	}
	red.Add(cfg.Secrets()...)
	common := []redundancy.Option{redundancy.WithDryRun(bo.DryRun), redundancy.WithRedactor(red)}
	for _, n := range bo.Notifiers {
		common = append(common, redundancy.WithNotifier(n))
	}
	if layout == Ultimate {
		for i, w := range cfg.Alerts.Webhooks {
			wn, err := redundancy.NewWebhookNotifier(w.URL, redundancy.WithWebhookLogger(logger), redundancy.WithWebhookRedactor(red))
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
		en, err := redundancy.NewEscalationNotifier(s.EscalationDir, redundancy.WithEscalationLogger(logger),
			redundancy.WithEscalationRedactor(red), redundancy.WithEscalationAdvice(escalationAdvice))
		if err != nil {
			s.closeWebhooks(ctx)
			return nil, fmt.Errorf("state.dir: %w", err)
		}
		s.escalations = en
		common = append(common, redundancy.WithNotifier(en))
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
	// Under the master, a system keeps the configured backoff and budget;
	// the nesting defaults (redundancy.Nest) say when the master steps in.
	nestPolicy := cfg.Policy.Redundancy()
	nestPolicy.Interval, nestPolicy.Timeout, nestPolicy.FailureThreshold = 0, 0, 0
	nestPolicy.ActionTimeout, nestPolicy.Retry = 0, 0
	for _, g := range groups {
		o := child(g.System)
		for _, t := range g.Targets {
			if err := o.Add(t); err != nil {
				return nil, err
			}
		}
		if err := master.Add(redundancy.Nest(g.System, o, nestPolicy)); err != nil {
			return nil, err
		}
		s.Parts = append(s.Parts, Part{System: g.System, Orch: o})
	}
	s.Root = master
	return s, nil
}

const escalationAdvice = "automatic recovery stopped for this target until it is healthy for a while; " +
	"fix the findings, then run `recover -force` to retry now"

// SystemOf returns the system a target belongs to.
func (s *System) SystemOf(target string) string {
	if sys, ok := s.systemOf[target]; ok {
		return sys
	}
	return systemOf(target)
}

// Empty reports whether nothing is watched.
func (s *System) Empty() bool { return len(s.systemOf) == 0 }

// Close delivers queued alerts and reports and stops the webhook and
// escalation notifiers.
func (s *System) Close(ctx context.Context) error {
	err := s.closeWebhooks(ctx)
	if s.escalations != nil {
		err = errors.Join(err, s.escalations.Close(ctx))
		s.escalations = nil
	}
	return err
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
