package metrics_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// Watch an orchestrator on your own registry; serve the registry with
// promhttp.HandlerFor at /metrics.
func Example() {
	o := redundancy.New()
	_ = o.Add(redundancy.Target{Name: "api", Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		return redundancy.NewReport("fine")
	})})

	m := metrics.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	m.Watch(o, "web")

	o.Tick(context.Background())
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP uras_checks_total Checks run, by the status the check reported (healthy, degraded, unhealthy, unknown).
# TYPE uras_checks_total counter
uras_checks_total{result="degraded",system="web",target="api"} 0
uras_checks_total{result="healthy",system="web",target="api"} 1
uras_checks_total{result="unhealthy",system="web",target="api"} 0
uras_checks_total{result="unknown",system="web",target="api"} 0
`), "uras_checks_total")
	fmt.Println(err)
	// Output: <nil>
}
