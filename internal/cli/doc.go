// Package cli is the command line shared by the example commands
// (examples/launcher, examples/master, examples/ultimate): the verbs
// start, stop, restart, status, logs, health-check, recover, monitor, demo
// and help, the PID file, and the detached start. A main only names its
// Mode and calls Main.
//
// Exit codes:
//
//	0  success; health-check: healthy; demo: every fault recovered
//	1  failure; health-check: degraded, unhealthy or unknown; recover: an action failed or was refused
//	2  usage or configuration error
//	3  status: not running (a fresh check is shown)
//	4  start, monitor: already running
package cli
