// Command ha shows several monitors acting as one: three orchestrator
// replicas share a real etcd (embedded in this process), one fake GitHub
// and one fake Netlify, and elect one leader to repair the shared targets.
//
//	go run ./internal/bench/ha [-ttl 10s] [-kills 1]
//
// It waits for the leader's first repairs (one re-run of a failed GitHub
// run, one rebuild of a failed Netlify deploy), then kills the leader as
// a crash would (its connection to etcd goes, it never resigns), fails the
// run again at once, and times how long until another replica re-runs it.
// With -kills 2 it kills that leader too. It then waits a few check
// intervals for duplicates. Its last line is machine-readable:
//
//	takeover_ms=<slowest takeover> duplicate_actions=<actions beyond one per decision>
//
// Nothing is left behind: the etcd data directory is removed and every
// replica stopped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd"
	"github.com/uras-dev/uras/redundancy/etcd/etcdtest"
)

const (
	owner, repo, branch = "octo", "app", "main"
	interval            = time.Second
	group               = "bench"
)

func main() {
	ttl := flag.Duration("ttl", etcd.DefaultTTL, "the replicas' lease TTL")
	kills := flag.Int("kills", 1, "leaders to kill, one after the other (1 or 2)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *ttl, *kills); err != nil {
		fmt.Fprintln(os.Stderr, "ha:", err)
		os.Exit(1)
	}
}

// world is the shared fakes and what they saw.
type world struct {
	gh   *ghtest.Server
	nl   *netlifytest.Server
	site string
	run  int64
}

func (w *world) reruns() int {
	n := 0
	for _, c := range w.gh.Calls() {
		if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/rerun-failed-jobs") && c.Effect {
			n++
		}
	}
	return n
}

func (w *world) builds() int { return len(w.nl.Builds()) }

type replica struct {
	id    string
	o     *redundancy.Orchestrator
	crash func()
	stop  context.CancelFunc
	done  chan struct{}
}

func (r *replica) leading() bool {
	es := r.o.ElectionState()
	return es != nil && es.Leading
}

// kill cuts the replica's connection to etcd, then stops it: it cannot
// resign, so its lease must run out. It returns when the connection went.
func (r *replica) kill() time.Time {
	r.crash()
	at := time.Now()
	r.stop()
	<-r.done
	return at
}

