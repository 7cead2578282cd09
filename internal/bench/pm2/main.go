// Command pm2 benchmarks the PM2 clients against a real daemon:
//
//	go run ./internal/bench/pm2
//
// It starts a PM2 daemon with 10 apps in a temporary PM2_HOME (never the
// default ~/.pm2) and prints, side by side, the median latency of a full
// check (list + evaluation) with the CLI client and with the native client,
// and the median time from `kill -9` of an app (autorestart off, target
// FailureThreshold 1) to the orchestrator's EventStatusChanged, with events
// on versus polling every second. Its last line is machine-readable:
//
//	speedup=<cli median / native median> detect_events_ms=<median> detect_poll_ms=<median>
//
// pm2 is found as the tests find it: $URAS_PM2_BIN, PATH, then
// .tools/node_modules/.bin/pm2 in the module root.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

func main() {
	apps := flag.Int("apps", 10, "number of apps the daemon runs")
	cliRuns := flag.Int("cli-runs", 9, "full checks timed with the CLI client")
	nativeRuns := flag.Int("native-runs", 51, "full checks timed with the native client")
	kills := flag.Int("kills", 7, "kill -9 detections timed per mode")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *apps, *cliRuns, *nativeRuns, *kills); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, nApps, cliRuns, nativeRuns, kills int) error {
	if nApps < 1 || cliRuns < 1 || nativeRuns < 1 || kills < 1 {
		return errors.New("-apps, -cli-runs, -native-runs and -kills must be positive")
	}
	bin, err := pm2test.LookPM2()
	if err != nil {
		return err
	}
	d, err := startDaemon(ctx, bin, nApps)
	if err != nil {
		return err
	}
	defer d.close()

	cli := pm2.NewCLI(pm2.WithBinary(bin), pm2.WithHome(d.home))
	native := pm2.NewNative(pm2.NativeOptions{Home: d.home, Fallback: cli})
	info, err := native.Ping(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("PM2 %s, %d apps, PM2_HOME=%s\n\n", info.Version, nApps, d.home)

	cliMed, err := timeChecks(ctx, fullCheck(cli, d.home, d.apps), cliRuns)
	if err != nil {
		return fmt.Errorf("cli check: %w", err)
	}
	nativeMed, err := timeChecks(ctx, fullCheck(native, d.home, d.apps), nativeRuns)
	if err != nil {
		return fmt.Errorf("native check: %w", err)
	}
	speedup := float64(cliMed) / float64(nativeMed)
	fmt.Printf("full check (list + evaluation of %d apps), median:\n", nApps)
	fmt.Printf("  %-22s %10s   (%d runs)\n", "cli (pm2 jlist)", ms(cliMed), cliRuns)
	fmt.Printf("  %-22s %10s   (%d runs, %.1fx faster)\n\n", "native (rpc.sock)", ms(nativeMed), nativeRuns, speedup)

	evMed, err := timeDetection(ctx, native, d.home, d.apps, true, kills)
	if err != nil {
		return fmt.Errorf("detection with events: %w", err)
	}
	pollMed, err := timeDetection(ctx, native, d.home, d.apps, false, kills)
	if err != nil {
		return fmt.Errorf("detection by polling: %w", err)
	}
	fmt.Printf("kill -9 to StatusChanged (autorestart off, FailureThreshold 1), median of %d:\n", kills)
	fmt.Printf("  %-22s %10s\n", "events + polling 1s", ms(evMed))
	fmt.Printf("  %-22s %10s\n\n", "polling 1s", ms(pollMed))

	fmt.Printf("speedup=%.1f detect_events_ms=%.1f detect_poll_ms=%.1f\n",
		speedup, millis(evMed), millis(pollMed))
	return nil
}

// fullCheck is the check a PM2 target runs: pm2.Checker listing the
// processes and judging every expected app (crash loops, stuck states,
// limits), the dump file and the log sizes. The free-disk floor is off so
// that the result does not depend on the machine.
func fullCheck(c pm2.Client, home string, apps []string) redundancy.Checker {
	cfg := pm2.Config{Home: home, MinFreeBytes: -1}
	for _, a := range apps {
		cfg.Apps = append(cfg.Apps, pm2.App{Name: a})
	}
	return pm2.NewChecker(c, cfg)
}

// timeChecks runs check n times and returns the median latency; every
// check must find all apps healthy.
func timeChecks(ctx context.Context, check redundancy.Checker, n int) (time.Duration, error) {
	durs := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		r := check.Check(ctx)
		durs = append(durs, time.Since(start))
		if r.Status != redundancy.StatusHealthy {
			return 0, fmt.Errorf("check not healthy: %s %v", r.Summary, r.Err)
		}
	}
	return median(durs), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", millis(d)) }

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// daemon is the benchmark's PM2 daemon.
type daemon struct {
	bin, dir, home string
	apps           []string
}

// startDaemon starts a daemon in a new short temporary PM2_HOME with n
// apps, all with autorestart off, and waits for them to be online.
func startDaemon(ctx context.Context, bin string, n int) (*daemon, error) {
	dir, err := os.MkdirTemp("", "pm2b")
	if err != nil {
		return nil, err
	}
	d := &daemon{bin: bin, dir: dir, home: filepath.Join(dir, "h")}
	if err := os.Mkdir(d.home, 0o755); err != nil {
		d.close()
		return nil, err
	}
	script := filepath.Join(dir, "app.js")
	if err := os.WriteFile(script, []byte("setInterval(() => {}, 1000);\n"), 0o644); err != nil {
		d.close()
		return nil, err
	}
	type app struct {
		Name        string `json:"name"`
		Script      string `json:"script"`
		Autorestart bool   `json:"autorestart"`
	}
	var eco struct {
		Apps []app `json:"apps"`
	}
	for i := range n {
		name := fmt.Sprintf("app%02d", i)
		d.apps = append(d.apps, name)
		eco.Apps = append(eco.Apps, app{Name: name, Script: script})
	}
	b, _ := json.Marshal(eco)
	file := filepath.Join(dir, "ecosystem.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		d.close()
		return nil, err
	}
	cli := pm2.NewCLI(pm2.WithBinary(bin), pm2.WithHome(d.home), pm2.WithTimeout(time.Minute))
	if err := cli.StartEcosystem(ctx, file); err != nil {
		d.close()
		return nil, err
	}
	native := pm2.NewNative(pm2.NativeOptions{Home: d.home})
	if err := waitOnline(ctx, native, d.apps, 30*time.Second); err != nil {
		d.close()
		return nil, err
	}
	if err := cli.Save(ctx); err != nil { // the checker wants a dump
		d.close()
		return nil, err
	}
	return d, nil
}

// waitOnline polls until every app is online.
func waitOnline(ctx context.Context, c pm2.Client, apps []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		procs, err := c.List(ctx)
		online := 0
		for _, p := range procs {
			if slices.Contains(apps, p.Name) && p.Status == pm2.StatusOnline {
				online++
			}
		}
		if err == nil && online == len(apps) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d apps online after %s (%v)", online, len(apps), timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// close kills the daemon (and so its apps) and removes the directory.
func (d *daemon) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join(d.home, pm2.PIDFile)); err == nil {
		cmd := exec.CommandContext(ctx, d.bin, "kill")
		cmd.Env = append(withoutPM2Home(os.Environ()), "PM2_HOME="+d.home)
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: pm2 kill: %v\n%s", err, out)
		}
	}
	_ = os.RemoveAll(d.dir)
}

func withoutPM2Home(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PM2_HOME=") {
			out = append(out, kv)
		}
	}
	return out
}
