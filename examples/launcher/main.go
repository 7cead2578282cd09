// Command launcher is the "comprehensive launcher": one orchestrator over
// every target the configuration gives (PM2, GitHub Actions, Netlify).
// Try `go run ./examples/launcher help`. It uses the public API only:
// copy this file into your own module to write a launcher of your own.
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

// Config is the configuration file: the launcher's keys and one section
// per system.
type Config struct {
	launch.Config `yaml:",inline"`        // logs, state, listen, hooks_listen, policy, alerts
	PM2           *pm2.TargetConfig       `yaml:"pm2"`
	GitHub        *ghactions.TargetConfig `yaml:"github"`
	Netlify       *netlify.TargetConfig   `yaml:"netlify"`
}

var command = launch.Command[Config]{ // demo.go (go build -tags demo) adds the demo verb
	Name: "launcher", Title: "uras comprehensive launcher",
	Summary: "launcher keeps PM2, GitHub Actions and Netlify automations alive with one orchestrator\nover every configured target.",
	Help: "-config FILE: YAML (default: the embedded one). Environment: GITHUB_TOKEN, NETLIFY_AUTH_TOKEN\n" +
		"(or the variables token_env names), GITHUB_WEBHOOK_SECRET, NETLIFY_WEBHOOK_SECRET (webhook_secret_env:\n" +
		"deliveries on hooks_listen), URAS_ENDPOINT_TOKEN (the endpoint's bearer token).",
	Load:  launch.YAML[Config](defaultConfig),
	Build: build,
}

func main() { os.Exit(launch.Main(command)) }

// build adds every target to one orchestrator; the dashboard shows one
// part per system.
func build(ctx context.Context, cfg Config, b launch.Build) (*launch.System, error) {
	groups, err := targets(ctx, cfg, b)
	if err != nil {
		return nil, err
	}
	sys := &launch.System{Root: redundancy.New(b.Options("")...)}
	for _, g := range groups {
		if err := sys.AddGroup(sys.Root, g); err != nil {
			return nil, err
		}
	}
	return sys, nil
}

// targets builds the targets of each system, with the secrets read from
// the variables the file names.
func targets(ctx context.Context, cfg Config, b launch.Build) ([]redundancy.Group, error) {
	pm, err1 := pm2.NewTargets(ctx, cfg.PM2, pm2.WithLogger(b.Logger("pm2")))
	gh, err2 := ghactions.NewTargets(ctx, cfg.GitHub, ghactions.WithLogger(b.Logger("github")), ghactions.WithMetrics(b.Metrics),
		ghactions.WithToken(b.Secret(cfg.GitHub.TokenVar())), ghactions.WithWebhookSecret(b.Secret(cfg.GitHub.WebhookSecretVar())),
		ghactions.WithBackupDir(filepath.Join(cfg.State.Dir, "workflow-backup")))
	nf, err3 := netlify.NewTargets(ctx, cfg.Netlify, netlify.WithLogger(b.Logger("netlify")),
		netlify.WithToken(b.Secret(cfg.Netlify.TokenVar())), netlify.WithWebhookSecret(b.Secret(cfg.Netlify.WebhookSecretVar())),
		netlify.WithBuildHookURL(b.Secret(cfg.Netlify.BuildHookVar())))
	return []redundancy.Group{pm, gh, nf}, errors.Join(err1, err2, err3)
}
