package redundancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
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
