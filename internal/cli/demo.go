package cli

import (
	"context"
	"errors"
	"time"

	"github.com/uras-dev/uras/internal/demo"
)

// demo runs the embedded demo in this command's mode.
func (a *app) demo(ctx context.Context, args []string) int {
	fs := a.flags("demo")
	d := fs.Duration("duration", 30*time.Second, "how long the demo runs")
	grace := fs.Duration("grace", 30*time.Second, "how much longer it waits for recoveries")
	fake := fs.Bool("fake-pm2", false, "use the in-memory PM2 fake even when pm2 is installed")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	err := demo.Run(ctx, demo.Options{Layout: a.mode.Layout, LogFile: a.mode.LogFile, Duration: *d, Grace: *grace, FakePM2: *fake, Out: a.stdout})
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, demo.ErrNotRecovered):
		return ExitFailure
	default:
		return a.fail("%v", err)
	}
}
