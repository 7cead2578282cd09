package metrics

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultBuckets are the check-duration histogram's buckets, in seconds:
// from 5ms to a minute (a check times out at its Policy.Timeout, 10s by
// default).
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Option configures Metrics.
type Option func(*config)

type config struct {
	buckets []float64
}

// WithBuckets sets the check-duration histogram's buckets, in seconds
// (default DefaultBuckets).
func WithBuckets(b ...float64) Option {
	return func(c *config) {
		if len(b) > 0 {
			c.buckets = b
		}
	}
}

// Metrics is a prometheus.Collector of orchestrators' work: register it
// on a registry, then Watch each orchestrator. See the package doc for
// the metrics. It is safe for concurrent use.
type Metrics struct {
	buckets []float64
	// The per-check metrics are counted in each target's handles (a few
	// atomics side by side, cheap on the check path) and exported from
	// them at scrape time.
	checks, duration, lastSuccess *prometheus.Desc

	recoveries  *prometheus.CounterVec
	actions     *prometheus.CounterVec
	escalations *prometheus.CounterVec
	received    *prometheus.CounterVec

	status, budget, escalated, source, alive     *prometheus.Desc
	leading                                      *prometheus.Desc
	rateRemaining, rateLimit                     *prometheus.Desc
	webhookQueue, webhookDropped, webhookResults *prometheus.Desc

	mu       sync.Mutex
	watched  map[*redundancy.Orchestrator]*watched
	order    []*redundancy.Orchestrator
	webhooks []webhook
	rates    []rateLimit
	sources  []source
}

var _ prometheus.Collector = (*Metrics)(nil)

// New returns metrics that watch nothing yet.
func New(opts ...Option) *Metrics {
	c := config{buckets: DefaultBuckets}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	tl := []string{"system", "target"}
	b := slices.Clone(c.buckets)
	slices.Sort(b)
	return &Metrics{
		buckets: slices.Compact(b),
		checks: prometheus.NewDesc("uras_checks_total",
			"Checks run, by the status the check reported (healthy, degraded, unhealthy, unknown).", append(tl, "result"), nil),
		duration: prometheus.NewDesc("uras_check_duration_seconds",
			"How long checks took, on the orchestrator's clock.", tl, nil),
		lastSuccess: prometheus.NewDesc("uras_target_last_success_timestamp_seconds",
			"When a check last reported the target healthy (Unix time).", tl, nil),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uras_recoveries_total",
			Help: "Recovery attempts, by result (succeeded, failed)."}, append(tl, "result")),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uras_actions_total",
			Help: "Recovery actions run, by verb and result (succeeded, failed)."}, append(tl, "verb", "result")),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uras_escalations_total",
			Help: "Times a target was escalated: its recovery budget or options were spent."}, tl),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uras_webhook_requests_total",
			Help: "Requests to a webhook receiver (GitHub, Netlify deliveries), by the HTTP status answered: 202 accepted, 401 bad signature, 413 too large."},
			[]string{"receiver", "code"}),

		status: prometheus.NewDesc("uras_target_status",
			"The target's status after thresholds: 1 for the current status, 0 for the others.", append(tl, "status"), nil),
		budget: prometheus.NewDesc("uras_recovery_budget_remaining",
			"Recovery attempts left in the target's budget window.", tl, nil),
		escalated: prometheus.NewDesc("uras_target_escalated",
			"1 while the target is escalated (no automatic recovery), else 0.", tl, nil),
		source: prometheus.NewDesc("uras_event_source_connected",
			"1 while the event source (PM2's event socket, a webhook receiver) is connected, else 0.", tl, nil),
		alive: prometheus.NewDesc("uras_loop_alive",
			"1 while the orchestrator's loop makes progress (the liveness probe), else 0.", []string{"system"}, nil),
		leading: prometheus.NewDesc("uras_election_leading",
			"1 while this monitor leads its group and so repairs the shared targets (redundancy.WithElection), else 0.", []string{"system"}, nil),
		rateRemaining: prometheus.NewDesc("uras_api_rate_limit_remaining",
			"API calls left in the current rate-limit window, as the API last reported.", []string{"system", "resource"}, nil),
		rateLimit: prometheus.NewDesc("uras_api_rate_limit",
			"API calls allowed in a rate-limit window, as the API last reported.", []string{"system", "resource"}, nil),
		webhookQueue: prometheus.NewDesc("uras_webhook_queue_depth",
			"Events waiting in the webhook notifier's queue.", []string{"webhook"}, nil),
		webhookDropped: prometheus.NewDesc("uras_webhook_dropped_total",
			"Events dropped from the webhook notifier's full queue.", []string{"webhook"}, nil),
		webhookResults: prometheus.NewDesc("uras_webhook_deliveries_total",
			"Webhook deliveries, by result (sent, failed after retries).", []string{"webhook", "result"}, nil),

		watched: map[*redundancy.Orchestrator]*watched{},
	}
}

