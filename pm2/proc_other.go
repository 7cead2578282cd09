//go:build !linux

package pm2

import "errors"

// Without /proc, nothing of the processes can be read: probes still run,
// but pids are taken as PM2 reports them and port holders are not found.

type procStat struct {
	state byte
	ppid  int
	start uint64
}

var errNoProc = errors.New("pm2: no /proc on this system")

func readProcStat(int) (procStat, error)          { return procStat{}, errNoProc }
func procAlive(pid int) bool                      { return pid > 0 }
func procCmdline(int) string                      { return "" }
func procRSS(int) (uint64, error)                 { return 0, errNoProc }
func listenInodes(int) (map[uint64]bool, error)   { return nil, errNoProc }
func socketOwners(map[uint64]bool) []int          { return nil }
func parseListeners([]byte, int, map[uint64]bool) {}
