// Command ultimate is the "ultimate redundancy" mode: one orchestrator per
// system (PM2, GitHub Actions, Netlify) nested under a master orchestrator,
// plus webhook alerts (alerts.webhooks), persisted state (state.dir), the
// status endpoint and escalation reports.
//
//	go run ./examples/ultimate demo          # 30 s against an embedded environment
//	go run ./examples/ultimate health-check  # check what the default config finds here
//	go run ./examples/ultimate help
//
// Copy it to write your own launcher: the composition lives in
// internal/system (Build), the verbs in internal/cli.
package main

import (
	"os"

	"github.com/uras-dev/uras/internal/cli"
	"github.com/uras-dev/uras/internal/logging"
	"github.com/uras-dev/uras/internal/system"
)

func main() {
	os.Exit(cli.Main(cli.Mode{
		Name:    "ultimate",
		Layout:  system.Ultimate, // master + alerts + state + escalation reports
		LogFile: logging.FileUltimate,
	}))
}
