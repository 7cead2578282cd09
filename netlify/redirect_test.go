package netlify_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/uras-dev/uras/netlify"
)

// An API answer that redirects to another host (here another port of the
// same address: another service) never takes the token along, nor a
// Referer.
func TestTokenNeverFollowsARedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+r.Header.Get("Referer"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"d1","state":"ready"}`))
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	const token = "nf-redirect-secret-0123456789"
	c := netlify.NewAPIClient(netlify.WithToken(token), netlify.WithBaseURL(api.URL+"/api/v1"), netlify.WithRetry(0, 0))
	_, _ = c.GetDeploy(t.Context(), "site", "d1")
	mu.Lock()
	defer mu.Unlock()
	for _, h := range got {
		assert.NotContains(t, h, token, "the token crossed to another host")
		assert.NotContains(t, h, api.URL, "a Referer named the API")
	}
	assert.NotEmpty(t, got, "the redirect was followed")
}
