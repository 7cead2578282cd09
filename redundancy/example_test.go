package redundancy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/uras-dev/uras/redundancy"
)

// A ten-line target: a checker and a recoverer written as functions.
func Example() {
	var up atomic.Bool // the thing we keep alive

	check := redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
		if up.Load() {
			return redundancy.NewReport("worker is up")
		}
		return redundancy.NewReport("worker is down", redundancy.Finding{
			Subject: "worker", Problem: "example.down", Status: redundancy.StatusUnhealthy, Detail: "no heartbeat",
		})
	})
	recoverer := redundancy.RecovererFunc(func(ctx context.Context, r redundancy.Report) ([]redundancy.Action, error) {
		if !r.Has("example.down") {
			return nil, nil
		}
		return []redundancy.Action{{
			Verb: "example.start", Subject: "worker", Reason: "no heartbeat",
			Do: func(ctx context.Context) error { up.Store(true); return nil },
		}}, nil
	})

	o := redundancy.New()
	if err := o.Add(redundancy.Target{
		Name: "worker", Checker: check, Recoverer: recoverer,
		Policy: redundancy.Policy{FailureThreshold: 1},
	}); err != nil {
		fmt.Println(err)
		return
	}
	o.Subscribe(func(e redundancy.Event) { fmt.Println(e) })

	o.Tick(context.Background()) // sees the failure and recovers
	res, _ := o.RecoverNow(context.Background(), redundancy.WithinBudget)
	fmt.Println("actions needed now:", len(res))
	// Output:
	// worker status-changed unknown→unhealthy
	// worker recovery-started attempt 1
	// worker action-succeeded example.start worker
	// worker recovery-succeeded attempt 1
	// worker status-changed unhealthy→healthy
	// actions needed now: 0
}

// A master orchestrator watches and repairs child orchestrators, one per
// system: each child keeps its own policies and budgets.
func ExampleOrchestrator_Check() {
	broken := redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		return redundancy.NewReport("web errored", redundancy.Finding{Subject: "web", Problem: "pm2.errored", Status: redundancy.StatusUnhealthy})
	})
	pm2 := redundancy.New()
	_ = pm2.Add(redundancy.Target{Name: "apps", Checker: broken, Policy: redundancy.Policy{FailureThreshold: 1}})
	netlify := redundancy.New()
	_ = netlify.Add(redundancy.Target{Name: "functions", Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		return redundancy.NewReport("all functions answer")
	})})

	master := redundancy.New()
	_ = master.Add(redundancy.Target{Name: "pm2", Checker: pm2, Recoverer: pm2, Policy: redundancy.Policy{FailureThreshold: 1}})
	_ = master.Add(redundancy.Target{Name: "netlify", Checker: netlify, Recoverer: netlify})

	s := master.CheckNow(context.Background())
	fmt.Println("overall:", s.Status)
	for _, t := range s.Targets {
		fmt.Printf("%s: %s (%s)\n", t.Name, t.Status, t.Report.Summary)
		for _, f := range t.Report.Findings {
			fmt.Println("  ", f)
		}
	}
	// Output:
	// overall: unhealthy
	// pm2: unhealthy (1 targets: 1 unhealthy)
	//    apps/web: pm2.errored (unhealthy)
	// netlify: healthy (1 targets: 1 healthy)
}

// The health endpoint speaks application/health+json.
func ExampleOrchestrator_Handler() {
	o := redundancy.New()
	_ = o.Add(redundancy.Target{Name: "db", Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		return redundancy.Report{Status: redundancy.StatusUnknown, Err: errors.New("connection refused")}
	}), Policy: redundancy.Policy{FailureThreshold: 1}})
	o.Tick(context.Background())

	srv := httptest.NewServer(o.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println(strings.Contains(string(body), `"status": "warn"`), strings.Contains(string(body), `"db:status"`))
	// Output:
	// 200 application/health+json
	// true true
}
