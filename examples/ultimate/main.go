// Command ultimate is "ultimate redundancy": one orchestrator per system
// (PM2, GitHub Actions, Netlify) nested under a master, plus webhook
// alerts (alerts.webhooks), persisted state (state files, and a store for
// the providers' records: the known-good PM2 apps and Netlify deploys),
// escalation reports and the status endpoint.
//
//	go run ./examples/ultimate monitor          # the dashboard, until Ctrl-C
//	go run ./examples/ultimate health-check     # check what the default config finds here
//	go run -tags demo ./examples/ultimate demo  # repair faults staged in an embedded environment
//
// It uses the public API only: copy this file into your own module to
// write a launcher of your own.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// defaultConfig is read without -config: it watches what it finds here
// (the local PM2, ./.github/workflows, ./netlify/functions) and notes
// what it skips.
const defaultConfig = `
logs: {dir: logs, level: info}
state: {dir: .uras}
listen: 127.0.0.1:9321
policy: {interval: 30s, timeout: 30s, failure_threshold: 3, backoff: {base: 10s, max: 5m}, budget: {max: 5, window: 10m}}
pm2: {optional: true, client: auto}
github: {optional: true, checkout: .}
netlify: {optional: true, functions_dir: netlify/functions, manifest: .netlify/functions/manifest.json}
`

// Config is the configuration file: the launcher's keys and one section
// per system.
type Config struct {
	launch.Config `yaml:",inline"`        // logs, state, listen, policy, alerts
	PM2           *pm2.TargetConfig       `yaml:"pm2"`
	GitHub        *ghactions.TargetConfig `yaml:"github"`
	Netlify       *netlify.TargetConfig   `yaml:"netlify"`
}

var command = launch.Command[Config]{ // demo.go (go build -tags demo) adds the demo verb
	Name: "ultimate", Title: "uras ultimate redundancy",
	Summary: "ultimate keeps PM2, GitHub Actions and Netlify automations alive: one orchestrator\nper system under a master, with webhook alerts, persisted state and escalation reports.",
	Help:    "-config FILE: YAML (default: the embedded one). Environment: GITHUB_TOKEN, NETLIFY_AUTH_TOKEN\n(or the variables token_env names), URAS_ENDPOINT_TOKEN (the endpoint's bearer token).",
	Load:    launch.YAML[Config](defaultConfig),
	Build:   build,
}

func main() { os.Exit(launch.Main(command)) }

// advice closes every escalation report.
const advice = "automatic recovery stopped for this target until it is healthy for a while; " +
	"fix the findings, then run `recover -force` to retry now"

// build gives each system its own orchestrator, nested under the master;
// every orchestrator alerts the webhooks, writes escalation reports and,
// in the monitor, persists its state.
func build(ctx context.Context, cfg Config, b launch.Build) (_ *launch.System, err error) {
	store, err := redundancy.NewFileStore(filepath.Join(cfg.State.Dir, "store")) // the providers' records
	if err != nil {
		return nil, err
	}
	groups, err := targets(ctx, cfg, b, store)
	if err != nil {
		return nil, err
	}
	reports, err := redundancy.NewEscalationNotifier(filepath.Join(cfg.State.Dir, "escalations"),
		redundancy.WithEscalationAdvice(advice), redundancy.WithEscalationLogger(b.Logger("")), redundancy.WithEscalationRedactor(b.Redactor))
	if err != nil {
		return nil, err
	}
	hooks, err := cfg.Webhooks(b) // alerts.webhooks
	if err != nil {
		return nil, errors.Join(err, reports.Close(ctx))
	}
	sys := &launch.System{Close: func(ctx context.Context) error { // delivers what the notifiers queued
		errs := []error{reports.Close(ctx)}
		for _, h := range hooks {
			errs = append(errs, h.Close(ctx))
		}
		return errors.Join(errs...)
	}}
	defer func() {
		if err != nil {
			err = errors.Join(err, sys.Close(ctx))
		}
	}()
	alerts := []redundancy.Option{redundancy.WithNotifier(reports)}
	for i, h := range hooks {
		alerts = append(alerts, redundancy.WithAlertNotifier(h)) // alerts (open, renotify, resolved), not every event
		b.Metrics.Webhook(fmt.Sprintf("alerts-%d", i), h)        // its queue and deliveries on /metrics
	}
	if len(hooks) == 0 {
		sys.Notes = append(sys.Notes, "alerts: no webhooks configured: alerts are logged only")
	}
	orchestrator := func(name, part string) *redundancy.Orchestrator {
		opts := append(b.Options(part), alerts...)
		if !b.OneShot { // the state files belong to the running monitor
			opts = append(opts, redundancy.WithStateFile(filepath.Join(cfg.State.Dir, "state-"+name+".json")))
		}
		return redundancy.New(opts...)
	}
	sys.Root = orchestrator("master", "")
	// A system keeps the file's backoff and budget under the master; the
	// nesting defaults (redundancy.Nest) say when the master steps in.
	p := cfg.Policy.Policy()
	nest := redundancy.Policy{SuccessThreshold: p.SuccessThreshold, Backoff: p.Backoff, Budget: p.Budget, RetryDelay: p.RetryDelay}
	for _, g := range groups {
		sys.Notes = append(sys.Notes, g.Notes...)
		if len(g.Targets) == 0 {
			continue
		}
		child := orchestrator(g.Name, g.Name)
		for _, t := range g.Targets {
			if err := child.Add(t); err != nil {
				return nil, err
			}
		}
		if err := sys.Root.Add(redundancy.Nest(g.Name, child, nest)); err != nil {
			return nil, err
		}
		sys.Parts = append(sys.Parts, launch.Part{Name: g.Name, Orch: child})
	}
	return sys, nil
}

// targets builds the targets of each system, with the tokens read from
// the variables the file names.
func targets(ctx context.Context, cfg Config, b launch.Build, store redundancy.Store) ([]redundancy.Group, error) {
	pm, err1 := pm2.NewTargets(ctx, cfg.PM2, pm2.WithLogger(b.Logger("pm2")), pm2.WithStore(store))
	gh, err2 := ghactions.NewTargets(ctx, cfg.GitHub, ghactions.WithLogger(b.Logger("github")),
		ghactions.WithToken(b.Secret(cfg.GitHub.TokenVar())), ghactions.WithBackupDir(filepath.Join(cfg.State.Dir, "workflow-backup")))
	nf, err3 := netlify.NewTargets(ctx, cfg.Netlify, netlify.WithLogger(b.Logger("netlify")),
		netlify.WithToken(b.Secret(cfg.Netlify.TokenVar())), netlify.WithBuildHookURL(b.Secret(cfg.Netlify.BuildHookVar())), netlify.WithStore(store))
	return []redundancy.Group{pm, gh, nf}, errors.Join(err1, err2, err3)
}
