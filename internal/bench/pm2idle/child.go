package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// runChild is uras watching the daemon with everything configured, as a
// launcher composes it, until SIGTERM.
func runChild() error {
	var c childConfig
	if err := json.Unmarshal([]byte(os.Getenv(envChild)), &c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cli := pm2.NewCLI(pm2.WithBinary(c.Bin), pm2.WithHome(c.Home))
	native := pm2.NewNative(pm2.NativeOptions{Home: c.Home, Fallback: cli})
	cfg := pm2.Config{
		Home:      c.Home,
		Ecosystem: c.Ecosystem,
		Apps: []pm2.App{
			{Name: "web", Probe: &pm2.Probe{Port: c.Port, URL: "http://127.0.0.1:" + strconv.Itoa(c.Port) + "/"}},
			{Name: "worker"},
		},
		DaemonMaxMemoryBytes: 1 << 30,
	}
	o := redundancy.New(redundancy.WithStateFile(c.State),
		redundancy.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	ec := pm2.NewEventChecker(pm2.NewChecker(native, cfg), native, pm2.EventCheckerOptions{Target: "pm2", Trigger: o.Trigger})
	err := o.Add(redundancy.Target{
		Name:      "pm2",
		Checker:   ec,
		Recoverer: pm2.NewRecoverer(native, cfg),
		Policy:    redundancy.Policy{Interval: time.Second, Timeout: 10 * time.Second},
	})
	if err != nil {
		return err
	}
	go func() { _ = ec.Watch(ctx) }()
	// Say once what the first check found: a bench of a sick target
	// would measure repairs, not idling.
	rep := ec.Check(ctx)
	if len(rep.Findings) > 0 {
		fmt.Fprintf(os.Stderr, "pm2idle child: the target is not healthy: %s\n", rep.Summary)
	}
	if err := o.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
