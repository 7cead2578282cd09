package pm2

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/uras-dev/uras/internal/fsutil"
)

// PortHolder is a process that listens on a TCP port.
type PortHolder struct {
	PID int
	// Command is its command line, as a bounded, sanitized excerpt.
	Command string
	// InPM2 is true for the PM2 daemon, its processes and their
	// descendants.
	InPM2 bool
	// Ours is true when the holder is outside PM2 and its command line
	// contains one of Probe.OwnHolders.
	Ours bool

	start uint64 // with PID, the process's identity
	full  string // the whole command line, matched against OwnHolders
}

// String names the holder for a finding or a reason.
func (h PortHolder) String() string {
	if h.PID == 0 {
		return "a process uras cannot see (another user's?)"
	}
	if h.Command == "" {
		return "pid " + strconv.Itoa(h.PID)
	}
	return fmt.Sprintf("pid %d (%s)", h.PID, h.Command)
}

// maxAncestry bounds the walk up a holder's parents.
const maxAncestry = 64

// portHolders returns the processes listening on port, each marked as in
// PM2 (the process or one of its ancestors is in pm2pids: the daemon and
// the processes it lists) or not, and as ours when outside PM2 and its
// command line contains one of own. A listener whose owner this process
// may not see is returned with PID 0.
func portHolders(port int, pm2pids map[int]bool, own []string) ([]PortHolder, error) {
	inodes, err := listenInodes(port)
	if err != nil {
		return nil, err
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	pids := socketOwners(inodes)
	if len(pids) == 0 {
		return []PortHolder{{}}, nil
	}
	slices.Sort(pids)
	var out []PortHolder
	for _, pid := range pids {
		st, err := readProcStat(pid)
		if err != nil {
			continue // gone
		}
		full := procCmdline(pid)
		h := PortHolder{PID: pid, Command: excerpt(full, maxMessage), start: st.start, full: full,
			InPM2: inPM2(pid, st.ppid, pm2pids)}
		h.Ours = !h.InPM2 && matchesAny(full, own)
		out = append(out, h)
	}
	return out, nil
}

// inPM2 walks pid's ancestry looking for one of pm2pids.
func inPM2(pid, ppid int, pm2pids map[int]bool) bool {
	for range maxAncestry {
		if pm2pids[pid] {
			return true
		}
		if ppid <= 1 {
			return false
		}
		pid = ppid
		st, err := readProcStat(pid)
		if err != nil {
			return false
		}
		ppid = st.ppid
	}
	return false
}

func matchesAny(cmdline string, patterns []string) bool {
	for _, p := range patterns {
		if p = strings.TrimSpace(p); p != "" && strings.Contains(cmdline, p) {
			return true
		}
	}
	return false
}

// logTail is how much of the end of an app's error log is searched for
// EADDRINUSE.
const logTail = 64 << 10

// saysAddrInUse reports whether the end of the log at path holds an
// EADDRINUSE error for port (Node: "listen EADDRINUSE: address already in
// use :::3000"). A log that cannot be read says nothing.
func saysAddrInUse(path string, port int) bool {
	if !rotatable(path) {
		return false
	}
	b, err := fsutil.ReadTail(path, logTail)
	if err != nil {
		return false
	}
	re := regexp.MustCompile(`EADDRINUSE.*[:\s\]]` + strconv.Itoa(port) + `\b`)
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, "EADDRINUSE") && re.MatchString(line) {
			return true
		}
	}
	return false
}
