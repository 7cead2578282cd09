package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

const (
	owner  = "octo"
	repo   = "app"
	branch = "main"
)

// githubLatency times rounds failures of a workflow's newest run until the
// target turns unhealthy: told by a workflow_run delivery (webhook), or
// found by a check every second.
func githubLatency(ctx context.Context, rounds int, webhook bool) ([]time.Duration, error) {
	srv := ghtest.NewServer()
	defer srv.Close()
	wf := srv.AddWorkflow(owner, repo, ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	srv.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionSuccess})
	c, err := ghactions.NewChecker(srv.Client(), ghactions.Repo{Owner: owner, Name: repo, Branch: branch})
	if err != nil {
		return nil, err
	}
	o := redundancy.New()
	t := redundancy.Target{Name: "gh", Checker: c, Policy: watchPolicy(redundancy.MinInterval)}
	var hook *ghactions.Webhook
	var public *httptest.Server
	if webhook {
		if hook, err = ghactions.NewWebhook(secret); err != nil {
			return nil, err
		}
		public = httptest.NewServer(hook)
		defer public.Close()
		t.Source, t.Policy = hook.Source(c), watchPolicy(ghactions.SafetyNetInterval)
	}
	if err := o.Add(t); err != nil {
		return nil, err
	}
	w := watch(o, "gh")
	defer start(ctx, o)()
	if _, err := w.wait(ctx, redundancy.StatusHealthy); err != nil {
		return nil, err
	}
	if webhook {
		if err := until(ctx, func() bool { return hook.Stats().Watchers == 1 }); err != nil {
			return nil, err
		}
	}
	send := func(run int64) error {
		body, _ := srv.WorkflowRunPayload(run, "completed")
		code, err := ghtest.Deliver(ctx, public.Client(), public.URL, "workflow_run", body, secret)
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("delivery answered %d", code)
		}
		return err
	}
	var lats []time.Duration
	for range rounds {
		if !webhook {
			time.Sleep(rand.N(redundancy.MinInterval)) // fail at any moment of the interval
		}
		run := srv.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress})
		t0 := time.Now()
		srv.CompleteRun(run, ghactions.ConclusionFailure)
		if webhook {
			t0 = time.Now()
			if err := send(run); err != nil {
				return nil, err
			}
		}
		at, err := w.wait(ctx, redundancy.StatusUnhealthy)
		if err != nil {
			return nil, err
		}
		lats = append(lats, at.Sub(t0))
		fixed := srv.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionSuccess})
		if webhook {
			if err := send(fixed); err != nil {
				return nil, err
			}
		}
		if _, err := w.wait(ctx, redundancy.StatusHealthy); err != nil {
			return nil, err
		}
	}
	return lats, nil
}

// githubCost simulates an hour of a repository with 10 workflows, each run
// every 15 minutes, on a fake clock, and counts the fake's calls: polling
// every redundancy.DefaultInterval, then with webhooks and polling every
// ghactions.SafetyNetInterval.
func githubCost(ctx context.Context) ([2]cost, error) {
	var out [2]cost
	for i, webhook := range []bool{false, true} {
		c, err := githubHour(ctx, webhook)
		if err != nil {
			return out, err
		}
		out[i] = c
	}
	return out, nil
}

func githubHour(ctx context.Context, webhook bool) (cost, error) {
	clk := redundancytest.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := ghtest.NewServer(ghtest.WithClock(clk))
	defer srv.Close()
	var wfs []int64
	for i := range 10 {
		wf := srv.AddWorkflow(owner, repo, ghtest.Workflow{Name: fmt.Sprintf("wf%d", i), Path: fmt.Sprintf(".github/workflows/wf%d.yml", i)})
		srv.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionSuccess})
		wfs = append(wfs, wf)
	}
	c, err := ghactions.NewChecker(srv.Client(), ghactions.Repo{Owner: owner, Name: repo, Branch: branch}, ghactions.WithClock(clk))
	if err != nil {
		return cost{}, err
	}
	o := redundancy.New(redundancy.WithClock(clk))
	p := watchPolicy(redundancy.DefaultInterval)
	if webhook {
		p.Interval = ghactions.SafetyNetInterval
	}
	if err := o.Add(redundancy.Target{Name: "gh", Checker: c, Policy: p}); err != nil {
		return cost{}, err
	}
	var public *httptest.Server
	if webhook {
		hook, err := ghactions.NewWebhook(secret)
		if err != nil {
			return cost{}, err
		}
		public = httptest.NewServer(hook)
		defer public.Close()
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { _ = hook.Source(c).Watch(wctx, func() { o.Trigger("gh") }) }()
		if err := until(ctx, func() bool { return hook.Stats().Watchers == 1 }); err != nil {
			return cost{}, err
		}
	}
	out := cost{showCharged: true}
	deliver := func(run int64, action string) error {
		if !webhook {
			return nil
		}
		body, _ := srv.WorkflowRunPayload(run, action)
		code, err := ghtest.Deliver(ctx, public.Client(), public.URL, "workflow_run", body, secret)
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("delivery answered %d", code)
		}
		out.deliveries++
		return err
	}
	running := map[int]int64{} // workflow index -> its run this quarter
	for sec := range 3600 {
		for i, wf := range wfs {
			// Workflow i starts a run at 90s*i past each quarter hour; it
			// is in progress 10s later and done 3 minutes after that.
			var err error
			phase := (sec - 90*i + 3600) % 900
			if phase != 0 && running[i] == 0 {
				continue // its first run has not started yet
			}
			switch phase {
			case 0:
				running[i] = srv.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunQueued})
				out.runs++
				err = deliver(running[i], "requested")
			case 10:
				srv.UpdateRun(running[i], func(r *ghtest.Run) { r.Status = ghactions.RunInProgress })
				err = deliver(running[i], "in_progress")
			case 190:
				srv.CompleteRun(running[i], ghactions.ConclusionSuccess)
				err = deliver(running[i], "completed")
			}
			if err != nil {
				return cost{}, err
			}
		}
		if s := o.Tick(ctx); s.Status != redundancy.StatusHealthy {
			return cost{}, fmt.Errorf("at %ds: %s", sec, s.Targets[0].Report.Summary)
		}
		clk.Advance(time.Second)
	}
	for _, call := range srv.Calls() {
		out.calls++
		if call.Charged {
			out.charged++
		}
	}
	return out, nil
}

// until waits for cond (a bench may sleep).
func until(ctx context.Context, cond func() bool) error {
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("condition not met in 10s")
		}
	}
	return nil
}
