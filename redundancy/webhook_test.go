package redundancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

func TestWebhookNotifierRetriesAndDelivers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []map[string]any
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "Bearer hook-secret", r.Header.Get("Authorization"))
		var b map[string]any
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&b))
		bodies = append(bodies, b)
	}))
	defer srv.Close()

	w, err := redundancy.NewWebhookNotifier(srv.URL+"/hook?token=abc", redundancy.WithWebhookRetry(3, time.Millisecond),
		redundancy.WithWebhookHeader("Authorization", "Bearer hook-secret"))
	require.NoError(t, err)
	require.NoError(t, w.Notify(context.Background(), redundancy.Event{
		Time: t0, Target: "web", Kind: redundancy.EventStatusChanged, From: redundancy.StatusHealthy, To: redundancy.StatusUnhealthy,
		Report: redundancy.NewReport("down", redundancy.Finding{Subject: "web", Problem: "pm2.errored", Status: redundancy.StatusUnhealthy}),
	}))
	require.NoError(t, w.Notify(context.Background(), redundancy.Event{Time: t0, Target: "web", Kind: redundancy.EventEscalated, Err: errors.New("budget spent")}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx))

	sent, failed, dropped := w.Stats()
	assert.Equal(t, 2, sent)
	assert.Zero(t, failed)
	assert.Zero(t, dropped)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, bodies, 2)
	assert.Equal(t, "status-changed", bodies[0]["event"])
	assert.Equal(t, "healthy", bodies[0]["from"])
	assert.Equal(t, "unhealthy", bodies[0]["to"])
	assert.Equal(t, "escalated", bodies[1]["event"])
	assert.Equal(t, "budget spent", bodies[1]["error"])
}

