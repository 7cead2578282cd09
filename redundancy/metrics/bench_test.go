package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// BenchmarkTick1000 measures one Tick over 1,000 healthy targets, all due,
// without and with metrics watching the orchestrator: the difference is
// what metrics cost a tick (the target is under 10%).
func BenchmarkTick1000(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "bare"
		if withMetrics {
			name = "metrics"
		}
		b.Run(name, func(b *testing.B) {
			clock := redundancytest.NewFakeClock(t0)
			o := redundancy.New(redundancy.WithClock(clock))
			healthy := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
				return redundancy.Report{Status: redundancy.StatusHealthy}
			})
			p := redundancy.Policy{Interval: time.Second}
			for i := range 1000 {
				if err := o.Add(redundancy.Target{Name: fmt.Sprintf("t%04d", i), Checker: healthy, Policy: p}); err != nil {
					b.Fatal(err)
				}
			}
			if withMetrics {
				m := metrics.New()
				prometheus.NewRegistry().MustRegister(m)
				m.Watch(o, "bench")
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				clock.Advance(time.Second)
				s := o.Tick(ctx)
				if len(s.Targets) != 1000 || s.Status != redundancy.StatusHealthy {
					b.Fatalf("got %d targets, %s", len(s.Targets), s.Status)
				}
			}
		})
	}
}

// BenchmarkScrape1000 measures one collection of the metrics of 1,000
// targets (what a Prometheus scrape costs the process).
func BenchmarkScrape1000(b *testing.B) {
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock))
	for i := range 1000 {
		if err := o.Add(redundancy.Target{Name: fmt.Sprintf("t%04d", i), Checker: redundancytest.NewChecker()}); err != nil {
			b.Fatal(err)
		}
	}
	m := metrics.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	m.Watch(o, "bench")
	o.Tick(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
