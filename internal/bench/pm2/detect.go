package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// target is the orchestrator target of the detection runs.
const target = "apps"

// timeDetection kills an app with SIGKILL kills times and returns the
// median time to the orchestrator's EventStatusChanged for the target that
// watches every app. The orchestrator polls every second; with events on,
// an EventChecker also wakes it on the daemon's events. Between kills the
// app is restarted and the target seen healthy again.
func timeDetection(ctx context.Context, n *pm2.Native, home string, apps []string, events bool, kills int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	o := redundancy.New()
	var checker redundancy.Checker = fullCheck(n, home, apps)
	var ec *pm2.EventChecker
	if events {
		ec = pm2.NewEventChecker(checker, n, pm2.EventCheckerOptions{Target: target, Apps: apps, Trigger: o.Trigger})
		checker = ec
	}
	err := o.Add(redundancy.Target{
		Name:    target,
		Checker: checker,
		Policy:  redundancy.Policy{Interval: time.Second, Timeout: 5 * time.Second, FailureThreshold: 1, Retry: -1},
	})
	if err != nil {
		return 0, err
	}
	changes := make(chan redundancy.Event, 64)
	defer o.Subscribe(func(e redundancy.Event) {
		if e.Kind == redundancy.EventStatusChanged {
			select {
			case changes <- e:
			default:
			}
		}
	})()
	wg.Add(1)
	go func() { defer wg.Done(); _ = o.Run(ctx) }()
	if ec != nil {
		wg.Add(1)
		go func() { defer wg.Done(); _ = ec.Watch(ctx) }()
	}

	if _, err := waitChange(ctx, changes, true); err != nil {
		return 0, fmt.Errorf("first check: %w", err)
	}
	if ec != nil {
		deadline := time.Now().Add(10 * time.Second)
		for !ec.Connected() {
			if time.Now().After(deadline) {
				return 0, errors.New("event subscription not connected after 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	durs := make([]time.Duration, 0, kills)
	for i := range kills {
		app := apps[i%len(apps)]
		// Kill at a random phase of the polling interval.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(rand.N(time.Second)):
		}
		pid, err := pidOf(ctx, n, app)
		if err != nil {
			return 0, err
		}
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return 0, fmt.Errorf("kill -9 %s (%d): %w", app, pid, err)
		}
		seen, err := waitChange(ctx, changes, false)
		if err != nil {
			return 0, fmt.Errorf("after kill -9 %s: %w", app, err)
		}
		durs = append(durs, seen.Sub(killed))
		if err := n.Restart(ctx, app); err != nil {
			return 0, err
		}
		if _, err := waitChange(ctx, changes, true); err != nil {
			return 0, fmt.Errorf("after restarting %s: %w", app, err)
		}
	}
	return median(durs), nil
}

// waitChange waits for a status change to healthy (or away from it) and
// returns when it happened.
func waitChange(ctx context.Context, changes <-chan redundancy.Event, toHealthy bool) (time.Time, error) {
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-changes:
			if (e.To == redundancy.StatusHealthy) == toHealthy {
				return e.Time, nil
			}
		case <-timeout:
			return time.Time{}, fmt.Errorf("no status change (to healthy: %t) within 15s", toHealthy)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

func pidOf(ctx context.Context, c pm2.Client, app string) (int, error) {
	procs, err := c.List(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		if p.Name == app && p.PID > 0 {
			return p.PID, nil
		}
	}
	return 0, fmt.Errorf("%s has no pid", app)
}
