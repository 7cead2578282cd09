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
	"github.com/uras-dev/uras/internal/logging"
	"github.com/uras-dev/uras/internal/system"
)

func main() {
	os.Exit(cli.Main(cli.Mode{
		Name:    "master",
		Layout:  system.Master, // per-system orchestrators under a master
		LogFile: logging.FileMaster,
	}))
}
