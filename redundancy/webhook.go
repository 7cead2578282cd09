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
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
)

// WebhookNotifier POSTs each event as JSON to a URL. Notify only queues the
// event (a bounded queue; when it is full the oldest event is dropped and
// counted), and one goroutine delivers them in order, each with a timeout
// and retries with exponential backoff on network errors, 429 and 5xx.
// Close stops it after the queue drains or its context ends.
//
// The body is {"time","target","event","from","to","action","attempt",
// "summary","error","findings"}; it never holds the URL, which may carry a
// secret, and the URL never appears in errors or logs.
type WebhookNotifier struct {
	url     string
	client  *http.Client
	headers http.Header
	retries uint64
	base    time.Duration
	log     *slog.Logger

	queue   chan Event
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	dropped int
	sent    int
	failed  int
}

// WebhookOption configures a WebhookNotifier.
type WebhookOption func(*WebhookNotifier)

// WithWebhookClient sets the HTTP client (default: a client with a 10s timeout).
func WithWebhookClient(c *http.Client) WebhookOption {
	return func(w *WebhookNotifier) { w.client = c }
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
			w.queue = make(chan Event, n)
		}
	}
}

// WithWebhookLogger sets where delivery failures are logged (default: discarded).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(w *WebhookNotifier) { w.log = l }
}

// NewWebhookNotifier starts a notifier posting to url. It fails for a URL
// that is not absolute http(s).
func NewWebhookNotifier(url string, opts ...WebhookOption) (*WebhookNotifier, error) {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return nil, errors.New("webhook notifier: URL must be an absolute http or https URL")
	}
	w := &WebhookNotifier{
		url: url, client: &http.Client{Timeout: 10 * time.Second}, headers: http.Header{},
		retries: 3, base: time.Second, log: discardLogger(),
		queue: make(chan Event, 256), done: make(chan struct{}),
	}
	for _, o := range opts {
		o(w)
	}
	go w.loop()
	return w, nil
}

// Notify queues e for delivery and returns at once.
func (w *WebhookNotifier) Notify(_ context.Context, e Event) error {
	for {
		select {
		case w.queue <- e:
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

// Stats returns how many events were delivered, failed after their retries,
// and were dropped from a full queue.
func (w *WebhookNotifier) Stats() (sent, failed, dropped int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent, w.failed, w.dropped
}

// Close delivers what is queued and stops, or gives up when ctx ends.
func (w *WebhookNotifier) Close(ctx context.Context) error {
	w.once.Do(func() { close(w.queue) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook notifier: close: %w", ctx.Err())
	}
}

func (w *WebhookNotifier) loop() {
	defer close(w.done)
	for e := range w.queue {
		err := w.deliver(e)
		w.mu.Lock()
		if err != nil {
			w.failed++
		} else {
			w.sent++
		}
		w.mu.Unlock()
		if err != nil {
			w.log.Warn("webhook delivery failed", "target", e.Target, "event", e.Kind.String(), "err", err)
		}
	}
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
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

func (w *WebhookNotifier) deliver(e Event) error {
	body := webhookBody{Time: e.Time, Target: e.Target, Event: e.Kind, Action: e.Action, Attempt: e.Attempt,
		Summary: e.Report.Summary, Findings: e.Report.Findings}
	if e.Kind == EventStatusChanged {
		body.From, body.To = &e.From, &e.To
	}
	if e.Err != nil {
		body.Error = e.Err.Error()
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhook: encode event: %w", err)
	}
	b := retry.WithMaxRetries(w.retries, retry.NewExponential(w.base))
	return retry.Do(context.Background(), b, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "uras-redundancy")
		for k, vs := range w.headers {
			req.Header[k] = vs
		}
		resp, err := w.client.Do(req)
		if err != nil {
			// The error from net/http quotes the URL; keep it out.
			var uerr interface{ Unwrap() error }
			if errors.As(err, &uerr) && uerr.Unwrap() != nil {
				err = uerr.Unwrap()
			}
			return retry.RetryableError(fmt.Errorf("webhook: post: %w", err))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return retry.RetryableError(fmt.Errorf("webhook: answered %s", resp.Status))
		default:
			return fmt.Errorf("webhook: answered %s", resp.Status)
		}
	})
}