func run(ctx context.Context, ttl time.Duration, kills int) error {
	if kills < 1 || kills > 2 {
		return errors.New("-kills must be 1 or 2 (three replicas)")
	}
	dir, err := os.MkdirTemp("", "uras-ha-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := etcdtest.New(dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("etcd %s (embedded)\n", strings.Join(srv.Endpoints(), ","))

	w := &world{gh: ghtest.NewServer(), nl: netlifytest.NewServer(netlifytest.WithBuildTimes(time.Hour, time.Hour))}
	defer w.gh.Close()
	defer w.nl.Close()
	wf := w.gh.AddWorkflow(owner, repo, ghtest.Workflow{Name: "ci", Path: ".github/workflows/ci.yml"})
	w.run = w.gh.AddRun(owner, repo, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionFailure})
	w.site = w.nl.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	w.nl.AddDeploy(w.site, netlify.Deploy{ID: "d1", CreatedAt: time.Now().Add(-time.Hour)}, true)
	w.nl.AddDeploy(w.site, netlify.Deploy{ID: "d2", CreatedAt: time.Now().Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "build failed"}, false)

	var rs []*replica
	defer func() {
		for _, r := range rs {
			select {
			case <-r.done:
			default:
				r.stop()
				<-r.done
				r.crash()
			}
		}
	}()
	for _, id := range []string{"a", "b", "c"} {
		r, err := start(ctx, srv, w, id, ttl)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	fmt.Printf("3 replicas, lease TTL %s, checks every %s\n", ttl, interval)

	bound := ttl + 10*interval + 20*time.Second
	if err := waitFor(ctx, bound, func() bool { return w.reruns() == 1 && w.builds() == 1 }); err != nil {
		return fmt.Errorf("the first repairs: %w", err)
	}
	var slowest time.Duration
	alive := rs
	for k := range kills {
		var l *replica
		for _, r := range alive {
			if r.leading() {
				l = r
			}
		}
		if l == nil {
			return errors.New("no replica leads")
		}
		fmt.Printf("replica %s leads; killing it\n", l.id)
		before := w.reruns()
		killed := l.kill()
		w.gh.CompleteRun(w.run, ghactions.ConclusionFailure)
		if err := waitFor(ctx, bound, func() bool { return w.reruns() > before }); err != nil {
			return fmt.Errorf("takeover %d: %w", k+1, err)
		}
		took := time.Since(killed)
		slowest = max(slowest, took)
		var next []*replica
		for _, r := range alive {
			if r != l {
				next = append(next, r)
			}
		}
		alive = next
		who := "?"
		for _, r := range alive {
			if r.leading() {
				who = r.id
			}
		}
		fmt.Printf("replica %s re-ran the run %d ms after the kill\n", who, took.Milliseconds())
	}
	// Let every survivor check a few more times: a duplicate would show.
	mark := time.Now().Add(3 * interval)
	if err := waitFor(ctx, bound, func() bool {
		for _, r := range alive {
			for _, ts := range r.o.Snapshot().Targets {
				if ts.LastCheck.Before(mark) {
					return false
				}
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("settling: %w", err)
	}
	decisions := 1 + kills // the first failure, then one per kill
	dup := max(w.reruns()-decisions, 0) + max(w.builds()-1, 0)
	fmt.Printf("re-runs %d for %d failures, builds %d for 1 failed deploy\n", w.reruns(), decisions, w.builds())
	fmt.Printf("takeover_ms=%d duplicate_actions=%d\n", slowest.Milliseconds(), dup)
	if dup != 0 || w.reruns() < decisions {
		return errors.New("some decision was not acted on exactly once")
	}
	return nil
}

func start(ctx context.Context, srv *etcdtest.Server, w *world, id string, ttl time.Duration) (*replica, error) {
	cctx, cancel := context.WithCancel(ctx)
	cli, err := srv.Client(cctx)
	if err != nil {
		cancel()
		return nil, err
	}
	crash := func() { cancel(); _ = cli.Close() }
	el, err := etcd.NewElector(cli, group, id, etcd.WithTTL(ttl))
	if err != nil {
		crash()
		return nil, err
	}
	o := redundancy.New(redundancy.WithElection(redundancy.Election{Elector: el, Store: el.Store(), Observe: 100 * time.Millisecond}))
	p := redundancy.Policy{Interval: interval, FailureThreshold: 1, Retry: -1,
		Backoff: redundancy.Backoff{Base: 10 * time.Millisecond, Max: 10 * time.Millisecond, Jitter: -1},
		Budget:  redundancy.Budget{Max: 10, Window: time.Hour}}
	chk, err := ghactions.NewChecker(w.gh.Client(), ghactions.Repo{Owner: owner, Name: repo, Branch: branch})
	if err != nil {
		crash()
		return nil, err
	}
	rr, err := ghactions.NewRecoverer(chk, ghactions.WithMaxReruns(10))
	if err != nil {
		crash()
		return nil, err
	}
	nc := w.nl.Client()
	for _, t := range []redundancy.Target{
		{Name: "ci", Checker: chk, Recoverer: rr, Policy: p, Shared: true},
		{Name: "site", Policy: p, Shared: true, Checker: &netlify.DeployChecker{Client: nc, SiteID: w.site},
			Recoverer: &netlify.Recoverer{Client: nc, SiteID: w.site, MaxRebuilds: 10}},
	} {
		if err := o.Add(t); err != nil {
			crash()
			return nil, err
		}
	}
	rctx, stop := context.WithCancel(ctx)
	r := &replica{id: id, o: o, crash: crash, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = o.Run(rctx)
	}()
	return r, nil
}

// waitFor polls cond until it holds, bound passes or ctx ends.
func waitFor(ctx context.Context, bound time.Duration, cond func() bool) error {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %s", bound)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
