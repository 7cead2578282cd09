// Package metrics exports the work of redundancy orchestrators to
// Prometheus (github.com/prometheus/client_golang). It is a sub-package so
// that the core, and every program that uses it without metrics, links
// none of client_golang: the core only offers the seams it reads
// (Orchestrator.SubscribeChecks, Subscribe, Snapshot, Liveness,
// redundancy.ConnectionReporter, WebhookNotifier.Stats).
//
// A Metrics is a prometheus.Collector: register it on your own registry
// and Watch each orchestrator with the system its targets belong to:
//
//	m := metrics.New()
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(m)
//	m.Watch(orch, "pm2")
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics, labelled by system and target (and by verb and result;
// never by a process id, a run id or a URL, so their number stays that of
// the targets):
//
//	uras_target_status{status}                   gauge: 1 for the target's status, 0 for the other three
//	uras_checks_total{result}                    counter: checks, by the status they reported
//	uras_check_duration_seconds                  histogram: how long checks took
//	uras_target_last_success_timestamp_seconds   gauge: when a check last said healthy
//	uras_recoveries_total{result}                counter: recovery attempts, succeeded or failed
//	uras_actions_total{verb,result}              counter: actions run, succeeded or failed
//	uras_escalations_total                       counter: escalations
//	uras_recovery_budget_remaining               gauge: attempts left in the budget window
//	uras_target_escalated                        gauge: 1 while escalated
//	uras_event_source_connected                  gauge: 1 while the event source is connected
//	uras_loop_alive{system}                      gauge: 1 while the loop makes progress (Liveness)
//	uras_api_rate_limit_remaining{system,resource}  gauge: from RateLimit (GitHub's core limit)
//	uras_api_rate_limit{system,resource}            gauge: the window's allowance
//	uras_webhook_queue_depth{webhook}            gauge: events waiting (Webhook)
//	uras_webhook_dropped_total{webhook}          counter: events dropped from a full queue
//	uras_webhook_deliveries_total{webhook,result}  counter: sent, failed
//	uras_webhook_requests_total{receiver,code}   counter: deliveries received, by status answered (Receiver)
//
// Counting adds one synchronous call per check (a map look-up, a counter
// and a histogram observation); the gauges are read at scrape time.
package metrics
