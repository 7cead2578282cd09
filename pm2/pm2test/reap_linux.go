//go:build linux

package pm2test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func newGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// startTime returns pid's start time (clock ticks after boot, field 22 of
// /proc/<pid>/stat); false when it does not run.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

func cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

// processesOf returns the processes (other than this one) whose command
// line names dir or whose environment holds PM2_HOME=home.
func processesOf(dir, home string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if strings.Contains(cmdline(pid), dir+string(filepath.Separator)) {
			out = append(out, pid)
			continue
		}
		if hasHome(pid, home) {
			out = append(out, pid)
		}
	}
	return out
}

// hasHome reports whether pid's environment holds PM2_HOME=home (PM2's
// launchDaemon sets it for the daemon, which passes it to the apps).
func hasHome(pid int, home string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	return err == nil && bytes.Contains(append([]byte{0}, b...), []byte("\x00PM2_HOME="+home+"\x00"))
}
