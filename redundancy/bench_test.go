package redundancy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// BenchmarkTick1000 measures one Tick over 1,000 healthy targets, all due.
func BenchmarkTick1000(b *testing.B) {
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
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		clock.Advance(time.Second)
		s := o.Tick(ctx)
		if len(s.Targets) != 1000 || s.Status != redundancy.StatusHealthy {
			b.Fatalf("got %d targets, %s", len(s.Targets), s.Status)
		}
	}
}

// BenchmarkTickDependents1000 measures one Tick over a failing parent and
// 999 failing targets that depend on it: every alert is held and listed
// as affected by the parent's.
func BenchmarkTickDependents1000(b *testing.B) {
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithClock(clock))
	down := redundancytest.Unhealthy("x")
	failing := redundancy.CheckerFunc(func(context.Context) redundancy.Report { return down })
	p := redundancy.Policy{Interval: time.Second, FailureThreshold: 1}
	if err := o.Add(redundancy.Target{Name: "daemon", Checker: failing, Policy: p}); err != nil {
		b.Fatal(err)
	}
	for i := range 999 {
		if err := o.Add(redundancy.Target{Name: fmt.Sprintf("t%04d", i), Checker: failing, Policy: p, DependsOn: []string{"daemon"}}); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	o.Tick(ctx)
	b.ReportAllocs()
	for b.Loop() {
		clock.Advance(time.Second)
		s := o.Tick(ctx)
		if len(s.Targets[0].Alerts) != 1 || len(s.Targets[0].Alerts[0].Affected) != 999 {
			b.Fatalf("got %d alerts", len(s.Targets[0].Alerts))
		}
	}
}
