// Command ultimate is the "ultimate redundancy" mode: one orchestrator per
// system (PM2, GitHub Actions, Netlify) nested under a master orchestrator,
// plus webhook alerts (alerts.webhooks), persisted state (state.dir), the
// status endpoint and escalation reports.
//
//	go run ./examples/ultimate demo          # 30 s against an embedded environment
//	go run ./examples/ultimate health-check  # check what the default config finds here
//	go run ./examples/ultimate help
//
// The shell (verbs, PID file, monitor, dashboard, endpoint, logs) is the
// public package redundancy/launch; this main gives it a configuration
// loader, a build function and the demo verb.
package main

import (
	"os"

	"github.com/uras-dev/uras/internal/cli"
	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/demo"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy/launch"
)

const logFile = "ultimate-redundancy.log"

func main() {
	os.Exit(launch.Main(launch.Command[*config.Config]{
		Name:    "ultimate",
		Title:   system.Ultimate.Title(),
		Summary: "ultimate keeps PM2, GitHub Actions and Netlify automations alive: one orchestrator\nper system under a master, with webhook alerts, persisted state and escalation reports.",
		Help:    cli.Help,
		Load:    cli.Load,
		Build:   cli.Build(system.Ultimate),
		Verbs:   map[string]launch.Verb{"demo": demo.Verb(system.Ultimate, logFile)},
	}))
}
