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
	"github.com/uras-dev/uras/internal/logging"
	"github.com/uras-dev/uras/internal/system"
)

func main() {
	os.Exit(cli.Main(cli.Mode{
		Name:    "launcher",
		Layout:  system.Launcher, // one orchestrator over everything
		LogFile: logging.FileLauncher,
	}))
}
