// Command master is the "master orchestrator" mode: one orchestrator per
// system (PM2, GitHub Actions, Netlify), each a target of a master
// orchestrator that shows per-system and overall health and recovers a
// system as a whole when it stays failing.
//
//	go run ./examples/master monitor -listen 127.0.0.1:9321
//	go run ./examples/master help
package main

import (
	"os"

	"github.com/uras-dev/uras/internal/cli"
	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/demo"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy/launch"
)

const logFile = "master-orchestrator.log"

func main() {
	os.Exit(launch.Main(launch.Command[*config.Config]{
		Name:    "master",
		Title:   system.Master.Title(),
		Summary: "master keeps PM2, GitHub Actions and Netlify automations alive: one orchestrator\nper system, each a target of a master that recovers a system as a whole.",
		Help:    cli.Help,
		Load:    cli.Load,
		Build:   cli.Build(system.Master),
		Verbs:   map[string]launch.Verb{"demo": demo.Verb(system.Master, logFile)},
	}))
}
