package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/redundancy/launch"
)

// Verb returns the demo as an extra verb of a launcher in layout, its
// log file named logFile (in the demo's temporary directory). A main
// opts into it; a launcher without it links none of the fakes.
func Verb(layout system.Layout, logFile string) launch.Verb {
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
			err := Run(ctx, Options{Layout: layout, LogFile: logFile, Duration: *d, Grace: *grace, FakePM2: *fake, Out: inv.Stdout})
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
