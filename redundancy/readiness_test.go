package redundancy_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

func TestReadinessFollowsCriticality(t *testing.T) {
	t.Parallel()
	o, clock := newOrch(t)
	web := redundancytest.NewChecker()
	cache := redundancytest.NewChecker(redundancytest.Unhealthy("cache"))
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: web, Policy: fastPolicy()}))
	require.NoError(t, o.Add(redundancy.Target{Name: "cache", Checker: cache, Policy: fastPolicy(), Criticality: redundancy.NonCritical}))

	code, body := probe(t, o.ReadinessHandler())
	assert.Equal(t, http.StatusServiceUnavailable, code, "nothing checked yet")
	assert.Contains(t, body, "web: not checked yet")
	assert.NotContains(t, body, "cache: not checked yet", "a non-critical target does not hold readiness up")

	o.Tick(context.Background())
	r := o.Snapshot().Readiness()
	assert.True(t, r.Ready, "a failing non-critical target only warns: %+v", r)
	assert.Equal(t, []string{"cache: unhealthy: down"}, r.Warnings)
	code, body = probe(t, o.ReadinessHandler())
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"status": "warn"`)
	h := o.Snapshot().Health()
	assert.Equal(t, "warn", h.Status, "a failing non-critical target never fails /health")
	assert.Equal(t, "fail", h.Checks["cache:status"][0].Status, "its own check still says fail")
	assert.Equal(t, redundancy.NonCritical, h.Checks["cache:status"][0].Criticality)

	web.Set(redundancytest.Unhealthy("web"))
	clock.Advance(time.Second)
	o.Tick(context.Background())
	code, body = probe(t, o.ReadinessHandler())
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "web: unhealthy: down")
	assert.Equal(t, "fail", o.Snapshot().Health().Status)

	web.Set(redundancytest.Healthy())
	cache.Set(redundancytest.Healthy())
	clock.Advance(time.Second)
	o.Tick(context.Background())
	code, body = probe(t, o.ReadinessHandler())
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"status": "pass"`)
}

// A database ping that fails gives ErrorReport: unknown, which is only a
// warning and never recovered, unless the policy says unknown is failing.
func TestUnknownIsFailingRecoversAndFails(t *testing.T) {
	t.Parallel()
	ping := redundancytest.NewChecker(redundancy.ErrorReport(errors.New("dial tcp 127.0.0.1:5432: connection refused")))
	for _, tc := range []struct {
		name        string
		failing     bool
		wantStatus  redundancy.Status
		wantHealth  string
		wantRecover int
	}{
		{"default", false, redundancy.StatusUnknown, "warn", 0},
		{"unknown is failing", true, redundancy.StatusUnhealthy, "fail", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := newOrch(t)
			rec := redundancytest.NewRecoverer("db.restart")
			p := fastPolicy()
			p.UnknownIsFailing = tc.failing
			require.NoError(t, o.Add(redundancy.Target{Name: "db", Checker: ping, Recoverer: rec, Policy: p}))
			o.Tick(context.Background())
			ts, _ := o.Target("db")
			assert.Equal(t, tc.wantStatus, ts.Status)
			assert.Equal(t, redundancy.StatusUnknown, ts.Report.Status, "the report itself stays unknown")
			assert.Len(t, rec.Runs(), tc.wantRecover)
			assert.Equal(t, tc.wantHealth, o.Snapshot().Health().Status)
			assert.Equal(t, !tc.failing, o.Snapshot().Readiness().Ready)
		})
	}
}

type connChecker struct {
	redundancy.Checker
	up bool
}

func (c connChecker) Connected() bool { return c.up }

func TestSourceStateShowsTheConnection(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	src := struct {
		redundancy.EventSourceFunc
		connChecker
	}{EventSourceFunc: func(ctx context.Context, _ func()) error { <-ctx.Done(); return nil }}
	require.NoError(t, o.Add(redundancy.Target{Name: "pm2", Checker: connChecker{redundancytest.NewChecker(), true}}))
	require.NoError(t, o.Add(redundancy.Target{Name: "src", Checker: redundancytest.NewChecker(), Source: src}))
	require.NoError(t, o.Add(redundancy.Target{Name: "plain", Checker: redundancytest.NewChecker()}))
	s := o.Snapshot()
	assert.Equal(t, redundancy.SourceConnected, s.Targets[0].Source, "a checker that reports its connection")
	assert.Equal(t, redundancy.SourceDisconnected, s.Targets[1].Source, "a source that reports its connection")
	assert.Equal(t, redundancy.SourceNone, s.Targets[2].Source)
}

func TestCriticalityText(t *testing.T) {
	t.Parallel()
	var c redundancy.Criticality
	require.NoError(t, c.UnmarshalText([]byte("Non-Critical")))
	assert.Equal(t, redundancy.NonCritical, c)
	assert.Error(t, c.UnmarshalText([]byte("vital")))
	_, err := redundancy.Criticality(7).MarshalText()
	assert.Error(t, err)
}
