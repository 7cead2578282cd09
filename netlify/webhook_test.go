package netlify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

var hookSecret = []byte("jws-secret-of-the-notification")

// post sends body to h with the given signature header (none when empty)
// and returns the answer.
func post(t *testing.T, h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/netlify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(netlify.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signWith makes a JWS of claims with method and key.
func signWith(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// watch runs src until the test ends and returns how often it woke.
func watch(t *testing.T, src redundancy.EventSource) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Watch(ctx, func() { n.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &n
}

func TestWebhookVerifiesEveryNotification(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h, err := netlify.NewWebhook(hookSecret, netlify.WithWebhookMaxBody(4096),
		netlify.WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	woken := watch(t, h.Source("site-1"))
	require.Eventually(t, func() bool { return h.Stats().Watchers == 1 }, 5*time.Second, time.Millisecond)

	body := []byte(`{"id":"d1","site_id":"site-1","state":"error","error_message":"SECRET-MARKER in the build log","name":"shop"}`)
	good := netlifytest.SignNotification(hookSecret, body)
	tampered := bytes.Replace(body, []byte(`"error"`), []byte(`"ready"`), 1)
	cases := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"missing header", body, "", http.StatusUnauthorized},
		{"wrong secret", body, netlifytest.SignNotification([]byte("another secret"), body), http.StatusUnauthorized},
		{"tampered body", tampered, good, http.StatusUnauthorized},
		{"not a JWS", body, "sha256=" + digest(body), http.StatusUnauthorized},
		{"wrong issuer", body, signWith(t, jwt.SigningMethodHS256, hookSecret, jwt.MapClaims{"iss": "evil", "sha256": digest(body)}), http.StatusUnauthorized},
		{"no issuer", body, signWith(t, jwt.SigningMethodHS256, hookSecret, jwt.MapClaims{"sha256": digest(body)}), http.StatusUnauthorized},
		{"other algorithm", body, signWith(t, jwt.SigningMethodHS512, hookSecret, jwt.MapClaims{"iss": "netlify", "sha256": digest(body)}), http.StatusUnauthorized},
		{"alg none", body, signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"iss": "netlify", "sha256": digest(body)}), http.StatusUnauthorized},
		{"expired", body, signWith(t, jwt.SigningMethodHS256, hookSecret, jwt.MapClaims{"iss": "netlify", "sha256": digest(body), "exp": time.Now().Add(-time.Hour).Unix()}), http.StatusUnauthorized},
		{"oversized", bytes.Repeat([]byte(" "), 5000), netlifytest.SignNotification(hookSecret, bytes.Repeat([]byte(" "), 5000)), http.StatusRequestEntityTooLarge},
		{"signed but not a deploy", []byte(`{"hello":"world"}`), netlifytest.SignNotification(hookSecret, []byte(`{"hello":"world"}`)), http.StatusBadRequest},
		{"valid", body, good, http.StatusAccepted},
		{"replayed", body, good, http.StatusOK},
	}
	for _, tc := range cases {
		rec := post(t, h, tc.body, tc.sig)
		assert.Equal(t, tc.want, rec.Code, "%s: %s", tc.name, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "SECRET-MARKER", tc.name)
	}
	assert.Equal(t, int64(1), woken.Load(), "only the valid notification woke the site (the replay did not)")

	req := httptest.NewRequest(http.MethodGet, "/hooks/netlify", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	st := h.Stats()
	assert.Equal(t, netlify.WebhookStats{Accepted: 1, Duplicates: 1, BadSignature: 9, TooLarge: 1, Malformed: 1, BadMethod: 1, Watchers: 1}, st)
	assert.NotContains(t, logs.String(), "SECRET-MARKER", "bodies are never logged")
	assert.NotContains(t, logs.String(), good, "signatures are never logged")
	assert.NotContains(t, logs.String(), string(hookSecret))
	assert.Contains(t, logs.String(), "refused")
}

func TestNewWebhookRefusesAnEmptySecret(t *testing.T) {
	t.Parallel()
	_, err := netlify.NewWebhook(nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "netlify: "), err.Error())
}

// A notification names its site by id, name and URLs: a source keyed by
// any of them is woken; one for another site is not, and a notification
// about a site nobody watches is counted as unrouted.
func TestWebhookRoutesBySiteIDNameOrHost(t *testing.T) {
	t.Parallel()
	h, err := netlify.NewWebhook(hookSecret)
	require.NoError(t, err)
	byID, byName, byHost, other := watch(t, h.Source("site-1")), watch(t, h.Source("Shop")),
		watch(t, h.Source("shop.example.com")), watch(t, h.Source("site-2"))
	require.Eventually(t, func() bool { return h.Stats().Watchers == 4 }, 5*time.Second, time.Millisecond)
	send := func(body string) int {
		b := []byte(body)
		return post(t, h, b, netlifytest.SignNotification(hookSecret, b)).Code
	}
	assert.Equal(t, http.StatusAccepted, send(`{"id":"d1","site_id":"site-1","name":"shop","state":"building","ssl_url":"https://shop.example.com"}`))
	assert.Equal(t, []int64{1, 1, 1, 0}, []int64{byID.Load(), byName.Load(), byHost.Load(), other.Load()})
	before := h.Stats().Unrouted
	assert.Equal(t, http.StatusAccepted, send(`{"id":"z","site_id":"site-9","state":"ready"}`))
	assert.Equal(t, before+1, h.Stats().Unrouted)
}

// A "deploy failed" notification wakes the site's target: the check runs
// at once, long before its hour is up, and the target turns unhealthy.
func TestDeployFailedNotificationWakesTheSiteTarget(t *testing.T) {
	t.Parallel()
	clk := redundancytest.NewFakeClock(t0)
	srv := netlifytest.NewServer(netlifytest.WithClock(clk))
	t.Cleanup(srv.Close)
	site := srv.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "good"}, true)
	hook, err := netlify.NewWebhook(hookSecret)
	require.NoError(t, err)
	public := httptest.NewServer(hook)
	t.Cleanup(public.Close)

	o := redundancy.New(redundancy.WithClock(clk))
	p := quick()
	p.Interval = time.Hour
	require.NoError(t, o.Add(redundancy.Target{Name: "shop", Policy: p, Source: hook.Source(site),
		Checker: &netlify.DeployChecker{Client: srv.Client(), SiteID: site, Clock: clk}}))
	rec := redundancytest.NewRecorder(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ev := rec.WaitFor(t, redundancy.EventStatusChanged, 5*time.Second, "shop")
	require.Equal(t, redundancy.StatusHealthy, ev.To)

	require.Eventually(t, func() bool { return hook.Stats().Watchers == 1 }, 5*time.Second, time.Millisecond, "Run watches the source")

	failed := srv.AddDeploy(site, netlify.Deploy{ID: "broken", State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
	rec.Reset()
	code, err := srv.Notify(ctx, public.Client(), public.URL, failed, hookSecret)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	ev = rec.WaitFor(t, redundancy.EventStatusChanged, 5*time.Second, "shop")
	assert.Equal(t, redundancy.StatusUnhealthy, ev.To)
	require.NotEmpty(t, ev.Report.Findings)
	assert.Equal(t, netlify.ProblemDeployFailed, ev.Report.Findings[0].Problem)
	assert.Equal(t, t0, clk.Now(), "no time passed: the notification woke the target")
}

func ExampleWebhook() {
	// The secret is the notification's JWS secret token, read by the
	// program (never by the library) and registered with its redactor.
	hook, err := netlify.NewWebhook([]byte("jws secret token"))
	if err != nil {
		panic(err)
	}
	o := redundancy.New()
	_ = o.Add(redundancy.Target{
		Name:    "shop",
		Checker: &netlify.DeployChecker{Client: netlify.NewAPIClient(), SiteID: "shop.netlify.app"},
		Policy:  redundancy.Policy{Interval: netlify.SafetyNetInterval}, // polling is the safety net
		Source:  hook.Source("shop.netlify.app"),
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/netlify", hook) // on the listener Netlify reaches
	// Output:
}

// FuzzWebhook feeds arbitrary notifications to the handler: it never
// panics, and nothing but a body signed with the secret gets a 2xx.
func FuzzWebhook(f *testing.F) {
	h, err := netlify.NewWebhook(hookSecret)
	require.NoError(f, err)
	body := []byte(`{"id":"d1","site_id":"site-1","state":"error"}`)
	valid := netlifytest.SignNotification(hookSecret, body)
	f.Add(body, valid)
	f.Add(body, "")
	f.Add([]byte(`{}`), netlifytest.SignNotification(hookSecret, []byte(`{}`)))
	f.Add(body, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJuZXRsaWZ5In0.")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		rec := post(t, h, body, sig)
		if rec.Code < 300 && sig != netlifytest.SignNotification(hookSecret, body) {
			t.Fatalf("answered %d to a notification signed %q", rec.Code, sig)
		}
	})
}
