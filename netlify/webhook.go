package netlify

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uras-dev/uras/internal/webhook"
	"github.com/uras-dev/uras/redundancy"
)

// Deploy notifications (Netlify's outgoing webhooks, "HTTP POST request"
// notifications) as Netlify sends them: a POST whose body is the deploy
// the event is about, signed when the notification has a JWS secret token.
const (
	// SignatureHeader carries the notification's JSON Web Signature: HS256
	// with the JWS secret token, claims iss "netlify" and sha256 (the hex
	// SHA-256 of the body).
	SignatureHeader = "X-Webhook-Signature"
	// SignatureIssuer is the iss claim Netlify signs with.
	SignatureIssuer = "netlify"
	// DefaultWebhookMaxBody caps a notification's body: a deploy object is
	// a few kilobytes.
	DefaultWebhookMaxBody = 1 << 20
	// DefaultWebhookMemory is how many notifications a Webhook remembers to
	// ignore their replays.
	DefaultWebhookMemory = 4096
	// SafetyNetInterval is the check interval suggested for a site target
	// woken by deploy notifications (Target.Source): polling only catches
	// what a lost notification would have told, so it can be twenty times
	// rarer than redundancy.DefaultInterval.
	SafetyNetInterval = 10 * time.Minute
)

// WebhookOption tunes NewWebhook.
type WebhookOption func(*Webhook)

// WithWebhookMaxBody caps the body of a notification; a longer one is
// refused with 413 (default DefaultWebhookMaxBody).
func WithWebhookMaxBody(n int64) WebhookOption {
	return func(h *Webhook) {
		if n > 0 {
			h.maxBody = n
		}
	}
}

// WithWebhookMemory sets how many notifications are remembered to ignore
// their replays (default DefaultWebhookMemory).
func WithWebhookMemory(n int) WebhookOption {
	return func(h *Webhook) {
		if n > 0 {
			h.memory = n
		}
	}
}

// WithWebhookLogger logs refused notifications (warnings, at most one a
// minute) and accepted ones (debug). Bodies and signatures are never
// logged. Default: no log.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(h *Webhook) {
		if l != nil {
			h.log = l
		}
	}
}

// Webhook receives Netlify's deploy notifications (deploy created,
// building, succeeded, failed, locked, unlocked, ...) and wakes the targets
// of the sites they are about: mount it on a listener Netlify can reach
// (e.g. as /hooks/netlify) and give each site target its Source.
//
// A notification is a POST of the deploy, signed with the JWS secret token
// of the notification (SignatureHeader). The handler reads at most the
// configured body size (413 beyond), verifies the signature (HS256 only,
// issuer "netlify", the sha256 claim equal to the body's digest, compared
// in constant time; 401 otherwise, counted and never logged with the body
// or the signature), ignores a notification it has seen already (200), and
// answers 202 before it wakes anything; waking never blocks. A verified
// body that is not a deploy is refused with 400. It is safe for concurrent
// use.
type Webhook struct {
	secret  []byte
	maxBody int64
	memory  int
	log     *slog.Logger
	seen    *webhook.Seen
	router  webhook.Router[struct{}]
	warn    webhook.Throttle
	parser  *jwt.Parser

	accepted, unrouted, duplicates, badSignature, tooLarge, malformed, badMethod atomic.Int64
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns a handler of deploy notifications signed with secret
// (the notification's "JWS secret token"; required: unsigned notifications
// are refused). The caller reads the secret; no environment variable is
// read here.
func NewWebhook(secret []byte, opts ...WebhookOption) (*Webhook, error) {
	if len(secret) == 0 {
		return nil, errors.New("netlify: NewWebhook: the JWS secret is empty (unsigned notifications would be accepted)")
	}
	h := &Webhook{
		secret:  append([]byte(nil), secret...),
		maxBody: DefaultWebhookMaxBody,
		memory:  DefaultWebhookMemory,
		log:     slog.New(slog.DiscardHandler),
		warn:    webhook.Throttle{Period: time.Minute},
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(SignatureIssuer)),
	}
	for _, o := range opts {
		o(h)
	}
	h.seen = webhook.NewSeen(h.memory)
	return h, nil
}

