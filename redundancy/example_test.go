package redundancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	res, _ := o.RecoverNow(context.Background(), nil)
	fmt.Println("actions needed now:", len(res))
	// Output:
	// worker status-changed unknown→unhealthy
	// worker recovery-started attempt 1
	// worker action-succeeded example.start worker
	// worker recovery-succeeded attempt 1
	// worker status-changed unhealthy→healthy
	// worker alert resolved critical worker/example.down: worker: no heartbeat (quiet: not paged)
	// actions needed now: 0
}

// A master orchestrator watches and repairs child orchestrators, one per
// system: each child keeps its own policies and budgets, and the master
// steps in only after them (the nesting defaults).
func ExampleNest() {
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
	nest := redundancy.Nest("pm2", pm2, redundancy.Policy{})
	fmt.Println("master recovers pm2 after", nest.Policy.FailureThreshold, "failing checks")
	_ = master.Add(nest)
	_ = master.Add(redundancy.Nest("netlify", netlify, redundancy.Policy{}))

	s := master.CheckNow(context.Background()) // checks the children first
	fmt.Println("overall:", s.Status)
	for _, t := range s.Targets {
		fmt.Printf("%s: %s\n", t.Name, t.Report.Summary)
		for _, f := range t.Report.Findings {
			fmt.Println("  ", f)
		}
	}
	// Output:
	// master recovers pm2 after 3 failing checks
	// overall: unknown
	// pm2: 1 targets: 1 unhealthy
	//    apps/web: pm2.errored (unhealthy)
	// netlify: 1 targets: 1 healthy
}

// Plan is the dry run: what the recoverers would do now. Nothing is done.
func ExampleOrchestrator_Plan() {
	o := redundancy.New()
	_ = o.Add(redundancy.Target{
		Name: "worker",
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "worker", Problem: "example.down", Status: redundancy.StatusUnhealthy})
		}),
		Recoverer: redundancy.RecovererFunc(func(_ context.Context, r redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "example.restart", Subject: "worker", Reason: r.Summary,
				Do: func(context.Context) error { panic("a dry run never runs an action") }}}, nil
		}),
	})
	plan, err := o.Plan(context.Background())
	if err != nil {
		fmt.Println(err)
	}
	for _, p := range plan {
		fmt.Printf("%s: would run %s %s (%s)\n", p.Target, p.Verb, p.Subject, p.Reason)
	}
	// Output:
	// worker: would run example.restart worker (down)
}

// RecoverNow recovers at once, within the budget; Force goes past an
// escalation (and clears it).
func ExampleOrchestrator_RecoverNow() {
	restarts := 0
	o := redundancy.New()
	_ = o.Add(redundancy.Target{
		Name: "worker",
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "worker", Problem: "example.down", Status: redundancy.StatusUnhealthy})
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "example.restart", Subject: "worker",
				Do: func(context.Context) error { restarts++; return errors.New("still down") }}}, nil
		}),
		Policy: redundancy.Policy{Retry: -1, Budget: redundancy.Budget{Max: 1}},
	})
	ctx := context.Background()
	_, err := o.RecoverNow(ctx, []string{"worker"})
	fmt.Println("first:", err)
	_, err = o.RecoverNow(ctx, []string{"worker"})
	fmt.Println("escalated:", errors.Is(err, redundancy.ErrEscalated))
	res, _ := o.RecoverNow(ctx, []string{"worker"}, redundancy.Force())
	fmt.Println("forced:", res[0].Verb, res[0].Error, "restarts:", restarts)
	// Output:
	// first: recover "worker": example.restart worker: still down
	// escalated: true
	// forced: example.restart still down restarts: 2
}

// An EscalationNotifier writes one report file per escalation, redacted,
// for people to act on.
func ExampleEscalationNotifier() {
	dir, _ := os.MkdirTemp("", "escalations")
	defer os.RemoveAll(dir)
	reports, _ := redundancy.NewEscalationNotifier(dir, redundancy.WithEscalationAdvice("run `mytool recover -force worker`"))
	o := redundancy.New(redundancy.WithNotifier(reports))
	_ = o.Add(redundancy.Target{
		Name: "worker",
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "worker", Problem: "example.down", Status: redundancy.StatusUnhealthy})
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return nil, fmt.Errorf("no spare host left: %w", redundancy.ErrExhausted) // escalates at once
		}),
		Policy: redundancy.Policy{FailureThreshold: 1},
	})
	o.Tick(context.Background())
	_ = reports.Close(context.Background()) // writes what is queued

	files, _ := filepath.Glob(filepath.Join(dir, "*-worker.json"))
	data, _ := os.ReadFile(files[0])
	var rep redundancy.EscalationReport
	_ = json.Unmarshal(data, &rep)
	fmt.Println(len(files), "report:", rep.Target, "-", rep.Advice)
	// Output:
	// 1 report: worker - run `mytool recover -force worker`
}

// WithRedactor keeps registered secrets out of everything the
// orchestrator emits, stores and serves; errors.Is still works.
func ExampleWithRedactor() {
	token := "tok_3f9a8c7d6e5b"
	errAuth := errors.New("unauthorized")
	red := redundancy.NewRedactor(token)
	o := redundancy.New(redundancy.WithRedactor(red))
	_ = o.Add(redundancy.Target{Name: "api", Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		err := fmt.Errorf("GET /v1/sites with %s: %w", token, errAuth) // an API that echoes the token
		return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: err.Error(), Err: err}
	}), Policy: redundancy.Policy{FailureThreshold: 1}})
	o.Subscribe(func(e redundancy.Event) {
		if e.Alert != nil {
			fmt.Println("alert:", e.Alert.Notice, e.Alert.Summary)
			return
		}
		fmt.Println("event:", e.Report.Err, "| is unauthorized:", errors.Is(e.Report.Err, errAuth))
	})
	s := o.Tick(context.Background())
	fmt.Println("snapshot:", s.Targets[0].Error)
	// Output:
	// event: GET /v1/sites with [REDACTED]: unauthorized | is unauthorized: true
	// alert: open GET /v1/sites with [REDACTED]: unauthorized
	// snapshot: GET /v1/sites with [REDACTED]: unauthorized
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