// Watch counts the checks, recoveries, actions and escalations of o and
// exports its targets' state, labelled system. With targets given, only
// those targets are labelled system (call Watch again on the same
// orchestrator for its other targets, as a launcher with one orchestrator
// over several systems does); with none, every target of o not claimed by
// another Watch call. The returned function stops watching o.
func (m *Metrics) Watch(o *redundancy.Orchestrator, system string, targets ...string) (stop func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.watched[o]
	if !ok {
		w = &watched{m: m, o: o, systems: map[string]string{}}
		w.handles.Store(&map[string]*handles{})
		m.watched[o] = w
		m.order = append(m.order, o)
		cancelChecks := o.SubscribeChecks(w.onCheck)
		cancelEvents := o.Subscribe(w.onEvent)
		w.cancel = func() { cancelChecks(); cancelEvents() }
	}
	w.mu.Lock()
	if len(targets) == 0 {
		w.all = system
	}
	for _, t := range targets {
		w.systems[t] = system
	}
	w.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.watched[o] != w {
			return
		}
		w.cancel()
		delete(m.watched, o)
		for i, x := range m.order {
			if x == o {
				m.order = append(m.order[:i], m.order[i+1:]...)
				break
			}
		}
	}
}

// WebhookStats is what the webhook metrics read: redundancy.WebhookNotifier
// has both methods.
type WebhookStats interface {
	Stats() (sent, failed, dropped int)
	Queued() int
}

type webhook struct {
	name string
	w    WebhookStats
}

// Webhook exports a webhook notifier's queue depth, drops and deliveries
// under name (give it a name such as "alerts-0", never its URL, which may
// hold a secret).
func (m *Metrics) Webhook(name string, w WebhookStats) {
	if w == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.webhooks = append(m.webhooks, webhook{name, w})
}

// Receiver returns h counting its requests by the status it answers
// (uras_webhook_requests_total{receiver,code}): a webhook receiver's
// deliveries accepted (202), ignored or replayed (200), refused for a bad
// signature (401), too large (413) or malformed (400, 415). name names
// the receiver ("github"), never its URL.
func (m *Metrics) Receiver(name string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(m.received.MustCurryWith(prometheus.Labels{"receiver": name}), h)
}

type rateLimit struct {
	system, resource string
	fn               func() (remaining, limit int, ok bool)
}

// RateLimit exports an API's rate limit (uras_api_rate_limit_remaining
// and uras_api_rate_limit), read from fn at every scrape; fn returns ok
// false while the API has not reported it yet (nothing is exported then).
// A provider's client offers such a function; for ghactions:
//
//	m.RateLimit("github", "core", func() (int, int, bool) {
//		r := transport.Rate()
//		return r.Remaining, r.Limit, r.Known()
//	})
func (m *Metrics) RateLimit(system, resource string, fn func() (remaining, limit int, ok bool)) {
	if fn == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rates = append(m.rates, rateLimit{system, resource, fn})
}

type source struct {
	system, name string
	c            redundancy.ConnectionReporter
}

