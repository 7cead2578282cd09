// Package launch is the shell every uras launcher shares: the command
// line, the monitor and its files. It knows no provider: a launcher is a
// Command whose Build function composes redundancy orchestrators (with
// PM2, GitHub Actions, Netlify or its own targets) and Main does the rest.
//
// The verbs are start, stop, restart, status (-json), logs (follow, -n,
// -system, -level, -json),
// health-check (-json), recover (-dry-run, -force), monitor, silence (add,
// list, remove) and help, plus the extra verbs a Command adds (a demo).
// Every verb takes -config FILE, handed to the Command's Load.
//
//   - monitor runs the root orchestrator in the foreground with a live
//     dashboard (targets, open alerts, held repairs, silences), an
//     endpoint (/health as application/health+json, /livez and /readyz
//     probes, /metrics for Prometheus, /status as JSON, /silences; server
//     timeouts, a connection cap, a bearer token required beyond loopback
//     and for every silence written) and a status file. The System's
//     Receivers (GitHub's and Netlify's webhook deliveries) are served at
//     /hooks/<name> on a listener of their own (Settings.HooksListen),
//     with the same timeouts, their answers counted on /metrics. In the
//     monitor only, Compose starts the file's alert routes (webhooks, JSON
//     or Slack, and commands) and every orchestrator built with
//     Build.Options pages through them; the file's silences are set on the
//     root at every start. Under systemd (Type=notify) it sends
//     READY=1, WATCHDOG=1 while its loop makes progress and STOPPING=1; a
//     heartbeat URL (Settings.HeartbeatURL) is pinged while it is alive
//     and ready. It holds an exclusive
//     lock on its PID file for its whole life, so of monitors started at
//     once exactly one runs. The first SIGINT or SIGTERM stops new work
//     and waits for in-flight actions; a second one cuts the wait short.
//   - start runs the monitor detached (a new session, output to
//     <log dir>/<name>.out) and waits until it holds the PID file; stop
//     signals it, but only once the process is proved to be the monitor
//     holding the PID file (on Linux: it has the file open, checked on a
//     pidfd), so a stale PID file naming a stranger never leads to a signal.
//   - health-check, status (when no monitor runs) and recover build the
//     system once without state files and page nobody: without the state,
//     every run would open its alerts again.
//   - silence add, list and remove go through the running monitor's
//     /silences with the endpoint's bearer token (the variable the monitor
//     reads, URAS_ENDPOINT_TOKEN by default), or, with no monitor running,
//     into the root's state file (<state dir>/state-root.json), which the
//     next start reads.
//
// Logs are JSON records in one file per day, <name>-YYYY-MM-DD.log,
// rotated by size (lumberjack), and, in the foreground monitor, text on
// the terminal; logs prints them as aligned text. REDUNDANCY_LOG_LEVEL
// sets their level and <PART>_REDUNDANCY_LOG_LEVEL one part's (a record
// about a target takes its part's level, even when one orchestrator
// holds several parts); at DEBUG every check is logged. One
// redundancy.Redactor, fed with the Settings' secrets and the values of
// redundancy.SecretEnvNames, redacts every output: logs, terminal, JSON,
// the endpoint and the status file; text from outside is shown on the
// dashboard with its control characters escaped.
//
// Exit codes: 0 success (health-check: healthy), 1 failure (health-check:
// not healthy), 2 usage or configuration error, 3 status: not running,
// 4 start or monitor: already running.
//
// The configuration file is the launcher's to choose. LoadYAML (and YAML,
// a ready Command.Load) reads a YAML file into a type that embeds Config
// (logs, state, listen, hooks_listen, the default policy, alerts) inline
// beside its own sections, such as the providers' TargetConfigs: strictly,
// with one-line "config FILE:LINE: key: ..." errors, each section
// validated and its policy and alerts keys laid over the file's. A Build
// function reads the tokens the file names with Build.Secret, which
// registers them with the Redactor, gives its orchestrators Build.Options
// (logger, redactor, state file, alert routes) and adds the providers'
// groups with System.AddGroup (a part each, their notes, their webhook
// receivers).
//
// A launcher is a page of code (examples/launcher, examples/master and
// examples/ultimate are three):
//
//	type Config struct {
//		launch.Config `yaml:",inline"`
//		PM2           *pm2.TargetConfig `yaml:"pm2"`
//	}
//
//	func main() {
//		os.Exit(launch.Main(launch.Command[Config]{
//			Name: "mylauncher",
//			Load: launch.YAML[Config](defaultConfig), // -config FILE, else the embedded text
//			Build: func(ctx context.Context, cfg Config, b launch.Build) (*launch.System, error) {
//				g, err := pm2.NewTargets(ctx, cfg.PM2, pm2.WithLogger(b.Logger("pm2")))
//				if err != nil {
//					return nil, err
//				}
//				sys := &launch.System{Root: redundancy.New(b.Options("")...)}
//				// and your own targets, nested orchestrators (Parts), notifiers
//				return sys, sys.AddGroup(sys.Root, g)
//			},
//		}))
//	}
package launch
