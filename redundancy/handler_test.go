package redundancy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		report     redundancy.Report
		wantCode   int
		wantStatus string
	}{
		{"healthy", redundancytest.Healthy(), http.StatusOK, "pass"},
		{"degraded", redundancy.NewReport("slow", redundancy.Finding{Subject: "hello", Problem: "netlify.slow", Status: redundancy.StatusDegraded}), http.StatusOK, "warn"},
		{"unhealthy", redundancytest.Unhealthy("web"), http.StatusServiceUnavailable, "fail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOrch(t)
			require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(tc.report), Policy: fastPolicy()}))
			require.NoError(t, o.Add(redundancy.Target{Name: "db", Checker: redundancytest.NewChecker(), Policy: fastPolicy()}))
			o.Tick(context.Background())

			rr := httptest.NewRecorder()
			o.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/health", nil))
			assert.Equal(t, tc.wantCode, rr.Code)
			assert.Equal(t, "application/health+json", rr.Header().Get("Content-Type"))
			var body struct {
				Status string `json:"status"`
				Checks map[string][]struct {
					ComponentID string               `json:"componentId"`
					Status      string               `json:"status"`
					Output      string               `json:"output"`
					Time        string               `json:"time"`
					Findings    []redundancy.Finding `json:"findings"`
				} `json:"checks"`
			}
			require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &body))
			assert.Equal(t, tc.wantStatus, body.Status)
			require.Len(t, body.Checks, 2)
			web := body.Checks["web:status"]
			require.Len(t, web, 1)
			assert.Equal(t, "web", web[0].ComponentID)
			assert.Equal(t, tc.wantStatus, web[0].Status)
			assert.NotEmpty(t, web[0].Time)
			assert.Len(t, web[0].Findings, len(tc.report.Findings))
			assert.Equal(t, "pass", body.Checks["db:status"][0].Status)
		})
	}
}

func TestHandlerRejectsOtherMethods(t *testing.T) {
	t.Parallel()
	rr := httptest.NewRecorder()
	redundancy.New().Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/health", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rr.Code)
	assert.Equal(t, "GET, HEAD", rr.Header().Get("Allow"))
}
