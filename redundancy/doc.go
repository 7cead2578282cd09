// Package redundancy is the core of uras: an Orchestrator that keeps
// targets alive by checking them and running recovery plans.
//
// A Target pairs a Checker (what is wrong?) with a Recoverer (what would fix
// it?) under a Policy (how often, how patient, how many tries). Providers
// (pm2, ghactions, netlify) supply checkers and recoverers; a ten-line
// target needs only CheckerFunc and RecovererFunc.
//
// The model:
//
//   - A check returns a Report: a Status (healthy, degraded, unhealthy, or
//     unknown when the check itself could not run) and Findings, each with
//     a stable Problem code.
//   - A target turns degraded or unhealthy only after FailureThreshold
//     consecutive bad reports; then its recoverer plans Actions and the
//     orchestrator runs them one by one, each retried (go-retry), stopping
//     at the first that still fails. Unknown reports never trigger a
//     recovery, unless Policy.UnknownIsFailing says a check that cannot
//     run is itself the failure.
//   - Attempts are spaced by an exponential Backoff and capped by a Budget;
//     past it the target is escalated: an EventEscalated event, no more
//     actions, checks go on. Being healthy again (past SuccessThreshold,
//     and Policy.EscalationHold if set) or a forced RecoverNow clears it.
//   - After a recovery the target needs SuccessThreshold healthy checks to
//     be healthy again.
//
// Every change is an Event for subscribers and Notifiers (SlogNotifier,
// WebhookNotifier, EscalationNotifier). What should page people is an
// Alert, for AlertNotifiers (WebhookNotifier, NewSlackNotifier,
// CommandNotifier): one per target and problem, opened once past the
// threshold (after the repair, when it works at once, is given its
// chance: AlertPolicy), re-sent at most every AlertPolicy.Renotify,
// raised on escalation, resolved when the target is healthy again, with a
// stable key. A target that keeps going bad raises one flapping alert.
// Silences and maintenance windows (Silence) keep alerts from the
// notifiers and may pause repairs; Target.DependsOn and ProblemDeps make
// a failing dependency the one alert for what follows from it, and hold
// back the repairs that cannot work.
//
// WithStateFile persists counters, budgets, escalation, alerts, silences
// and the last 100 action results per target. Handler
// serves the state as application/health+json. WithRedactor keeps
// registered secrets out of all of it. Nest makes one orchestrator a target
// of another: a master watches and repairs child orchestrators, one per
// system, each keeping its own policies and budgets.
//
// Operating it: LivenessHandler (/livez) fails when the loop stops making
// progress (checks overdue, a check or action past its timeout),
// ReadinessHandler (/readyz) when a critical target fails (a
// Target.Criticality of NonCritical only warns, in Handler too).
// SubscribeChecks sees every check, for metrics: package
// redundancy/metrics exports all of it to Prometheus. At debug level the
// logger gets one line per check and per decision not to recover.
//
// Manual control: CheckNow checks without recovering, Plan is the dry run,
// RecoverNow recovers at once (Force past the budget). Run stops starting
// work when its context ends, lets the action in flight finish, records
// it, saves the state and returns.
//
// Start with New, Add and Run:
//
//	o := redundancy.New(redundancy.WithLogger(logger))
//	err := o.Add(redundancy.Target{Name: "api", Checker: checker, Recoverer: recoverer})
//	go o.Run(ctx)
//	http.Handle("/health", o.Handler())
//	http.Handle("/livez", o.LivenessHandler())
//	http.Handle("/readyz", o.ReadinessHandler())
//
// Test code built on it with package redundancytest: a FakeClock to drive
// time, scripted checkers and recoverers, and an event Recorder.
package redundancy
