package ghactions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/uras-dev/uras/internal/webhook"
	"github.com/uras-dev/uras/redundancy"
)

// Webhook deliveries as GitHub sends them.
const (
	// DefaultWebhookMaxBody caps a delivery's body. GitHub caps payloads
	// at 25 MB; a workflow_run or workflow_job payload is a few tens of
	// kilobytes.
	DefaultWebhookMaxBody = 1 << 20
	// DefaultWebhookMemory is how many deliveries a Webhook remembers (by
	// X-GitHub-Delivery and by body) to ignore their replays.
	DefaultWebhookMemory = 4096
	// SafetyNetInterval is the check interval suggested for a repository
	// target woken by webhooks (Webhook.Source): polling only catches what
	// a lost delivery would have told (GitHub does not redeliver by
	// itself), so it can be twenty times rarer than
	// redundancy.DefaultInterval. It is also how old the last full reading
	// may be for a check to judge delivered runs without calling GitHub.
	SafetyNetInterval = 10 * time.Minute
)

// WebhookOption tunes NewWebhook.
type WebhookOption func(*Webhook)

// WithWebhookMaxBody caps the body of a delivery; a longer one is refused
// with 413 (default DefaultWebhookMaxBody).
func WithWebhookMaxBody(n int64) WebhookOption {
	return func(h *Webhook) {
		if n > 0 {
			h.maxBody = n
		}
	}
}

// WithWebhookMemory sets how many deliveries are remembered to ignore
// their replays (default DefaultWebhookMemory).
func WithWebhookMemory(n int) WebhookOption {
	return func(h *Webhook) {
		if n > 0 {
			h.memory = n
		}
	}
}

// WithWebhookLogger logs refused deliveries (warnings, at most one a
// minute) and accepted ones (debug). Bodies and signatures are never
// logged. Default: no log.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *Webhook) {
		if l != nil {
			h.log = l
		}
	}
}

