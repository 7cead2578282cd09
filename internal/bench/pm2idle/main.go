// Command pm2idle measures what watching an idle PM2 costs, side by side
// with Debian's monit:
//
//	go run ./internal/bench/pm2idle [-duration 60s]
//
// It starts a PM2 daemon in a temporary PM2_HOME (never ~/.pm2) with two
// apps declared in an ecosystem.config.js (an HTTP server and a worker),
// saves the dump, then runs for the same window, at the same time:
//
//   - monit, in the foreground (-I) with a private control file: "set daemon
//     1", the daemon's pm2.pid, each app's pid file and the server's port;
//   - uras, as its own process (this binary again): the pm2 target with
//     everything configured (native client with events, the ecosystem file,
//     the dump and log checks, a probe of the server's port and URL, the
//     daemon's memory bound, a state file), checked every second.
//
// It reads the CPU time of each (user + system, its own and its reaped
// children's, from /proc/<pid>/stat) over the window, after a warm-up, and
// the daemon's, and first the daemon's alone for a baseline. The last line
// is machine-readable:
//
//	uras_ticks=<n> monit_ticks=<n> ratio=<uras/monit> uras_pct=<%> monit_pct=<%> daemon_pct=<%> daemon_alone_pct=<%>
//
// Ticks are clock ticks (USER_HZ, 100 a second on Linux).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/pm2/pm2test"
)

// userHZ is the unit of /proc/<pid>/stat times on Linux.
const userHZ = 100

func main() {
	if os.Getenv(envChild) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "pm2idle child:", err)
			os.Exit(1)
		}
		return
	}
	duration := flag.Duration("duration", 60*time.Second, "measured window")
	warmup := flag.Duration("warmup", 5*time.Second, "time given to both watchers before measuring")
	baseline := flag.Bool("baseline", true, "first measure the daemon alone for the same window")
	monitBin := flag.String("monit", "monit", "the monit binary")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *duration, *warmup, *baseline, *monitBin); err != nil {
		fmt.Fprintln(os.Stderr, "pm2idle:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, duration, warmup time.Duration, baseline bool, monitBin string) error {
	if duration <= 0 || warmup < 0 {
		return errors.New("-duration must be positive and -warmup not negative")
	}
	bin, err := pm2test.LookPM2()
	if err != nil {
		return err
	}
	monit, err := exec.LookPath(monitBin)
	if err != nil {
		return fmt.Errorf("monit: %w (apt-get install -y monit)", err)
	}
	s, err := setUp(ctx, bin)
	if err != nil {
		return err
	}
	defer s.close()
	daemonPID, err := s.daemonPID()
	if err != nil {
		return err
	}
	fmt.Printf("PM2 daemon %d in %s, apps web (port %d) and worker, ecosystem %s\n", daemonPID, s.home, s.port, filepath.Base(s.eco))

	var alone float64
	if baseline {
		fmt.Printf("baseline: the daemon alone for %s...\n", duration)
		t, err := measure(ctx, duration, daemonPID)
		if err != nil {
			return err
		}
		alone = pct(t[0], duration)
	}

	monitCmd, err := s.startMonit(monit)
	if err != nil {
		return err
	}
	defer stopProcess(monitCmd)
	urasCmd, err := s.startUras()
	if err != nil {
		return err
	}
	defer stopProcess(urasCmd)
	fmt.Printf("monit %d and uras %d running; warm-up %s, then %s measured...\n", monitCmd.Process.Pid, urasCmd.Process.Pid, warmup, duration)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warmup):
	}
	t, err := measure(ctx, duration, urasCmd.Process.Pid, monitCmd.Process.Pid, daemonPID)
	if err != nil {
		return err
	}
	urasT, monitT, daemonT := t[0], t[1], t[2]
	ratio := float64(urasT) / float64(max(monitT, 1))
	fmt.Printf("\nCPU over %s (user+system, own + reaped children):\n", duration)
	fmt.Printf("  %-28s %6d ticks  %6.2f%% of a core\n", "uras (pm2, all configured)", urasT, pct(urasT, duration))
	fmt.Printf("  %-28s %6d ticks  %6.2f%% of a core\n", "monit 5.x (set daemon 1)", monitT, pct(monitT, duration))
	fmt.Printf("  %-28s %6d ticks  %6.2f%% of a core (alone: %.2f%%)\n", "PM2 daemon", daemonT, pct(daemonT, duration), alone)
	fmt.Printf("  uras / monit: %.2fx\n\n", ratio)
	fmt.Printf("uras_ticks=%d monit_ticks=%d ratio=%.2f uras_pct=%.2f monit_pct=%.2f daemon_pct=%.2f daemon_alone_pct=%.2f\n",
		urasT, monitT, ratio, pct(urasT, duration), pct(monitT, duration), pct(daemonT, duration), alone)
	return nil
}

// measure returns the CPU ticks each pid used over d.
func measure(ctx context.Context, d time.Duration, pids ...int) ([]uint64, error) {
	before := make([]uint64, len(pids))
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		before[i] = t
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(d):
	}
	out := make([]uint64, len(pids))
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, fmt.Errorf("pid %d ended during the measure: %w", pid, err)
		}
		out[i] = t - before[i]
	}
	return out, nil
}

// cpuTicks returns utime+stime+cutime+cstime of pid (fields 14-17 of
// /proc/<pid>/stat).
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	var sum uint64
	for _, s := range f[11:15] { // fields 14..17
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		sum += uint64(max(v, 0))
	}
	return sum, nil
}

func pct(ticks uint64, d time.Duration) float64 {
	return float64(ticks) / userHZ / d.Seconds() * 100
}

// stopProcess ends a child of ours with SIGTERM, then SIGKILL.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
