package ghactions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
)

// cycleCost checks a repository of ten workflows once and returns what
// that cost: calls made, rate limit charged, 304s served from the cache.
func cycleCost(t testing.TB, e *env, c *ghactions.Checker) (calls int, charged int, notModified int) {
	before := e.client.Stats()
	usedBefore := e.srv.RateLimit().Used
	rep := c.Check(context.Background())
	require.Equal(t, redundancy.StatusHealthy, rep.Status, rep.Summary)
	d := e.client.Stats().Sub(before)
	require.Equal(t, d.Charged, e.srv.RateLimit().Used-usedBefore, "transport and server agree on the cost")
	return d.Sent, d.Charged, d.NotModified
}

func tenWorkflows(e *env) {
	for i := range 10 {
		e.workflow(fmt.Sprintf("wf%02d.yml", i), ghactions.ConclusionSuccess)
	}
}

// TestAPICallsPerCycle logs the cost of one check cycle for 1 repository
// with 10 workflows: first cycle, steady state, and after one run changed.
func TestAPICallsPerCycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tenWorkflows(e)
	c := e.checker()

	calls, charged, nm := cycleCost(t, e, c)
	t.Logf("first cycle:  %d calls, %d charged to the rate limit, %d answered 304", calls, charged, nm)
	require.Equal(t, 11, calls)
	require.Equal(t, 11, charged)

	e.clock.Advance(time.Minute)
	calls, charged, nm = cycleCost(t, e, c)
	t.Logf("steady state: %d calls, %d charged to the rate limit, %d answered 304", calls, charged, nm)
	require.Equal(t, 11, calls)
	require.Zero(t, charged, "steady state costs no rate limit")
	require.Equal(t, 11, nm)

	wf := c.Observed().Workflows[3]
	e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf.ID, Branch: branch, Conclusion: ghactions.ConclusionSuccess})
	calls, charged, nm = cycleCost(t, e, c)
	t.Logf("one new run:  %d calls, %d charged to the rate limit, %d answered 304", calls, charged, nm)
	require.Equal(t, 1, charged)
}

// BenchmarkCheckCycle checks 1 repository with 10 workflows against the
// fake GitHub and reports the calls, the rate limit charged and the 304s
// per cycle: "first" on a cold cache, "steady" when nothing changed.
func BenchmarkCheckCycle(b *testing.B) {
	report := func(b *testing.B, total ghactions.Stats) {
		n := float64(b.N)
		b.ReportMetric(float64(total.Sent)/n, "calls/op")
		b.ReportMetric(float64(total.Charged)/n, "charged/op")
		b.ReportMetric(float64(total.NotModified)/n, "304s/op")
	}
	b.Run("first", func(b *testing.B) {
		var total ghactions.Stats
		for b.Loop() {
			b.StopTimer()
			e := newEnv(b)
			tenWorkflows(e)
			c := e.checker()
			b.StartTimer()
			c.Check(context.Background())
			s := e.client.Stats()
			total.Sent += s.Sent
			total.Charged += s.Charged
			total.NotModified += s.NotModified
		}
		report(b, total)
	})
	b.Run("steady", func(b *testing.B) {
		e := newEnv(b)
		tenWorkflows(e)
		c := e.checker()
		c.Check(context.Background())
		before := e.client.Stats()
		for b.Loop() {
			if rep := c.Check(context.Background()); rep.Status != redundancy.StatusHealthy {
				b.Fatal(rep.Summary)
			}
		}
		report(b, e.client.Stats().Sub(before))
	})
}
