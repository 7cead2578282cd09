// Command sched measures the orchestrator's scheduler:
//
//	go run ./internal/bench/sched
//
// For 1,000, 10,000 and 100,000 healthy targets it prints the CPU one Tick
// costs per target (every target due, on a fake clock; Ticks back to back,
// and Ticks paced once a second of real time as Run's rounds are: a burst
// after an idle second costs more, caches and threads being cold) and the
// CPU Run costs per check (real clock, every target on a 1s interval,
// measured over a window after the first round), all as the process's
// user+system time (getrusage, garbage collection included) divided by the
// checks done. Run/Tick compares with the back-to-back Tick. Its last line
// is machine-readable:
//
//	run_vs_tick=<Run per check / Tick per target, at 10k> growth_100k_vs_1k=<Run per check at 100k / at 1k>
//
// A Run that cannot keep up checks fewer targets than its interval asks
// for: the "rate" column shows how many it managed per second.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func main() {
	sizes := flag.String("sizes", "1000,10000,100000", "comma-separated target counts")
	window := flag.Duration("window", 3*time.Second, "how long Run is measured at each size, after its first round")
	tickChecks := flag.Int("tick-checks", 300_000, "about how many target checks Tick is measured over at each size")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *sizes, *window, *tickChecks); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	n                         int
	tickPer, pacedPer, runPer time.Duration // CPU per target checked
	runRate                   float64       // checks per second under Run
}

func run(ctx context.Context, sizeList string, window time.Duration, tickChecks int) error {
	var ns []int
	for f := range strings.SplitSeq(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a positive count", f)
		}
		ns = append(ns, n)
	}
	if window <= 0 || tickChecks < 1 {
		return errors.New("-window and -tick-checks must be positive")
	}
	fmt.Printf("GOMAXPROCS=%d, healthy targets, interval 1s, concurrency 16 (the default)\n\n", runtime.GOMAXPROCS(0))
	fmt.Printf("%8s  %16s  %18s  %16s  %10s  %12s\n", "targets", "Tick CPU/target", "paced Tick (1/s)", "Run CPU/check", "Run/Tick", "Run rate/s")
	var res []result
	for _, n := range ns {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := result{n: n}
		var err error
		if r.tickPer, err = measureTick(ctx, n, tickChecks); err != nil {
			return err
		}
		if r.pacedPer, err = measurePacedTick(ctx, n, pacedTicks); err != nil {
			return err
		}
		if r.runPer, r.runRate, err = measureRun(ctx, n, window); err != nil {
			return err
		}
		res = append(res, r)
		fmt.Printf("%8d  %16s  %18s  %16s  %10.2f  %12.0f\n", n, us(r.tickPer), us(r.pacedPer), us(r.runPer), ratio(r.runPer, r.tickPer), r.runRate)
	}
	var at10k, at1k, at100k result
	for _, r := range res {
		switch r.n {
		case 1000:
			at1k = r
		case 10000:
			at10k = r
		case 100000:
			at100k = r
		}
	}
	fmt.Printf("\nrun_vs_tick=%.2f growth_100k_vs_1k=%.2f\n", ratio(at10k.runPer, at10k.tickPer), ratio(at100k.runPer, at1k.runPer))
	return nil
}

// healthy counts its checks.
type healthy struct{ calls atomic.Int64 }

func (h *healthy) Check(context.Context) redundancy.Report {
	h.calls.Add(1)
	return redundancy.Report{Status: redundancy.StatusHealthy}
}

func build(n int, clock redundancy.Clock) (*redundancy.Orchestrator, *healthy, error) {
	opts := []redundancy.Option{}
	if clock != nil {
		opts = append(opts, redundancy.WithClock(clock))
	}
	o := redundancy.New(opts...)
	h := &healthy{}
	p := redundancy.Policy{Interval: time.Second}
	for i := range n {
		if err := o.Add(redundancy.Target{Name: fmt.Sprintf("t%06d", i), Checker: h, Policy: p}); err != nil {
			return nil, nil, err
		}
	}
	return o, h, nil
}

// measureTick returns the CPU one Tick costs per target, all due.
func measureTick(ctx context.Context, n, checks int) (time.Duration, error) {
	clock := redundancytest.NewFakeClock(time.Time{})
	o, h, err := build(n, clock)
	if err != nil {
		return 0, err
	}
	o.Tick(ctx) // warm up: the first round
	ticks := max(3, checks/n)
	runtime.GC()
	before, c0 := cpu(), h.calls.Load()
	for range ticks {
		clock.Advance(time.Second)
		if s := o.Tick(ctx); len(s.Targets) != n {
			return 0, fmt.Errorf("tick: %d targets, want %d", len(s.Targets), n)
		}
	}
	done := h.calls.Load() - c0
	if done != int64(ticks*n) {
		return 0, fmt.Errorf("tick: %d checks, want %d", done, ticks*n)
	}
	return (cpu() - before) / time.Duration(done), nil
}

// pacedTicks is how many Ticks measurePacedTick times.
const pacedTicks = 5

// measurePacedTick returns the CPU a Tick costs per target when Ticks come
// once a second of real time, as Run's rounds do.
func measurePacedTick(ctx context.Context, n, ticks int) (time.Duration, error) {
	clock := redundancytest.NewFakeClock(time.Time{})
	o, h, err := build(n, clock)
	if err != nil {
		return 0, err
	}
	o.Tick(ctx)
	runtime.GC()
	time.Sleep(time.Second)
	before, c0 := cpu(), h.calls.Load()
	for range ticks {
		start := time.Now()
		clock.Advance(time.Second)
		o.Tick(ctx)
		select {
		case <-time.After(time.Until(start.Add(time.Second))):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	done := h.calls.Load() - c0
	if done != int64(ticks*n) {
		return 0, fmt.Errorf("paced tick: %d checks, want %d", done, ticks*n)
	}
	return (cpu() - before) / time.Duration(done), nil
}

// measureRun runs o on the real clock, lets the first round pass (at most
// the window), then returns the CPU per check and the checks per second
// over the window.
func measureRun(ctx context.Context, n int, window time.Duration) (time.Duration, float64, error) {
	o, h, err := build(n, nil)
	if err != nil {
		return 0, 0, err
	}
	runtime.GC()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(rctx) }()
	warm := time.Now().Add(window)
	for h.calls.Load() < int64(n) && time.Now().Before(warm) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // past the first round's stragglers
	before, c0, t0 := cpu(), h.calls.Load(), time.Now()
	select {
	case <-time.After(window):
	case <-ctx.Done():
	}
	used, checks, wall := cpu()-before, h.calls.Load()-c0, time.Since(t0)
	cancel()
	if err := <-done; err != nil {
		return 0, 0, err
	}
	if checks == 0 {
		return 0, 0, fmt.Errorf("run: no check in %s with %d targets", window, n)
	}
	return used / time.Duration(checks), float64(checks) / wall.Seconds(), nil
}

// cpu returns the user and system CPU time of the process so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func us(d time.Duration) string { return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond)) }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
