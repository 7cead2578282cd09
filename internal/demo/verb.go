package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/uras-dev/uras/redundancy/launch"
)

// Verb returns the demo as an extra verb of cmd: cmd's own Load and Build
// compose the orchestrators from the demo's configuration file, as they
// would from a user's. A main opts into it (examples/*/demo.go, built with
// -tags demo); a launcher without it links none of the fakes.
func Verb[C any](cmd launch.Command[C]) launch.Verb {
	compose := func(ctx context.Context, path string, b launch.Build) (*launch.System, launch.Settings, error) {
		if cmd.Load == nil {
			return nil, launch.Settings{}, errors.New("the command has no configuration to load")
		}
		cfg, set, err := cmd.Load(path)
		if err != nil {
			return nil, set, err
		}
		sys, err := launch.Compose(ctx, cmd, cfg, set, b) // as the monitor composes it: alerts, state files, silences
		return sys, set, err
	}
	logFile := cmd.LogName
	if logFile == "" {
		logFile = cmd.Name
	}
	logFile += ".log"
	return launch.Verb{
		Usage: "run against an embedded environment, inject faults, show the recovery (-duration, -fake-pm2)",
		Run: func(ctx context.Context, inv launch.Invocation) int {
			fs := flag.NewFlagSet(inv.Command+" "+inv.Verb, flag.ContinueOnError)
			fs.SetOutput(inv.Stderr)
			fs.String("config", inv.ConfigPath, "ignored: the demo builds its own configuration")
			d := fs.Duration("duration", 30*time.Second, "how long the demo runs")
			grace := fs.Duration("grace", 30*time.Second, "how much longer it waits for recoveries")
			fake := fs.Bool("fake-pm2", false, "use the in-memory PM2 fake even when pm2 is installed")
			if err := fs.Parse(inv.Args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return launch.ExitOK
				}
				return launch.ExitUsage
			}
			if fs.NArg() > 0 {
				fmt.Fprintf(inv.Stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
				return launch.ExitUsage
			}
			err := Run(ctx, Options{Name: cmd.Name, Title: cmd.Title, Compose: compose, LogFile: logFile,
				Duration: *d, Grace: *grace, FakePM2: *fake, Out: inv.Stdout})
			switch {
			case err == nil:
				return launch.ExitOK
			case errors.Is(err, ErrNotRecovered):
				return launch.ExitFailure
			default:
				fmt.Fprintf(inv.Stderr, "%s: %v\n", inv.Command, err)
				return launch.ExitFailure
			}
		},
	}
}
