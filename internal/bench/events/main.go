// Command events measures what webhooks buy over polling, against the
// fakes (ghtest, netlifytest) on loopback:
//
//	go run ./internal/bench/events
//
// It prints, side by side:
//
//   - the median time from a webhook POST (a GitHub workflow_run
//     "completed failure" delivery, a Netlify "deploy failed" notification)
//     to the orchestrator's EventStatusChanged, with the target woken by
//     the handler (ghactions.Webhook, netlify.Webhook), against polling: a
//     measured median at the shortest interval (1s, a random moment of
//     failure), and what that makes at the default interval (half of it:
//     the failure waits for the next check);
//   - the API calls an hour costs for one repository with 10 workflows
//     (each run every 15 minutes: requested, in_progress, completed) and
//     for one Netlify site (a deploy every 15 minutes: created, building,
//     succeeded), polled every redundancy.DefaultInterval without
//     webhooks, and every SafetyNetInterval with them: an hour simulated
//     on a fake clock.
//
// Its last line is machine-readable:
//
//	github_webhook_ms=<median> netlify_webhook_ms=<median> github_calls_per_hour=<polling>/<webhooks> netlify_calls_per_hour=<polling>/<webhooks>
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/redundancy"
)

var secret = []byte("bench-webhook-secret")

func main() {
	rounds := flag.Int("rounds", 25, "webhook deliveries timed per provider")
	pollRounds := flag.Int("poll-rounds", 5, "failures timed per provider under polling (1s interval)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *rounds, *pollRounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rounds, pollRounds int) error {
	if rounds < 1 || pollRounds < 1 {
		return errors.New("-rounds and -poll-rounds must be positive")
	}
	ghHook, err := githubLatency(ctx, rounds, true)
	if err != nil {
		return fmt.Errorf("github webhooks: %w", err)
	}
	ghPoll, err := githubLatency(ctx, pollRounds, false)
	if err != nil {
		return fmt.Errorf("github polling: %w", err)
	}
	nfHook, err := netlifyLatency(ctx, rounds, true)
	if err != nil {
		return fmt.Errorf("netlify webhooks: %w", err)
	}
	nfPoll, err := netlifyLatency(ctx, pollRounds, false)
	if err != nil {
		return fmt.Errorf("netlify polling: %w", err)
	}
	def := redundancy.DefaultInterval
	fmt.Printf("failure to EventStatusChanged, median (webhook: from the POST; polling: from the failure):\n")
	fmt.Printf("  %-8s  %14s  %18s  %26s\n", "", "webhook", "polling every 1s", fmt.Sprintf("polling every %s (model)", def))
	fmt.Printf("  %-8s  %14s  %18s  %26s\n", "GitHub", ms(median(ghHook)), ms(median(ghPoll)), (def / 2).String())
	fmt.Printf("  %-8s  %14s  %18s  %26s\n", "Netlify", ms(median(nfHook)), ms(median(nfPoll)), (def / 2).String())
	fmt.Printf("  (%d webhook deliveries and %d polled failures each; polling waits half an interval on average)\n\n", rounds, pollRounds)

	ghCost, err := githubCost(ctx)
	if err != nil {
		return fmt.Errorf("github cost: %w", err)
	}
	nfCost, err := netlifyCost(ctx)
	if err != nil {
		return fmt.Errorf("netlify cost: %w", err)
	}
	fmt.Printf("API calls in one simulated hour:\n")
	fmt.Printf("  %-34s  %26s  %30s\n", "", fmt.Sprintf("polling every %s", def), "webhooks + polling every "+ghactions.SafetyNetInterval.String())
	fmt.Printf("  %-34s  %26s  %30s\n", "GitHub, 10 workflows (all / charged)", ghCost[0].String(), ghCost[1].String())
	fmt.Printf("  %-34s  %26s  %30s\n", "Netlify, 1 site", nfCost[0].String(), nfCost[1].String())
	fmt.Printf("  (GitHub: %d runs an hour, %d deliveries; charged: counted against the rate limit, i.e. not a 304)\n\n",
		ghCost[1].runs, ghCost[1].deliveries)

	fmt.Printf("github_webhook_ms=%.2f netlify_webhook_ms=%.2f github_calls_per_hour=%d/%d netlify_calls_per_hour=%d/%d\n",
		millis(median(ghHook)), millis(median(nfHook)), ghCost[0].calls, ghCost[1].calls, nfCost[0].calls, nfCost[1].calls)
	return nil
}

// watcher records the status changes of one target, stamped when emitted.
type watcher struct{ ch chan change }

type change struct {
	to redundancy.Status
	at time.Time
}

func watch(o *redundancy.Orchestrator, target string) *watcher {
	w := &watcher{ch: make(chan change, 64)}
	o.Subscribe(func(e redundancy.Event) {
		if e.Kind == redundancy.EventStatusChanged && e.Target == target {
			select {
			case w.ch <- change{e.To, time.Now()}:
			default:
			}
		}
	})
	return w
}

// wait returns when the target turns to st.
func (w *watcher) wait(ctx context.Context, st redundancy.Status) (time.Time, error) {
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-w.ch:
			if c.to == st {
				return c.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no change to %s in 30s", st)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// start runs o until the returned stop is called.
func start(ctx context.Context, o *redundancy.Orchestrator) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = o.Run(rctx)
	}()
	return func() { cancel(); <-done }
}

// watchPolicy checks every interval and flips the status on one report.
func watchPolicy(interval time.Duration) redundancy.Policy {
	return redundancy.Policy{Interval: interval, FailureThreshold: 1, Timeout: 5 * time.Second}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", millis(d)) }

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cost is what an hour cost one provider.
type cost struct {
	calls, charged   int
	runs, deliveries int
	showCharged      bool
}

func (c cost) String() string {
	if c.showCharged {
		return fmt.Sprintf("%d / %d", c.calls, c.charged)
	}
	return fmt.Sprint(c.calls)
}
