package pm2

import "github.com/uras-dev/uras/redundancy"

// Problem codes of the checks of what PM2 says against what runs: app
// probes, port holders, the daemon's own memory and where logs lie.
const (
	// ProblemProbeFailed: PM2 says the process is online, but the app's
	// probe (App.Probe: a TCP port or an HTTP URL) fails past its grace.
	ProblemProbeFailed redundancy.Problem = "pm2.probe-failed"
	// ProblemOnlineDead: PM2 says the process is online, but its pid is 0
	// or no such process runs (checked for apps with a probe).
	ProblemOnlineDead redundancy.Problem = "pm2.online-dead"
	// ProblemPortHeld: the app's error log says EADDRINUSE and its port is
	// held by a process outside PM2; the detail names its pid and command
	// line.
	ProblemPortHeld redundancy.Problem = "pm2.port-held"
	// ProblemProbeInvalid: an app's probe is misconfigured (no port or URL,
	// a bad URL); nothing is probed.
	ProblemProbeInvalid redundancy.Problem = "pm2.probe-invalid"
	// ProblemDaemonMemoryHigh: the PM2 daemon's resident memory is above
	// Config.DaemonMaxMemoryBytes.
	ProblemDaemonMemoryHigh redundancy.Problem = "pm2.daemon-memory-high"
	// ProblemLogOutsideDirs: a process's log is above its size limit but
	// lies outside PM2_HOME and Config.LogDirs, so it is not rotated.
	ProblemLogOutsideDirs redundancy.Problem = "pm2.log-outside-dirs"
)

// Action verbs for those problems.
const (
	// VerbUpdate replaces the daemon with pm2 update (save, kill, launch,
	// resurrect): for a daemon above its memory bound, inside a maintenance
	// window only.
	VerbUpdate = "pm2.update"
	// VerbStopPortHolder stops a process outside PM2 that holds an app's
	// port, only when the configuration declares such processes ours
	// (Probe.OwnHolders).
	VerbStopPortHolder = "pm2.stop-port-holder"
)