// Source returns the event source of a site's target: it wakes the target
// when a notification about the site arrives. site is what the target
// knows the site by: its id (the notification's site_id), its name, or
// its host ("shop.netlify.app", or a custom domain the deploy's url names).
func (h *Webhook) Source(site string) redundancy.EventSource {
	return h.router.Source(site, struct{}{})
}

// WebhookStats counts what a Webhook did with the requests it received.
type WebhookStats struct {
	Accepted     int64 // verified notifications that woke at least one target
	Unrouted     int64 // verified notifications about a site no source watches
	Duplicates   int64 // replays of a notification already accepted (200, nothing woken)
	BadSignature int64 // refused with 401: signature missing, malformed, wrong secret, wrong issuer, body tampered
	TooLarge     int64 // refused with 413
	Malformed    int64 // refused with 400: a verified body that is not a deploy, or a body that could not be read
	BadMethod    int64 // refused with 405: not a POST
	Watchers     int   // event sources watching now (one per target being run)
}

// Stats returns the counts so far.
func (h *Webhook) Stats() WebhookStats {
	return WebhookStats{
		Accepted: h.accepted.Load(), Unrouted: h.unrouted.Load(), Duplicates: h.duplicates.Load(),
		BadSignature: h.badSignature.Load(), TooLarge: h.tooLarge.Load(), Malformed: h.malformed.Load(),
		BadMethod: h.badMethod.Load(), Watchers: h.router.Len(),
	}
}

// signatureClaims are the claims of a notification's signature.
type signatureClaims struct {
	SHA256 string `json:"sha256"`
	jwt.RegisteredClaims
}

// ServeHTTP handles one notification.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.badMethod.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "netlify: deploy notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.tooLarge.Add(1)
			h.refused(r, "body over the size cap", "cap", h.maxBody)
			http.Error(w, fmt.Sprintf("netlify: notification body over %d bytes", h.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		h.malformed.Add(1)
		http.Error(w, "netlify: notification body could not be read", http.StatusBadRequest)
		return
	}
	digest, err := h.verify(r.Header.Get(SignatureHeader), body)
	if err != nil {
		h.badSignature.Add(1)
		h.refused(r, "bad signature", "reason", err.Error())
		http.Error(w, "netlify: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var d Deploy
	if err := json.Unmarshal(body, &d); err != nil || d.SiteID == "" {
		h.malformed.Add(1)
		h.refused(r, "signed body is not a deploy")
		http.Error(w, "netlify: the notification is not a deploy with a site_id", http.StatusBadRequest)
		return
	}
	if !h.seen.Add(digest) {
		h.duplicates.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "duplicate: already received\n")
		return
	}
	w.WriteHeader(http.StatusAccepted)
	n := h.router.Each(func(_ struct{}, wake func()) { wake() }, d.SiteID, d.Name, hostOf(d.SSLURL), hostOf(d.URL))
	if n == 0 {
		h.unrouted.Add(1)
	} else {
		h.accepted.Add(1)
	}
	h.log.Debug("netlify: deploy notification", "site_id", d.SiteID, "deploy", d.ID, "state", d.State.String(),
		"locked", d.Locked, "targets", n)
}

// verify checks the JWS of body and returns the body's hex SHA-256.
func (h *Webhook) verify(token string, body []byte) (string, error) {
	if token == "" {
		return "", errors.New("missing " + SignatureHeader)
	}
	var claims signatureClaims
	if _, err := h.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return h.secret, nil }); err != nil {
		return "", errors.New("signature not valid (" + jwtReason(err) + ")")
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(claims.SHA256), []byte(digest)) != 1 {
		return "", errors.New("signature does not match the body")
	}
	return digest, nil
}

// jwtReason names why a token was refused, without quoting it.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "wrong secret or algorithm"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "issuer is not " + SignatureIssuer
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return "outside its validity"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable"
	default:
		return "refused"
	}
}

// refused logs a refused request, at most once a minute, with where it
// came from and why; never its body nor its signature.
func (h *Webhook) refused(r *http.Request, msg string, args ...any) {
	if !h.warn.Allow(time.Now()) {
		return
	}
	args = append(args, "remote", r.RemoteAddr, "stats", fmt.Sprintf("%+v", h.Stats()))
	h.log.Warn("netlify: deploy notification refused: "+msg, args...)
}

// hostOf returns the host of a URL ("" when there is none).
func hostOf(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