func TestWebhookNotifierNeverBlocksAndHidesURL(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	defer close(release)
	w, err := redundancy.NewWebhookNotifier(srv.URL+"/hook?token=s3cret", redundancy.WithWebhookQueue(2), redundancy.WithWebhookRetry(0, time.Millisecond))
	require.NoError(t, err)
	for range 50 { // the receiver is stuck: Notify must still return at once
		require.NoError(t, w.Notify(context.Background(), redundancy.Event{Kind: redundancy.EventStatusChanged}))
	}
	_, _, dropped := w.Stats()
	assert.GreaterOrEqual(t, dropped, 47)

	_, err = redundancy.NewWebhookNotifier("ftp://example.invalid/?token=s3cret")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestWebhookNotifierFailsOnClientError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer srv.Close()
	w, err := redundancy.NewWebhookNotifier(srv.URL, redundancy.WithWebhookRetry(3, time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, w.Notify(context.Background(), redundancy.Event{Kind: redundancy.EventEscalated}))
	require.NoError(t, w.Close(context.Background()))
	sent, failed, _ := w.Stats()
	assert.Zero(t, sent)
	assert.Equal(t, 1, failed, "a 404 is not retried")
}

// A redirect to another host is not followed: the body and the headers
// never reach it, and no error or log quotes the URL (its path and query
// carry the secret). A redirect on the same host is followed without a
// Referer.
func TestWebhookRedirects(t *testing.T) {
	t.Parallel()
	var otherCalls atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherCalls.Add(1) }))
	defer other.Close()
	var mu sync.Mutex
	var finalReferer, finalAuth string
	var finalBody []byte
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hook/s3cret-path":
			if r.URL.Query().Get("to") == "other" {
				http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
				return
			}
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/final":
			mu.Lock()
			finalReferer, finalAuth = r.Header.Get("Referer"), r.Header.Get("Authorization")
			finalBody, _ = io.ReadAll(r.Body)
			mu.Unlock()
		}
	}))
	defer same.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var logs strings.Builder
	var lmu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		lmu.Lock()
		defer lmu.Unlock()
		return logs.Write(p)
	}), nil))
	w, err := redundancy.NewWebhookNotifier(same.URL+"/hook/s3cret-path?to=other&token=qu3ry", redundancy.WithWebhookRetry(2, time.Millisecond),
		redundancy.WithWebhookHeader("Authorization", "Bearer hook-secret"), redundancy.WithWebhookLogger(logger))
	require.NoError(t, err)
	require.NoError(t, w.Notify(ctx, redundancy.Event{Target: "web", Kind: redundancy.EventEscalated}))
	require.NoError(t, w.Close(ctx))
	_, failed, _ := w.Stats()
	assert.Equal(t, 1, failed, "a redirect to another host fails the delivery, without retries")
	assert.Zero(t, otherCalls.Load(), "nothing reached the other host")
	lmu.Lock()
	assert.Contains(t, logs.String(), "307")
	assert.NotContains(t, logs.String(), "s3cret-path")
	assert.NotContains(t, logs.String(), "qu3ry")
	lmu.Unlock()

	w, err = redundancy.NewWebhookNotifier(same.URL+"/hook/s3cret-path?token=qu3ry", redundancy.WithWebhookHeader("Authorization", "Bearer hook-secret"))
	require.NoError(t, err)
	require.NoError(t, w.Notify(ctx, redundancy.Event{Target: "web", Kind: redundancy.EventEscalated}))
	require.NoError(t, w.Close(ctx))
	sent, _, _ := w.Stats()
	assert.Equal(t, 1, sent, "a same-host redirect is followed")
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, finalReferer, "no Referer (it would carry the URL's secret)")
	assert.Equal(t, "Bearer hook-secret", finalAuth)
	assert.Contains(t, string(finalBody), `"escalated"`, "307 re-sends the body on the same host")
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Transport errors never quote the URL.
func TestWebhookErrorsNeverQuoteTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL + "/hook/s3cret-path?token=qu3ry"
	srv.Close() // connection refused from now on
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	w, err := redundancy.NewWebhookNotifier(url, redundancy.WithWebhookRetry(0, time.Millisecond), redundancy.WithWebhookLogger(logger))
	require.NoError(t, err)
	require.NoError(t, w.Notify(context.Background(), redundancy.Event{Kind: redundancy.EventEscalated}))
	require.NoError(t, w.Close(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "webhook delivery failed")
	assert.NotContains(t, logs.String(), "s3cret-path")
	assert.NotContains(t, logs.String(), "qu3ry")
}

// WithWebhookRedactor redacts the body of events that were not redacted
// upstream.
func TestWebhookRedactor(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body = string(b)
		mu.Unlock()
	}))
	defer srv.Close()
	w, err := redundancy.NewWebhookNotifier(srv.URL, redundancy.WithWebhookRedactor(redundancy.NewRedactor("hunter2-secret")))
	require.NoError(t, err)
	require.NoError(t, w.Notify(context.Background(), redundancy.Event{Target: "web", Kind: redundancy.EventActionFailed,
		Action: "x.login hunter2-secret", Err: errors.New("login with hunter2-secret failed"),
		Report: redundancy.NewReport("hunter2-secret", redundancy.Finding{Subject: "web", Detail: "pw hunter2-secret"})}))
	require.NoError(t, w.Close(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, body, "login with [REDACTED] failed")
	assert.NotContains(t, body, "hunter2-secret")
}

// Close gives up when its context ends and abandons the delivery in flight.
func TestWebhookCloseGivesUp(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hold)
	w, err := redundancy.NewWebhookNotifier(srv.URL, redundancy.WithWebhookClient(&http.Client{}))
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.Notify(context.Background(), redundancy.Event{Kind: redundancy.EventEscalated}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, w.Close(ctx), context.Canceled)
	require.Eventually(t, func() bool {
		sent, failed, dropped := w.Stats()
		return sent == 0 && failed+dropped == 3
	}, 5*time.Second, time.Millisecond, "the delivery in flight was abandoned and the rest dropped")
}
