// Command ultimate is "ultimate redundancy": one orchestrator per system
// (PM2, GitHub Actions, Netlify) nested under a master, plus a store for
// the providers' records (the known-good PM2 apps and Netlify deploys) and
// escalation reports. Like every launcher of redundancy/launch it pages
// through the file's alerts (webhooks, commands), keeps its state and
// silences, serves its endpoint and, with webhook secrets set, receives
// GitHub's and Netlify's deliveries.
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
	"os"
	"path/filepath"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd"
	"github.com/uras-dev/uras/redundancy/launch"
)

// defaultConfig is read without -config: it watches what it finds here
// (the local PM2, ./.github/workflows, ./netlify/functions) and notes
// what it skips.
const defaultConfig = `
logs: {dir: logs, level: info}
state: {dir: .uras}
listen: 127.0.0.1:9321
hooks_listen: 127.0.0.1:9322
policy: {timeout: 30s, backoff: {base: 10s, max: 5m}, budget: {max: 5, window: 10m}}
alerts: {renotify: 4h, flap: {count: 3, window: 1h}}
pm2: {optional: true, client: auto}
github: {optional: true, checkout: .}
netlify: {optional: true, functions_dir: netlify/functions, manifest: .netlify/functions/manifest.json}
`

// Config is the configuration file: the launcher's keys, the cluster and
// one section per system.
type Config struct {
	launch.Config `yaml:",inline"`        // logs, state, listen, hooks_listen, policy, alerts
	Cluster       *etcd.Cluster           `yaml:"cluster" launch:"setting"` // several monitors; none: this one acts alone
	PM2           *pm2.TargetConfig       `yaml:"pm2"`
	GitHub        *ghactions.TargetConfig `yaml:"github"`
	Netlify       *netlify.TargetConfig   `yaml:"netlify"`
}

var command = launch.Command[Config]{ // demo.go (go build -tags demo) adds the demo verb
	Name: "ultimate", Title: "uras ultimate redundancy",
	Summary: "ultimate keeps PM2, GitHub Actions and Netlify automations alive: one orchestrator\nper system under a master, with alerts, persisted state and escalation reports.",
	Help: "-config FILE: YAML (default: the embedded one). Environment: GITHUB_TOKEN, NETLIFY_AUTH_TOKEN\n" +
		"(or the variables token_env names), GITHUB_WEBHOOK_SECRET, NETLIFY_WEBHOOK_SECRET (webhook_secret_env:\n" +
		"deliveries on hooks_listen), URAS_ENDPOINT_TOKEN (the endpoint's bearer token), URAS_ETCD_PASSWORD.",
	Load:  launch.YAML[Config](defaultConfig),
	Build: build,
}

func main() { os.Exit(launch.Main(command)) }

// advice closes every escalation report.
const advice = "automatic recovery stopped for this target until it is healthy for a while; " +
	"fix the findings, then run `recover -force` to retry now"

// build gives each system its own orchestrator, nested under the master;
// every orchestrator writes escalation reports besides what b.Options
// gives (alerts, state file).
func build(ctx context.Context, cfg Config, b launch.Build) (_ *launch.System, err error) {
	store, err := redundancy.NewFileStore(filepath.Join(cfg.State.Dir, "store")) // the providers' records
	if err != nil {
		return nil, err
	}
	cluster, err := etcd.Join(ctx, cfg.Cluster, b.Secret, "github", "netlify") // nil: no cluster section
	if err != nil {
		return nil, err
	}
	reports, err := redundancy.NewEscalationNotifier(filepath.Join(cfg.State.Dir, "escalations"),
		redundancy.WithEscalationAdvice(advice), redundancy.WithEscalationLogger(b.Logger("")), redundancy.WithEscalationRedactor(b.Redactor))
	if err != nil {
		return nil, errors.Join(err, cluster.Close())
	}
	sys := &launch.System{Close: func(ctx context.Context) error { // delivers what was queued, then leaves the cluster
		return errors.Join(reports.Close(ctx), cluster.Close())
	}}
	defer func() {
		if err != nil {
			err = errors.Join(err, sys.Close(ctx))
		}
	}()
	groups, err := targets(ctx, cfg, b, store, cluster)
	if err != nil {
		return nil, err
	}
	orchestrator := func(part string) *redundancy.Orchestrator {
		opts := append(b.Options(part), redundancy.WithNotifier(reports))
		return redundancy.New(append(opts, cluster.Options(part)...)...) // in a cluster, shared targets act on the leader only
	}
	sys.Root = orchestrator("")
	// A system keeps the file's backoff and budget under the master; the
	// nesting defaults (redundancy.Nest) say when the master steps in.
	p := cfg.Policy.Policy()
	nest := redundancy.Policy{SuccessThreshold: p.SuccessThreshold, Backoff: p.Backoff, Budget: p.Budget, RetryDelay: p.RetryDelay}
	for _, g := range groups {
		child := orchestrator(g.Name)
		if err := sys.AddGroup(child, g); err != nil {
			return nil, err
		}
		if len(g.Targets) > 0 {
			if err := sys.Root.Add(redundancy.Nest(g.Name, child, nest)); err != nil {
				return nil, err
			}
		}
	}
	return sys, nil
}

// targets builds the targets of each system, with the secrets read from
// the variables the file names. In a cluster, Netlify's known-good deploys
// are the group's, kept in etcd beside its election.
func targets(ctx context.Context, cfg Config, b launch.Build, store redundancy.Store, cluster *etcd.Membership) ([]redundancy.Group, error) {
	pm, err1 := pm2.NewTargets(ctx, cfg.PM2, pm2.WithLogger(b.Logger("pm2")), pm2.WithStore(store))
	gh, err2 := ghactions.NewTargets(ctx, cfg.GitHub, ghactions.WithLogger(b.Logger("github")), ghactions.WithMetrics(b.Metrics),
		ghactions.WithToken(b.Secret(cfg.GitHub.TokenVar())), ghactions.WithWebhookSecret(b.Secret(cfg.GitHub.WebhookSecretVar())),
		ghactions.WithBackupDir(filepath.Join(cfg.State.Dir, "workflow-backup")))
	nf, err3 := netlify.NewTargets(ctx, cfg.Netlify, netlify.WithLogger(b.Logger("netlify")), netlify.WithStore(cluster.Store("netlify", store)),
		netlify.WithToken(b.Secret(cfg.Netlify.TokenVar())), netlify.WithWebhookSecret(b.Secret(cfg.Netlify.WebhookSecretVar())),
		netlify.WithBuildHookURL(b.Secret(cfg.Netlify.BuildHookVar())))
	return []redundancy.Group{pm, gh, nf}, errors.Join(err1, err2, err3)
}
