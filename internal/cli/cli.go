package cli

import (
	"context"
	"log/slog"
	"os"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy/launch"
)

// Help is the help text of the example commands: their configuration and
// the environment they read.
const Help = `Every verb takes -config FILE (YAML; default: the embedded default, which
watches the local PM2, ./.github/workflows and ./netlify/functions when present).
Environment: GITHUB_TOKEN, NETLIFY_AUTH_TOKEN (or the variables token_env names),
URAS_ENDPOINT_TOKEN (the endpoint's bearer token; required when listen is not loopback).`

// Load reads the configuration at path (the embedded default when "") with
// the process environment, and returns it with the launcher's settings.
func Load(path string) (*config.Config, launch.Settings, error) {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return nil, launch.Settings{}, err
	}
	return cfg, Settings(cfg), nil
}

// Settings returns what the launcher needs from cfg.
func Settings(cfg *config.Config) launch.Settings {
	s := launch.Settings{
		LogDir: cfg.Logs.Dir, StateDir: cfg.State.Dir, Listen: cfg.Listen, Token: cfg.ListenToken,
		Rotation: launch.Rotation{MaxSizeMB: cfg.Logs.MaxSizeMB, MaxAgeDays: cfg.Logs.MaxAgeDays, Compress: cfg.Logs.Compress == nil || *cfg.Logs.Compress},
		Secrets:  cfg.Secrets(),
	}
	s.Level, _ = cfg.Logs.Level.Parse() // validated by Load
	for sys, l := range cfg.Logs.Levels {
		if s.Levels == nil {
			s.Levels = map[string]slog.Level{}
		}
		s.Levels[sys], _ = l.Parse()
	}
	return s
}

// Build returns the Build function of a layout: the configured targets
// composed as the layout says (internal/system.Build).
func Build(layout system.Layout) func(context.Context, *config.Config, launch.Build) (*launch.System, error) {
	return func(ctx context.Context, cfg *config.Config, b launch.Build) (*launch.System, error) {
		log := b.Logger("")
		log.Debug("composition", "layout", string(layout), "webhooks", len(cfg.Alerts.Webhooks),
			"github_token_set", cfg.GitHub != nil && cfg.GitHub.Token != "",
			"netlify_token_set", cfg.Netlify != nil && cfg.Netlify.Token != "")
		sys, err := system.Build(ctx, cfg, layout, system.BuildOptions{
			Logger: log, Deps: system.Deps{Logger: b.Logger}, DryRun: b.DryRun, NoState: b.OneShot, Redactor: b.Redactor,
		})
		if err != nil {
			return nil, err
		}
		return sys.Launch(), nil
	}
}
