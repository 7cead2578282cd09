// Command launcher is the "comprehensive launcher" mode: one orchestrator
// over every configured target (PM2, GitHub Actions, Netlify).
//
//	go run ./examples/launcher start      # detached; PID file and logs
//	go run ./examples/launcher status
//	go run ./examples/launcher stop
//	go run ./examples/launcher help
package main

import (
	"os"

	"github.com/uras-dev/uras/internal/cli"
	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/demo"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy/launch"
)

const logFile = "comprehensive-launcher.log"

func main() {
	os.Exit(launch.Main(launch.Command[*config.Config]{
		Name:    "launcher",
		Title:   system.Launcher.Title(),
		Summary: "launcher keeps PM2, GitHub Actions and Netlify automations alive with one orchestrator\nover every configured target.",
		Help:    cli.Help,
		Load:    cli.Load,
		Build:   cli.Build(system.Launcher),
		Verbs:   map[string]launch.Verb{"demo": demo.Verb(system.Launcher, logFile)},
	}))
}
