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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// canKillDaemon is true where /proc proves which process is the daemon.
const canKillDaemon = true

// godTitle is the process title PM2 gives its daemon:
// "PM2 v7.0.4: God Daemon (/home/app/.pm2)".
var godTitle = regexp.MustCompile(`^PM2 v[0-9A-Za-z.+-]+: God Daemon \((.+)\)$`)

// proc is one process, named by its pid and its start time (clock ticks
// since boot), which together never name another process.
type proc struct {
	pid   int
	start uint64
}

// provenDaemon reads home/pm2.pid and proves the process is the PM2
// daemon of home: its title names home.
func provenDaemon(home string) (proc, error) {
	b, err := fsutil.ReadFile(filepath.Join(home, PIDFile), 64)
	if err != nil {
		return proc{}, fmt.Errorf("pm2: daemon pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return proc{}, fmt.Errorf("pm2: daemon pid: %s holds no pid", filepath.Join(home, PIDFile))
	}
	title, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return proc{}, fmt.Errorf("pm2: pid %d of %s is not running: %w", pid, PIDFile, err)
	}
	t := strings.TrimRight(strings.ReplaceAll(string(title), "\x00", " "), " ")
	m := godTitle.FindStringSubmatch(t)
	if m == nil || !sameDir(m[1], home) {
		return proc{}, fmt.Errorf("pm2: pid %d of %s is not the PM2 daemon of %s (its title: %q)", pid, PIDFile, home, printable(t))
	}
	start, _, err := procStat(pid)
	if err != nil {
		return proc{}, err
	}
	return proc{pid: pid, start: start}, nil
}

func sameDir(a, b string) bool {
	abs := func(p string) string {
		if q, err := filepath.Abs(p); err == nil {
			p = q
		}
		if q, err := filepath.EvalSymlinks(p); err == nil {
			p = q
		}
		return filepath.Clean(p)
	}
	return abs(a) == abs(b)
}

// procStat reads a process's start time and parent pid from
// /proc/<pid>/stat.
func procStat(pid int) (start uint64, ppid int, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("pm2: /proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("pm2: /proc/%d/stat: unexpected format", pid)
	}
	ppid, _ = strconv.Atoi(f[1])
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, ppid, err
}

// alive reports whether p is still the process it was, and not a zombie.
func (p proc) alive() bool {
	start, _, err := procStat(p.pid)
	if err != nil || start != p.start {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return !(i >= 0 && i+2 < len(s) && s[i+2] == 'Z')
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
		start, ppid, err := procStat(pid)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], proc{pid: pid, start: start})
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
	if !waitGone(ctx, []proc{d}) {
		return fmt.Errorf("pm2: daemon %d still alive %s after SIGKILL", d.pid, killGrace)
	}
	for _, k := range kids {
		_ = k.signal(syscall.SIGTERM)
	}
	if !waitGone(ctx, kids) {
		for _, k := range kids {
			_ = k.signal(syscall.SIGKILL)
		}
		waitGone(ctx, kids)
	}
	return nil
}

// waitGone waits (at most killGrace) until none of ps is alive. It waits
// on the processes, not on a clock under test.
func waitGone(ctx context.Context, ps []proc) bool {
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
