package pm2

import "github.com/uras-dev/uras/redundancy"

// Problem codes of the PM2 checks. They are stable: alerting rules and
// dashboards may match on them.
const (
	// ProblemMissing: an expected app is not known to the daemon.
	ProblemMissing redundancy.Problem = "pm2.missing"
	// ProblemErrored: a process is in PM2's errored state (it crashed past
	// max_restarts, or could not start).
	ProblemErrored redundancy.Problem = "pm2.errored"
	// ProblemStopped: a process is stopped and its app is not declared StopOK.
	ProblemStopped redundancy.Problem = "pm2.stopped"
	// ProblemCrashLoop: a process restarts faster than the crash-loop limit,
	// or its unstable restarts grew.
	ProblemCrashLoop redundancy.Problem = "pm2.crash-loop"
	// ProblemMemoryHigh: a process uses more memory than its limit.
	ProblemMemoryHigh redundancy.Problem = "pm2.memory-high"
	// ProblemCPUHigh: a process used more CPU than its limit for several
	// consecutive checks.
	ProblemCPUHigh redundancy.Problem = "pm2.cpu-high"
	// ProblemStuck: a process has been launching, stopping or waiting to
	// restart for longer than the bound.
	ProblemStuck redundancy.Problem = "pm2.stuck"

	// ProblemDaemonDown: no daemon listens on PM2_HOME/rpc.sock.
	ProblemDaemonDown redundancy.Problem = "pm2.daemon-down"
	// ProblemDaemonUnresponsive: the daemon listens but did not answer.
	ProblemDaemonUnresponsive redundancy.Problem = "pm2.daemon-unresponsive"
	// ProblemDumpMissing: dump.pm2 does not exist while apps are expected,
	// so a reboot or resurrect would restore nothing.
	ProblemDumpMissing redundancy.Problem = "pm2.dump-missing"
	// ProblemDumpEmpty: dump.pm2 is empty, unreadable or lists no process
	// while apps are expected.
	ProblemDumpEmpty redundancy.Problem = "pm2.dump-empty"
	// ProblemDumpIncomplete: dump.pm2 lacks some expected apps.
	ProblemDumpIncomplete redundancy.Problem = "pm2.dump-incomplete"

	// ProblemLogLarge: a process's out or error log is above its size limit.
	ProblemLogLarge redundancy.Problem = "pm2.log-large"
	// ProblemDaemonLogLarge: PM2_HOME/pm2.log is above its size limit.
	ProblemDaemonLogLarge redundancy.Problem = "pm2.daemon-log-large"
	// ProblemDiskLow: the log volume has less free space than the floor.
	ProblemDiskLow redundancy.Problem = "pm2.disk-low"

	// ProblemEcosystemMissing: the ecosystem file does not exist.
	ProblemEcosystemMissing redundancy.Problem = "pm2.ecosystem-missing"
	// ProblemEcosystemInvalid: the ecosystem file does not load.
	ProblemEcosystemInvalid redundancy.Problem = "pm2.ecosystem-invalid"
	// ProblemEcosystemAppMissing: the ecosystem file does not declare an
	// expected app.
	ProblemEcosystemAppMissing redundancy.Problem = "pm2.ecosystem-app-missing"
)

// Action verbs of the PM2 recoverer.
const (
	VerbRestart        = "pm2.restart"
	VerbReload         = "pm2.reload"
	VerbStartEcosystem = "pm2.start-ecosystem"
	VerbResurrect      = "pm2.resurrect"
	VerbRestoreDumpBak = "pm2.restore-dump-backup"
	VerbSave           = "pm2.save"
	VerbRotateLog      = "pm2.rotate-log"
	VerbContinueDaemon = "pm2.continue-daemon"
	SubjectDaemon      = "daemon" // Finding.Subject of daemon findings
)

// Problems and verbs of the guard (the known-good process list, the
// guarded save and the repair ladders).
const (
	// ProblemDumpBackupIncomplete: dump.pm2.bak is missing, unreadable or
	// lacks apps of the known-good list, so a broken dump.pm2 could not
	// be restored from it.
	ProblemDumpBackupIncomplete redundancy.Problem = "pm2.dump-backup-incomplete"
	// ProblemKnownGoodUnreadable: the stored known-good process list does
	// not load (it is set aside and replaced at the next healthy check).
	ProblemKnownGoodUnreadable redundancy.Problem = "pm2.known-good-unreadable"

	VerbRestoreApp       = "pm2.restore-app"        // start one app from dump.pm2 or dump.pm2.bak
	VerbStartKnownGood   = "pm2.start-known-good"   // start one app from its known-good definition
	VerbRecreate         = "pm2.recreate"           // delete an app and add it again
	VerbKillDaemon       = "pm2.kill-daemon"        // kill a hung daemon proven to be this home's
	VerbRepairDumpBackup = "pm2.repair-dump-backup" // copy a complete dump.pm2 over a lacking dump.pm2.bak
)

// appProblems are the problems of one app's processes: while the daemon
// is down or does not answer, they follow from it.
var appProblems = []redundancy.Problem{
	ProblemMissing, ProblemErrored, ProblemStopped, ProblemCrashLoop, ProblemMemoryHigh, ProblemCPUHigh, ProblemStuck,
	ProblemProbeFailed, ProblemOnlineDead, ProblemPortHeld,
}

// ProblemDeps returns the dependencies between the problems of a PM2
// target (redundancy.Target.ProblemDeps, set by NewTargets): every app
// problem depends on ProblemDaemonDown and ProblemDaemonUnresponsive, so
// that a dead daemon with five apps is one alert naming the daemon (its
// Affected lists the apps' alerts) and no restart is planned against it.
func ProblemDeps() redundancy.ProblemDeps {
	d := make(redundancy.ProblemDeps, len(appProblems))
	for _, p := range appProblems {
		d[p] = []redundancy.Problem{ProblemDaemonDown, ProblemDaemonUnresponsive}
	}
	return d
}
