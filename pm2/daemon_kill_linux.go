//go:build linux

package pm2

// Killing a hung daemon, only once /proc proves it is the PM2 daemon of
// this home, and the apps it started with it (its descendants, each
// checked by its start time so that a recycled pid is never signalled).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// canKillDaemon is true where /proc proves which process is the daemon.
const canKillDaemon = true

// proc is one process, named by its pid and its start time (clock ticks
// since boot), which together never name another process.
type proc struct {
	pid   int
	start uint64
}

// provenDaemon reads home/pm2.pid and proves the process is the PM2
// daemon of home: its title names home (godPID), and it started before
// pm2.pid was written (the daemon writes the file once it runs), so that a
// pid file left by a dead daemon never names a process that was given its
// pid since. Node cuts a long title short, so the title alone cannot tell
// two homes with a long common prefix apart; the start time can.
func provenDaemon(home string) (proc, error) {
	pidPath := filepath.Join(home, PIDFile)
	info := daemonInfo(home)
	if info.PID <= 1 {
		return proc{}, fmt.Errorf("pm2: daemon pid: %s holds no pid of a running process", pidPath)
	}
	if godPID(home) != info.PID {
		return proc{}, fmt.Errorf("pm2: pid %d of %s is not the PM2 daemon of %s (its title: %q)", info.PID, PIDFile, home, excerpt(procCmdline(info.PID), 200))
	}
	st, err := readProcStat(info.PID)
	if err != nil {
		return proc{}, err
	}
	fi, err := os.Stat(pidPath)
	if err != nil {
		return proc{}, fmt.Errorf("pm2: daemon pid: %w", err)
	}
	started, err := procStartTime(st.start)
	if err != nil {
		return proc{}, err
	}
	if started.After(fi.ModTime().Add(pidFileSlack)) {
		return proc{}, fmt.Errorf("pm2: pid %d of %s started after %s was written (%s > %s): the pid file is stale and the pid another process's",
			info.PID, PIDFile, PIDFile, started.Format(time.RFC3339), fi.ModTime().Format(time.RFC3339))
	}
	return proc{pid: info.PID, start: st.start}, nil
}

// provenDaemonPID is the pid of the daemon of home, proven (provenDaemon).
func provenDaemonPID(home string) (int, error) {
	d, err := provenDaemon(home)
	return d.pid, err
}

// pidFileSlack is how much later than pm2.pid's mtime the daemon may seem
// to have started: the boot time /proc gives is whole seconds, and the
// wall clock may have been stepped since.
const pidFileSlack = 2 * time.Second

// userHZ is the unit of the start times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const userHZ = 100

// procStartTime turns a start time from /proc/<pid>/stat into wall time,
// with the boot time of /proc/stat.
func procStartTime(ticks uint64) (time.Time, error) {
	b, err := fsutil.ReadFile("/proc/stat", maxProcFile)
	if err != nil {
		return time.Time{}, fmt.Errorf("pm2: boot time: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				break
			}
			return time.Unix(sec, 0).Add(time.Duration(ticks) * time.Second / userHZ), nil
		}
	}
	return time.Time{}, errors.New("pm2: boot time: /proc/stat has no btime")
}

// alive reports whether p is still the process it was, and not a zombie.
func (p proc) alive() bool {
	st, err := readProcStat(p.pid)
	return err == nil && st.start == p.start && st.state != 'Z' && st.state != 'X'
}

// signal sends sig to p if it is still the process it was.
func (p proc) signal(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pm2: signal %d: %w", p.pid, err)
	}
	return nil
}

// descendants returns every process below root, found in /proc.
func descendants(root int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], proc{pid: pid, start: st.start})
	}
	var out []proc
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// killGrace is how long the apps get to exit on SIGTERM before SIGKILL,
// and how long the daemon gets to disappear after SIGKILL.
const killGrace = 3 * time.Second

// killDaemon kills the PM2 daemon of home, proven by its pm2.pid and its
// title, with SIGKILL (a hung daemon runs no handler, and a slow one
// would dump a list of its own on SIGTERM), then stops the apps it had
// started (SIGTERM, then SIGKILL after killGrace), so that bringing the
// daemon back does not run every app twice.
func killDaemon(ctx context.Context, home string) error {
	d, err := provenDaemon(home)
	if err != nil {
		return err
	}
	kids := descendants(d.pid)
	if err := d.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !waitProcsGone(ctx, []proc{d}) {
		return fmt.Errorf("pm2: daemon %d still alive %s after SIGKILL", d.pid, killGrace)
	}
	for _, k := range kids {
		_ = k.signal(syscall.SIGTERM)
	}
	if !waitProcsGone(ctx, kids) {
		for _, k := range kids {
			_ = k.signal(syscall.SIGKILL)
		}
		waitProcsGone(ctx, kids)
	}
	return nil
}

// waitProcsGone waits (at most killGrace) until none of ps is alive. It waits
// on the processes, not on a clock under test.
func waitProcsGone(ctx context.Context, ps []proc) bool {
	deadline := time.Now().Add(killGrace)
	for {
		alive := false
		for _, p := range ps {
			if p.alive() {
				alive = true
				break
			}
		}
		if !alive {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// waitStopped waits (at most limit) until pid is stopped ('T' in
// /proc/<pid>/stat), as it is once a SIGSTOP has landed.
func waitStopped(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		st, err := readProcStat(pid)
		if err != nil {
			return false
		}
		if st.state == 'T' {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // waits on the kernel, not on a clock under test
	}
}
