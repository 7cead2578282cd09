package redundancy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
)

// WebhookNotifier POSTs each event (Notify) and each alert notice
// (NotifyAlert) as JSON to a URL: register it with WithAlertNotifier for
// alerts, WithNotifier for raw events. Notify and NotifyAlert only queue
// (a bounded queue; when it is full the oldest item is dropped and
// counted), and one goroutine delivers them in order, each with a timeout
// and retries with exponential backoff on network errors, 429 and 5xx.
// Close stops it after the queue drains or its context ends.
//
// An event's body is {"type":"event","time","target","event","from","to",
// "action","attempt","summary","error","findings"}; an alert's is the
// Alert's JSON with "type":"alert" ("key", "notice", "state", "severity",
// "first_seen", "opened", "resolved", ...). NewSlackNotifier posts
// {"text": ...} instead. A body never holds the URL, which may carry a
// secret, and the URL never appears in errors or logs. With
// WithWebhookRedactor the body's text is redacted. A redirect is followed
// only to the same scheme and host; a redirect elsewhere is not followed
// (the delivery fails), so neither the body nor the headers cross hosts,
// and no Referer is ever sent.
type WebhookNotifier struct {
	url     string
	client  *http.Client
	headers http.Header
	retries uint64
	base    time.Duration
	log     *slog.Logger
	red     *Redactor
	slack   bool // post {"text": ...} (NewSlackNotifier)

	queue   chan webhookItem
	done    chan struct{}
	stop    context.Context // ends when Close gives up: the delivery in flight is abandoned
	cancel  context.CancelFunc
	once    sync.Once
	mu      sync.Mutex
	dropped int
	sent    int
	failed  int
}

// WebhookOption configures a WebhookNotifier.
type WebhookOption func(*WebhookNotifier)

// WithWebhookClient sets the HTTP client (default: a client with a 10s
// timeout). The notifier uses a copy whose redirect policy is its own
// (same scheme and host only, no Referer) before c's CheckRedirect.
func WithWebhookClient(c *http.Client) WebhookOption {
	return func(w *WebhookNotifier) {
		if c != nil {
			w.client = c
		}
	}
}

// WithWebhookRedactor redacts the text of every body (summary, error,
// action, findings) with r.
func WithWebhookRedactor(r *Redactor) WebhookOption {
	return func(w *WebhookNotifier) { w.red = r }
}

// WithWebhookHeader adds a header to every request (e.g. an authorization).
func WithWebhookHeader(key, value string) WebhookOption {
	return func(w *WebhookNotifier) { w.headers.Add(key, value) }
}

// WithWebhookRetry sets the retries after a failed delivery (default 3) and
// the first pause between them, doubling (default 1s).
func WithWebhookRetry(retries int, base time.Duration) WebhookOption {
	return func(w *WebhookNotifier) {
		if retries >= 0 {
			w.retries = uint64(retries)
		}
		if base > 0 {
			w.base = base
		}
	}
}

// WithWebhookQueue sets the queue length (default 256).
func WithWebhookQueue(n int) WebhookOption {
	return func(w *WebhookNotifier) {
		if n > 0 {
			w.queue = make(chan webhookItem, n)
		}
	}
}

// WithWebhookLogger sets where delivery failures are logged (default: discarded).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(w *WebhookNotifier) {
		if l != nil {
			w.log = l
		}
	}
}

// NewWebhookNotifier starts a notifier posting to url. It fails for a URL
// that is not absolute http(s).
func NewWebhookNotifier(url string, opts ...WebhookOption) (*WebhookNotifier, error) {
	w, err := newWebhook(url)
	if err != nil {
		return nil, err
	}
	return w.start(opts)
}

// newWebhook checks url and returns a notifier with the defaults, not
// started.
func newWebhook(url string) (*WebhookNotifier, error) {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return nil, errors.New("redundancy: webhook notifier: URL must be an absolute http or https URL")
	}
	return &WebhookNotifier{
		url: url, client: &http.Client{Timeout: 10 * time.Second}, headers: http.Header{},
		retries: 3, base: time.Second, log: discardLogger(),
		queue: make(chan webhookItem, 256), done: make(chan struct{}),
	}, nil
}

// start applies opts and starts the delivery goroutine.
func (w *WebhookNotifier) start(opts []WebhookOption) (*WebhookNotifier, error) {
	for _, o := range opts {
		if o != nil {
			o(w)
		}
	}
	c := *w.client
	c.CheckRedirect = sameHostRedirects(w.client.CheckRedirect)
	w.client = &c
	w.stop, w.cancel = context.WithCancel(context.Background())
	go w.loop()
	return w, nil
}