// Webhook receives GitHub's webhook deliveries for workflow runs and wakes
// the targets of the repositories they are about: mount it on a listener
// GitHub can reach (e.g. as /hooks/github), subscribe the repository's
// webhook to "Workflow runs" (and, if wanted, "Workflow jobs"), and give
// each repository target the Source of its Checker.
//
// For every POST the handler reads at most the configured body size (413
// beyond), verifies X-Hub-Signature-256 (HMAC-SHA256 with the webhook's
// secret, compared in constant time by go-github's ValidatePayload; the
// older SHA-1 header is not accepted; 401 otherwise, counted, never logged
// with the body or the signature), ignores a delivery it has seen already
// (by X-GitHub-Delivery or by body; 200), and answers before it does
// anything else; nothing it does after blocks.
//
//   - workflow_run (requested, in_progress, completed): the run goes to the
//     repository's checkers, which judge it at their next check without
//     calling GitHub (see Checker.Check), and their targets are woken
//     (202). A run that completed in failure is thus re-run with no list
//     call in between.
//   - workflow_job completed with a conclusion that is not success,
//     neutral or skipped: the targets are woken (202) for a full check; a
//     job's other actions change nothing a check judges (200, ignored).
//   - ping: 200. Other events: 200, ignored.
//
// It is safe for concurrent use.
type Webhook struct {
	secret  []byte
	maxBody int64
	memory  int
	log     *slog.Logger
	seen    *webhook.Seen
	router  webhook.Router[*Checker]
	warn    webhook.Throttle

	accepted, unrouted, duplicates, ignored, badSignature, tooLarge, malformed, badMethod atomic.Int64
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns a handler of deliveries signed with secret (the
// webhook's secret; required: unsigned deliveries are refused). The caller
// reads the secret; no environment variable is read here.
func NewWebhook(secret []byte, opts ...WebhookOption) (*Webhook, error) {
	if len(secret) == 0 {
		return nil, errors.New("ghactions: NewWebhook: the webhook secret is empty (unsigned deliveries would be accepted)")
	}
	h := &Webhook{
		secret:  append([]byte(nil), secret...),
		maxBody: DefaultWebhookMaxBody,
		memory:  DefaultWebhookMemory,
		log:     slog.New(slog.DiscardHandler),
		warn:    webhook.Throttle{Period: time.Minute},
	}
	for _, o := range opts {
		o(h)
	}
	h.seen = webhook.NewSeen(h.memory)
	return h, nil
}

// Source returns the event source of c's target: while it is watched,
// deliveries about c's repository go to c and wake the target.
func (h *Webhook) Source(c *Checker) redundancy.EventSource {
	if c == nil {
		return redundancy.EventSourceFunc(func(ctx context.Context, _ func()) error {
			return errors.New("ghactions: Webhook.Source: checker is nil")
		})
	}
	return h.router.Source(c.repo.FullName(), c)
}

// WebhookStats counts what a Webhook did with the requests it received.
type WebhookStats struct {
	Accepted     int64 // verified deliveries that woke at least one target
	Unrouted     int64 // verified deliveries about a repository no source watches
	Duplicates   int64 // replays of a delivery already received (200, nothing woken)
	Ignored      int64 // verified deliveries of events or actions that wake nothing (ping included)
	BadSignature int64 // refused with 401: signature missing, not SHA-256, wrong secret, body tampered
	TooLarge     int64 // refused with 413
	Malformed    int64 // refused with 400 or 415: no event or delivery header, a body that is not the event, an unsupported content type
	BadMethod    int64 // refused with 405: not a POST
	Watchers     int   // event sources watching now (one per target being run)
}

// Stats returns the counts so far.
func (h *Webhook) Stats() WebhookStats {
	return WebhookStats{
		Accepted: h.accepted.Load(), Unrouted: h.unrouted.Load(), Duplicates: h.duplicates.Load(),
		Ignored: h.ignored.Load(), BadSignature: h.badSignature.Load(), TooLarge: h.tooLarge.Load(),
		Malformed: h.malformed.Load(), BadMethod: h.badMethod.Load(), Watchers: h.router.Len(),
	}
}

// ServeHTTP handles one delivery.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.badMethod.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "ghactions: webhook deliveries are POSTed", http.StatusMethodNotAllowed)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" && ct != "application/x-www-form-urlencoded" {
		h.malformed.Add(1)
		h.refused(r, "unsupported content type", "content_type", ct)
		http.Error(w, "ghactions: a delivery is application/json or application/x-www-form-urlencoded", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.tooLarge.Add(1)
			h.refused(r, "body over the size cap", "cap", h.maxBody)
			http.Error(w, fmt.Sprintf("ghactions: delivery body over %d bytes", h.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		h.malformed.Add(1)
		http.Error(w, "ghactions: delivery body could not be read", http.StatusBadRequest)
		return
	}
	sig := r.Header.Get(github.SHA256SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") {
		h.badSignature.Add(1)
		h.refused(r, "no X-Hub-Signature-256")
		http.Error(w, "ghactions: missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	payload, err := github.ValidatePayloadFromBody(ct, bytes.NewReader(body), sig, h.secret)
	if err != nil {
		h.badSignature.Add(1)
		h.refused(r, "bad signature")
		http.Error(w, "ghactions: signature does not match the body", http.StatusUnauthorized)
		return
	}
	event, id := github.WebHookType(r), github.DeliveryID(r)
	if event == "" || id == "" {
		h.malformed.Add(1)
		h.refused(r, "no X-GitHub-Event or X-GitHub-Delivery")
		http.Error(w, "ghactions: missing X-GitHub-Event or X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(payload)
	if fresh := h.seen.Add("delivery:" + id); !h.seen.Add("body:"+hex.EncodeToString(sum[:])) || !fresh {
		h.duplicates.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "duplicate: already received\n")
		return
	}
	h.dispatch(w, r, event, id, payload)
}

// dispatch answers a verified, new delivery, then hands it on.
func (h *Webhook) dispatch(w http.ResponseWriter, r *http.Request, event, id string, payload []byte) {
	if github.EventForType(event) == nil {
		h.ignore(w, event, id, "event not handled")
		return
	}
	ev, err := github.ParseWebHook(event, payload)
	if err != nil {
		h.malformed.Add(1)
		h.refused(r, "body is not the event it names", "event", event)
		http.Error(w, "ghactions: the body is not a "+event+" event", http.StatusBadRequest)
		return
	}
	switch e := ev.(type) {
	case *github.WorkflowRunEvent:
		run := e.GetWorkflowRun()
		if run == nil {
			h.malformed.Add(1)
			http.Error(w, "ghactions: workflow_run event without its run", http.StatusBadRequest)
			return
		}
		h.accept(w, event, id, e.GetAction(), e.GetRepo().GetFullName(), func(c *Checker) { c.deliver(run) })
	case *github.WorkflowJobEvent:
		job := e.GetWorkflowJob()
		if e.GetAction() != "completed" || job == nil {
			h.ignore(w, event, id, "job action "+e.GetAction())
			return
		}
		if _, _, bad := RunConclusion(job.GetConclusion()).judge(); !bad {
			h.ignore(w, event, id, "job concluded "+job.GetConclusion())
			return
		}
		h.accept(w, event, id, e.GetAction(), e.GetRepo().GetFullName(), nil)
	case *github.PingEvent:
		h.ignore(w, event, id, "ping")
	default:
		h.ignore(w, event, id, "event not handled")
	}
}

// accept answers 202, then feeds each checker of repo and wakes its target.
func (h *Webhook) accept(w http.ResponseWriter, event, id, action, repo string, feed func(*Checker)) {
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "accepted\n")
	n := h.router.Each(func(c *Checker, wake func()) {
		if feed != nil {
			feed(c)
		}
		wake()
	}, repo)
	if n == 0 {
		h.unrouted.Add(1)
	} else {
		h.accepted.Add(1)
	}
	h.log.Debug("ghactions: webhook delivery", "event", event, "action", action, "delivery", id, "repo", repo, "targets", n)
}

func (h *Webhook) ignore(w http.ResponseWriter, event, id, why string) {
	h.ignored.Add(1)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ignored: "+why+"\n")
	h.log.Debug("ghactions: webhook delivery ignored", "event", event, "delivery", id, "why", why)
}

// refused logs a refused request, at most once a minute, with where it
// came from and why; never its body nor its signature.
func (h *Webhook) refused(r *http.Request, msg string, args ...any) {
	if !h.warn.Allow(time.Now()) {
		return
	}
	args = append(args, "remote", r.RemoteAddr, "stats", fmt.Sprintf("%+v", h.Stats()))
	h.log.Warn("ghactions: webhook delivery refused: "+msg, args...)
}
