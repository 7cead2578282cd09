// Package uras is a Go SDK for redundancy automation: it watches the
// automations a web team depends on and repairs them before a person has to.
//
// The SDK is a core and three providers:
//
//   - [github.com/uras-dev/uras/redundancy] is the core. An Orchestrator
//     checks targets on a schedule, decides from each target's Policy
//     (failure threshold, backoff, budget) whether to recover, and runs the
//     recovery plan a target's Recoverer returns, action by action, with
//     retries. It escalates when the budget is spent, sends events to
//     subscribers and notifiers (log, webhook), persists its state and
//     serves an application/health+json endpoint. Orchestrators nest.
//   - [github.com/uras-dev/uras/pm2] keeps PM2-managed Node.js processes,
//     the PM2 daemon, its dump file and its logs healthy.
//   - [github.com/uras-dev/uras/ghactions] keeps GitHub Actions workflows
//     valid, enabled and green.
//   - [github.com/uras-dev/uras/netlify] keeps Netlify Functions, their
//     manifest and the site's deploys healthy.
//
// Each provider builds ready targets the same way, NewTargets(ctx, cfg,
// options...), from a TargetConfig that is also its section of a YAML
// file, and ships a fake for users' tests: redundancytest (fake clock,
// scripted checkers and recoverers, event recorder), pm2test, ghtest and
// netlifytest.
//
// [github.com/uras-dev/uras/redundancy/launch] is the shell every
// launcher shares: verbs, PID file, monitor, dashboard, endpoint, logs and
// the YAML loader. The commands under examples/ (launcher, master,
// ultimate) show three ways to compose orchestrators with the public API
// only; copy one to write your own.
//
// This package holds documentation only.
package uras