// sameHostRedirects is the webhook's redirect policy: follow only to the
// same scheme and host (then next, if set), never send a Referer; a
// redirect elsewhere is answered with the redirect response itself, which
// the delivery reports as a failure.
func sameHostRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		req.Header.Del("Referer")
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			return http.ErrUseLastResponse
		}
		if len(via) >= 5 {
			return errors.New("redundancy: webhook: too many redirects")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// webhookItem is one queued delivery: an event or an alert notice.
type webhookItem struct {
	ev *Event
	al *Alert
}

func (it webhookItem) target() string {
	if it.al != nil {
		return it.al.Target
	}
	return it.ev.Target
}

func (it webhookItem) what() string {
	if it.al != nil {
		return "alert " + it.al.Notice.String() + " " + it.al.Key
	}
	return it.ev.Kind.String()
}

var (
	_ Notifier      = (*WebhookNotifier)(nil)
	_ AlertNotifier = (*WebhookNotifier)(nil)
)

// Notify queues e for delivery and returns at once.
func (w *WebhookNotifier) Notify(_ context.Context, e Event) error {
	return w.enqueue(webhookItem{ev: &e})
}

// NotifyAlert queues a for delivery and returns at once.
func (w *WebhookNotifier) NotifyAlert(_ context.Context, a Alert) error {
	return w.enqueue(webhookItem{al: &a})
}

func (w *WebhookNotifier) enqueue(it webhookItem) error {
	for {
		select {
		case w.queue <- it:
			return nil
		default:
		}
		select { // full: drop the oldest
		case <-w.queue:
			w.mu.Lock()
			w.dropped++
			w.mu.Unlock()
		default:
		}
	}
}

// Stats returns how many events and notices were delivered, failed after
// their retries, and were dropped from a full queue.
func (w *WebhookNotifier) Stats() (sent, failed, dropped int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent, w.failed, w.dropped
}

// Queued returns how many events wait in the queue for delivery.
func (w *WebhookNotifier) Queued() int { return len(w.queue) }

// Close delivers what is queued and stops, or gives up when ctx ends: the
// delivery in flight is then abandoned and the rest of the queue dropped.
func (w *WebhookNotifier) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.queue) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.cancel()
		return fmt.Errorf("redundancy: webhook notifier: close: %w", ctx.Err())
	}
}

func (w *WebhookNotifier) loop() {
	defer close(w.done)
	defer w.cancel()
	for it := range w.queue {
		if w.stop.Err() != nil {
			w.mu.Lock()
			w.dropped++
			w.mu.Unlock()
			continue
		}
		err := w.deliver(w.stop, it)
		w.mu.Lock()
		if err != nil {
			w.failed++
		} else {
			w.sent++
		}
		w.mu.Unlock()
		if err != nil {
			w.log.Warn("webhook delivery failed", "target", it.target(), "what", it.what(), "err", err)
		}
	}
}

// webhookBody is the JSON a webhook receives for an event.
type webhookBody struct {
	Type     string    `json:"type"` // "event"
	Time     time.Time `json:"time"`
	Target   string    `json:"target"`
	Event    EventKind `json:"event"`
	From     *Status   `json:"from,omitempty"`
	To       *Status   `json:"to,omitempty"`
	Action   string    `json:"action,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Error    string    `json:"error,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// alertBody is the JSON a webhook (and a CommandNotifier) receives for an
// alert notice.
type alertBody struct {
	Type string `json:"type"` // "alert"
	Alert
}

// eventBody encodes an event for a webhook.
func eventBody(e Event) ([]byte, error) {
	body := webhookBody{Type: "event", Time: e.Time, Target: e.Target, Event: e.Kind, Action: e.Action, Attempt: e.Attempt,
		Summary: e.Report.Summary, Findings: e.Report.Findings}
	if e.Kind == EventStatusChanged {
		body.From, body.To = &e.From, &e.To
	}
	if e.Err != nil {
		body.Error = e.Err.Error()
	}
	return json.Marshal(body)
}

// encodeAlert encodes an alert notice (already redacted) as JSON.
func encodeAlert(a Alert) ([]byte, error) { return json.Marshal(alertBody{Type: "alert", Alert: a}) }

// body encodes it, redacted, in the notifier's format.
func (w *WebhookNotifier) body(it webhookItem) ([]byte, error) {
	switch {
	case it.al != nil && w.slack:
		return slackBody(slackAlertText(redactAlert(w.red, *it.al)))
	case it.al != nil:
		return encodeAlert(redactAlert(w.red, *it.al))
	case w.slack:
		return slackBody(redactEvent(w.red, *it.ev).String())
	}
	return eventBody(redactEvent(w.red, *it.ev))
}

func (w *WebhookNotifier) deliver(ctx context.Context, it webhookItem) error {
	data, err := w.body(it)
	if err != nil {
		return fmt.Errorf("redundancy: webhook: encode %s: %w", it.what(), err)
	}
	b := retry.WithMaxRetries(w.retries, retry.NewExponential(w.base))
	return retry.Do(ctx, b, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(data))
		if err != nil {
			return errors.New("redundancy: webhook: cannot build the request")
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "uras-redundancy")
		for k, vs := range w.headers {
			req.Header[k] = vs
		}
		resp, err := w.client.Do(req)
		if err != nil {
			return retry.RetryableError(fmt.Errorf("redundancy: webhook: post: %w", w.scrub(err)))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			return fmt.Errorf("redundancy: webhook: answered %d (redirects are followed to the same host only)", resp.StatusCode)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return retry.RetryableError(fmt.Errorf("redundancy: webhook: answered %d", resp.StatusCode))
		default:
			return fmt.Errorf("redundancy: webhook: answered %d", resp.StatusCode)
		}
	})
}

// scrub keeps the URL (which may carry a secret in its path or query) out
// of a transport error: net/http's *url.Error quotes it.
func (w *WebhookNotifier) scrub(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if err == nil {
		return errors.New("request failed")
	}
	msg := err.Error()
	u, perr := url.Parse(w.url)
	if strings.Contains(msg, w.url) || perr == nil && u.RequestURI() != "/" && strings.Contains(msg, u.RequestURI()) {
		return &redactedError{msg: "request failed (message withheld: it quoted the URL)", err: err}
	}
	return err
}
