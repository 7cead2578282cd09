package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uras-dev/uras/redundancy"
)

// statuses are the values of uras_target_status's status label.
var statuses = []redundancy.Status{redundancy.StatusHealthy, redundancy.StatusDegraded, redundancy.StatusUnhealthy, redundancy.StatusUnknown}

// Describe sends the descriptions of every metric.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.recoveries.Describe(ch)
	m.actions.Describe(ch)
	m.escalations.Describe(ch)
	m.received.Describe(ch)
	for _, d := range []*prometheus.Desc{m.checks, m.duration, m.lastSuccess, m.status, m.budget, m.escalated, m.source, m.alive,
		m.leading, m.rateRemaining, m.rateLimit, m.webhookQueue, m.webhookDropped, m.webhookResults} {
		ch <- d
	}
}

// Collect sends the counters and histograms, and reads the state of
// every watched orchestrator (its Snapshot and Liveness), the rate
// limits, webhooks and event sources for the gauges.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.recoveries.Collect(ch)
	m.actions.Collect(ch)
	m.escalations.Collect(ch)
	m.received.Collect(ch)

	m.mu.Lock()
	ws := make([]*watched, 0, len(m.order))
	for _, o := range m.order {
		ws = append(ws, m.watched[o])
	}
	webhooks, rates, sources := append([]webhook(nil), m.webhooks...), append([]rateLimit(nil), m.rates...), append([]source(nil), m.sources...)
	m.mu.Unlock()

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	// What was exported already, so that two Watch calls that overlap
	// never export one series twice (which fails the scrape).
	seen := map[seenKey]bool{}
	for _, w := range ws {
		w.collect(gauge, seen)
		w.collectChecks(ch)
	}
	for _, s := range sources {
		if k := (seenKey{"source", s.system, s.name}); !seen[k] {
			seen[k] = true
			gauge(m.source, bool01(s.c.Connected()), s.system, s.name)
		}
	}
	for _, r := range rates {
		rem, lim, ok := r.fn()
		if !ok {
			continue
		}
		gauge(m.rateRemaining, float64(rem), r.system, r.resource)
		gauge(m.rateLimit, float64(lim), r.system, r.resource)
	}
	for _, h := range webhooks {
		sent, failed, dropped := h.w.Stats()
		gauge(m.webhookQueue, float64(h.w.Queued()), h.name)
		ch <- prometheus.MustNewConstMetric(m.webhookDropped, prometheus.CounterValue, float64(dropped), h.name)
		ch <- prometheus.MustNewConstMetric(m.webhookResults, prometheus.CounterValue, float64(sent), h.name, "sent")
		ch <- prometheus.MustNewConstMetric(m.webhookResults, prometheus.CounterValue, float64(failed), h.name, "failed")
	}
}

type seenKey struct{ kind, system, target string }

// collect exports the state of w's targets.
func (w *watched) collect(gauge func(*prometheus.Desc, float64, ...string), seen map[seenKey]bool) {
	m := w.m
	snap := w.o.Snapshot()
	w.mu.RLock()
	type row struct {
		sys string
		ts  redundancy.TargetState
	}
	rows := make([]row, 0, len(snap.Targets))
	systems := map[string]bool{}
	for _, ts := range snap.Targets {
		sys, ok := w.systemOf(ts.Name)
		if k := (seenKey{"target", sys, ts.Name}); !ok || seen[k] {
			continue
		} else {
			seen[k] = true
		}
		if k := (seenKey{"alive", sys, ""}); !seen[k] {
			seen[k] = true
			systems[sys] = true
		}
		rows = append(rows, row{sys, ts})
	}
	w.mu.RUnlock()
	for _, r := range rows {
		ts := r.ts
		for _, st := range statuses {
			gauge(m.status, bool01(ts.Status == st), r.sys, ts.Name, st.String())
		}
		gauge(m.budget, float64(ts.BudgetLeft), r.sys, ts.Name)
		gauge(m.escalated, bool01(ts.Escalated), r.sys, ts.Name)
		if k := (seenKey{"source", r.sys, ts.Name}); ts.Source != redundancy.SourceNone && !seen[k] {
			seen[k] = true
			gauge(m.source, bool01(ts.Source == redundancy.SourceConnected), r.sys, ts.Name)
		}
	}
	if len(rows) > 0 {
		alive := bool01(w.o.Liveness().Alive)
		for sys := range systems {
			gauge(m.alive, alive, sys)
			if snap.Election != nil {
				gauge(m.leading, bool01(snap.Election.Leading), sys)
			}
		}
	}
}

// collectChecks exports the per-check counts of w's watched targets.
func (w *watched) collectChecks(ch chan<- prometheus.Metric) {
	m := w.m
	hs := *w.handles.Load()
	names := slices.Sorted(maps.Keys(hs))
	w.mu.RLock()
	systems := make([]string, len(names))
	for i, n := range names {
		systems[i], _ = w.systemOf(n)
	}
	w.mu.RUnlock()
	for i, name := range names {
		sys := systems[i]
		if sys == "" {
			continue // not (or no longer) watched
		}
		h := hs[name]
		for st := range h.checks {
			ch <- prometheus.MustNewConstMetric(m.checks, prometheus.CounterValue, float64(h.checks[st].Load()),
				sys, name, redundancy.Status(st).String())
		}
		cum := make(map[float64]uint64, len(m.buckets))
		var n uint64
		for b, bound := range m.buckets {
			n += h.buckets[b].Load()
			cum[bound] = n
		}
		n += h.buckets[len(m.buckets)].Load()
		ch <- prometheus.MustNewConstHistogram(m.duration, n, float64(h.sumNano.Load())/1e9, cum, sys, name)
		if last := h.lastSuccess.Load(); last != 0 {
			ch <- prometheus.MustNewConstMetric(m.lastSuccess, prometheus.GaugeValue, float64(last)/1e9, sys, name)
		}
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
