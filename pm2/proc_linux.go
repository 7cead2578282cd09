//go:build linux

package pm2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/uras-dev/uras/internal/fsutil"
)

// What this file reads of /proc. Every read is bounded; a process that
// goes away in between reads as absent.

// maxProcFile caps a read of one /proc file (a /proc/net/tcp of many
// thousand sockets is a few MiB).
const maxProcFile = 16 << 20

// procStat is what /proc/<pid>/stat says that this package uses.
type procStat struct {
	state byte   // R, S, D, Z, T, ...
	ppid  int    // parent pid
	start uint64 // start time, clock ticks after boot: with the pid, a process's identity
}

func readProcStat(pid int) (procStat, error) {
	b, err := fsutil.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"), 64<<10)
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold anything:
	// fields are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("pm2: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 { // state is field 3, start time field 22
		return procStat{}, fmt.Errorf("pm2: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("pm2: /proc/%d/stat: malformed", pid)
	}
	return procStat{state: f[0][0], ppid: ppid, start: start}, nil
}

// procAlive reports whether pid runs (exists and is not a zombie).
func procAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

// procCmdline returns a process's command line, arguments joined by
// spaces ("" when unreadable). PM2 pads the titles it sets with spaces;
// they are trimmed.
func procCmdline(pid int) string {
	b, err := fsutil.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"), 64<<10)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\x00", " ")), " "))
}

// procRSS returns a process's resident memory in bytes (VmRSS).
func procRSS(pid int) (uint64, error) {
	b, err := fsutil.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"), 64<<10)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("pm2: /proc/%d/status: no VmRSS", pid)
}

// listenInodes returns the inodes of the TCP sockets listening on port
// (IPv4 and IPv6) in this network namespace.
func listenInodes(port int) (map[uint64]bool, error) {
	inodes := map[uint64]bool{}
	var errs []error
	read := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := fsutil.ReadFile(name, maxProcFile)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		read++
		parseListeners(b, port, inodes)
	}
	if read == 0 {
		return nil, fmt.Errorf("pm2: read the TCP socket table: %w", errors.Join(errs...))
	}
	return inodes, nil
}

// parseListeners adds the inodes of the LISTEN sockets on port in a
// /proc/net/tcp{,6} table to inodes.
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 123456 ...
func parseListeners(table []byte, port int, inodes map[uint64]bool) {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		if ino, err := strconv.ParseUint(f[9], 10, 64); err == nil && ino != 0 {
			inodes[ino] = true
		}
	}
}

// socketOwners returns the pids that hold one of the socket inodes, among
// the processes whose descriptors this process may read (its user's, or
// all when root).
func socketOwners(inodes map[uint64]bool) []int {
	if len(inodes) == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join("/proc", e.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			v, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64)
			if err == nil && inodes[ino] {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}
