// Package pm2 keeps PM2-managed Node.js apps alive: it checks the PM2
// daemon, the apps' processes, the dump file, the logs and the ecosystem
// file, and repairs what it can (restart, reload, resurrect, restore the
// dump backup, start from the ecosystem file, rotate logs, save the dump).
//
// A Client talks to PM2. CLI runs the pm2 binary (argument vector, timeout,
// PM2_HOME; it parses `pm2 jlist`), Native speaks the daemon's own RPC
// socket, and pm2test.FakeClient is an in-memory PM2 for tests. Every
// client returns Process values with typed fields only: PM2's environment
// dump (pm2_env.env and the variables it copies into pm2_env) is never
// decoded, so secrets cannot leak into reports, logs or errors. Errors can
// be told apart with errors.Is: ErrNotInstalled, ErrDaemonDown,
// ErrProcessNotFound, ErrBadOutput.
//
// Checker turns one look at PM2 into a redundancy.Report whose findings
// carry stable Problem codes (ProblemErrored = "pm2.errored", ...);
// Recoverer turns a report into redundancy.Actions, one per repair, each
// with a stable verb ("pm2.restart", ...). NewTargets builds both, with the
// client and the store they share, from a TargetConfig (the pm2 section of
// a launcher's YAML file decodes into one):
//
//	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{
//		Home:      "/srv/app/.pm2",
//		Apps:      []pm2.AppConfig{{Name: "web", MaxMemory: 512 << 20}, {Name: "worker"}},
//		Ecosystem: "/srv/app/ecosystem.config.js",
//	}, pm2.WithStore(store))
//	o := redundancy.New()
//	for _, t := range g.Targets { // one, named "pm2"; g.Notes say what is not watched
//		err = o.Add(t)
//	}
//
// With the native client the target carries its event source
// (Target.Source), so that a process exiting is checked at once. To build
// the pieces yourself, give NewChecker and NewRecoverer the same client
// and Config.
//
// The checker remembers each process's restarts between checks to find
// crash loops, so keep one Checker per target for its whole life.
//
// The guard never lets an app be forgotten. A known-good process list per
// PM2 home (KnownGoodList: the apps of a healthy daemon and their
// definitions as PM2 dumps them, never their environment, with its last
// versions) is kept in Config.Store, a redundancy.Store shared by the
// Checker and the Recoverer. pm2 save runs only while every guarded app
// is online, and leaves dump.pm2 and dump.pm2.bak both listing them; a
// dump file lacking one is a finding. Each failure climbs a ladder of
// repairs, one rung per recovery attempt, each rung an action of its own
// (so a dry run shows the next one): an app is restarted, then deleted and
// re-added; a missing app is restored alone from dump.pm2, dump.pm2.bak,
// the ecosystem file or its known-good definition; a dead daemon is
// resurrected from a dump that lists every app, from the backup, from the
// ecosystem file or from the known-good list; a hung one is woken, then
// killed (once proven to be this home's daemon) and brought back. A
// ladder whose last rung failed escalates (redundancy.ErrExhausted).
//
// OpenClient picks the native client when the daemon answers on its socket
// and the CLI otherwise; EventChecker wraps a Checker so that daemon events
// (a process exiting, say) trigger a check at once instead of at the next
// interval.
//
// PM2's word is checked against what runs where the Config asks for it: an
// App with a Probe (a TCP port or an HTTP URL) is reported when PM2 calls
// it online but its pid is gone or it does not serve, and, when its error
// log says EADDRINUSE, whoever outside PM2 holds its port is named (and
// stopped only when Probe.OwnHolders declares it ours).
// Config.DaemonMaxMemoryBytes bounds the daemon's own memory; pm2 update
// (Updater) replaces a leaking daemon only inside Config.MaintenanceWindow.
//
// RotateLog rotates a log without losing lines: it compresses it to a
// timestamped .gz beside it and truncates it in place, pausing the PM2
// daemon (PauseDaemon) for the instant between the last read and the
// truncation. Only logs under PM2_HOME or Config.LogDirs are rotated
// (RotateOptions.Within); a log the daemon reports elsewhere is reported
// as ProblemLogOutsideDirs.
package pm2
