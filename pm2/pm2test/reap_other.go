//go:build !linux

package pm2test

import "syscall"

// Without /proc nothing can be proven to be ours: the reaper kills
// nothing, and only the tests' own cleanup runs.

func newGroup() *syscall.SysProcAttr   { return nil }
func startTime(int) (uint64, bool)     { return 0, false }
func cmdline(int) string               { return "" }
func processesOf(string, string) []int { return nil }
func hasHome(int, string) bool         { return false }