// EventSource exports the connection of an event source that is not a
// target's Source or Checker (those are exported by Watch), such as a
// PM2 event checker run beside the orchestrator, under the target name
// it wakes.
func (m *Metrics) EventSource(system, target string, c redundancy.ConnectionReporter) {
	if c == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources = append(m.sources, source{system, target, c})
}

// watched is one orchestrator being watched.
type watched struct {
	m      *Metrics
	o      *redundancy.Orchestrator
	cancel func()

	mu      sync.RWMutex
	all     string            // the system of targets not in systems ("": not ours)
	systems map[string]string // target -> system
	// handles maps a target to its counts; replaced (copied) when a
	// target is first seen, so that a check reads it without a lock.
	handles atomic.Pointer[map[string]*handles]
}

// handles are one target's per-check counts.
type handles struct {
	checks  [4]atomic.Uint64 // by redundancy.Status
	buckets []atomic.Uint64  // observations per bucket (not cumulative); the last is +Inf
	sumNano atomic.Int64     // total duration
	// lastSuccess is the Unix time in nanoseconds of the end of the last
	// healthy check; 0: none yet (nothing is exported then).
	lastSuccess atomic.Int64
}

// systemOf returns the system of target, or false when it is not watched.
func (w *watched) systemOf(target string) (string, bool) {
	if s, ok := w.systems[target]; ok {
		return s, true
	}
	return w.all, w.all != ""
}

// addHandles returns target's counts, made the first time (the slow path
// of onCheck, apart to keep the check path's stack small).
//
//go:noinline
func (w *watched) addHandles(target string) *handles {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := *w.handles.Load()
	if h, ok := old[target]; ok {
		return h
	}
	h := &handles{buckets: make([]atomic.Uint64, len(w.m.buckets)+1)}
	next := make(map[string]*handles, len(old)+1)
	maps.Copy(next, old)
	next[target] = h
	w.handles.Store(&next)
	return h
}

func (w *watched) onCheck(c redundancy.CheckObservation) {
	h, ok := (*w.handles.Load())[c.Target]
	if !ok {
		h = w.addHandles(c.Target)
	}
	if st := int(c.Status); st >= 0 && st < len(h.checks) {
		h.checks[st].Add(1)
	}
	secs := c.Duration.Seconds()
	i, _ := slices.BinarySearch(w.m.buckets, secs) // the first bucket whose bound is >= secs
	h.buckets[i].Add(1)
	h.sumNano.Add(int64(c.Duration))
	if c.Status == redundancy.StatusHealthy {
		h.lastSuccess.Store(c.Started.Add(c.Duration).UnixNano())
	}
}

func (w *watched) onEvent(e redundancy.Event) {
	switch e.Kind {
	case redundancy.EventRecoverySucceeded, redundancy.EventRecoveryFailed, redundancy.EventActionSucceeded,
		redundancy.EventActionFailed, redundancy.EventEscalated:
	default:
		return
	}
	w.mu.RLock()
	sys, ok := w.systemOf(e.Target)
	w.mu.RUnlock()
	if !ok {
		return
	}
	switch e.Kind {
	case redundancy.EventRecoverySucceeded:
		w.m.recoveries.WithLabelValues(sys, e.Target, "succeeded").Inc()
	case redundancy.EventRecoveryFailed:
		w.m.recoveries.WithLabelValues(sys, e.Target, "failed").Inc()
	case redundancy.EventActionSucceeded:
		w.m.actions.WithLabelValues(sys, e.Target, verbOf(e), "succeeded").Inc()
	case redundancy.EventActionFailed:
		w.m.actions.WithLabelValues(sys, e.Target, verbOf(e), "failed").Inc()
	case redundancy.EventEscalated:
		w.m.escalations.WithLabelValues(sys, e.Target).Inc()
	}
}

// verbOf returns the event's verb: never the subject, which may name a
// process or a run (high cardinality).
func verbOf(e redundancy.Event) string {
	if e.Verb != "" {
		return e.Verb
	}
	v, _, _ := strings.Cut(e.Action, " ")
	return v
}
