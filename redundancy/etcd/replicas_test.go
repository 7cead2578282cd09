package etcd_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// The replicas' timings: a 2s lease (etcd's shortest useful one) and
// checks every second (the least interval a Policy takes).
const (
	testTTL      = 2 * time.Second
	testInterval = time.Second
	waitLong     = 20 * time.Second // a bound on conditions, never a sleep
)

const (
	ghOwner, ghRepo, ghBranch = "octo", "app", "main"
)

// world is what the replicas share: one fake GitHub, one fake Netlify.
type world struct {
	gh     *ghtest.Server
	nl     *netlifytest.Server
	site   string
	wf     int64
	run    int64
	budget int
}

func newWorld(t *testing.T, budget int) *world {
	t.Helper()
	w := &world{gh: ghtest.NewServer(), budget: budget}
	t.Cleanup(w.gh.Close)
	w.wf = w.gh.AddWorkflow(ghOwner, ghRepo, ghtest.Workflow{Name: "ci", Path: ".github/workflows/ci.yml"})
	w.run = w.gh.AddRun(ghOwner, ghRepo, ghtest.Run{WorkflowID: w.wf, Branch: ghBranch, Conclusion: ghactions.ConclusionFailure})
	// Builds stay queued for the test's life: one build is one decision.
	w.nl = netlifytest.NewServer(netlifytest.WithBuildTimes(time.Hour, time.Hour))
	t.Cleanup(w.nl.Close)
	w.site = w.nl.AddSite(netlify.Site{ID: "site-1", Name: "shop"})
	w.nl.AddDeploy(w.site, netlify.Deploy{ID: "d1", CreatedAt: time.Now().Add(-time.Hour)}, true)
	w.nl.AddDeploy(w.site, netlify.Deploy{ID: "d2", CreatedAt: time.Now().Add(-time.Minute), State: netlify.DeployError, ErrorMessage: "Failed during stage 'building site'"}, false)
	return w
}

// reruns counts the re-runs GitHub accepted (its side effects).
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

// fail makes the run fail again: a new decision.
func (w *world) fail(t *testing.T) {
	t.Helper()
	require.True(t, w.gh.CompleteRun(w.run, ghactions.ConclusionFailure))
}

func policy(budget int) redundancy.Policy {
	return redundancy.Policy{
		Interval: testInterval, Timeout: 5 * time.Second, FailureThreshold: 1,
		Backoff:    redundancy.Backoff{Base: 10 * time.Millisecond, Max: 10 * time.Millisecond, Jitter: -1},
		Budget:     redundancy.Budget{Max: budget, Window: time.Hour},
		Retry:      -1,
		RetryDelay: time.Millisecond,
	}
}

// replica is one monitor: its own etcd client (cancelling it is the
// process dying), its own provider clients, its own orchestrator.
type replica struct {
	id     string
	el     *etcd.Elector
	o      *redundancy.Orchestrator
	rec    *redundancytest.Recorder
	local  atomic.Int32 // repairs of its local target
	crash  context.CancelFunc
	stop   context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

func startReplica(t *testing.T, w *world, group, id string, ttl time.Duration) *replica {
	t.Helper()
	cctx, crash := context.WithCancel(context.Background())
	cli, err := server(t).Client(cctx)
	require.NoError(t, err)
	el, err := etcd.NewElector(cli, group, id, etcd.WithTTL(ttl))
	require.NoError(t, err)
	// A crash: the connection closes without a word to etcd (a closed
	// client revokes nothing), so the lease runs out on its own.
	r := &replica{id: id, el: el, crash: func() { crash(); _ = cli.Close() }, done: make(chan struct{})}
	r.o = redundancy.New(redundancy.WithElection(redundancy.Election{
		Elector: el, Store: el.Store(), Observe: 100 * time.Millisecond, RetryDelay: 100 * time.Millisecond,
	}))
	r.rec = redundancytest.NewRecorder(r.o)
	p := policy(w.budget)

	chk, err := ghactions.NewChecker(w.gh.Client(), ghactions.Repo{Owner: ghOwner, Name: ghRepo, Branch: ghBranch})
	require.NoError(t, err)
	rr, err := ghactions.NewRecoverer(chk, ghactions.WithMaxReruns(100))
	require.NoError(t, err)
	require.NoError(t, r.o.Add(redundancy.Target{Name: "ci", Checker: chk, Recoverer: rr, Policy: p, Shared: true}))

	nc := w.nl.Client(netlify.WithRetry(0, time.Millisecond))
	require.NoError(t, r.o.Add(redundancy.Target{Name: "site", Shared: true, Policy: p,
		Checker:   &netlify.DeployChecker{Client: nc, SiteID: w.site},
		Recoverer: &netlify.Recoverer{Client: nc, SiteID: w.site, MaxRebuilds: 100}}))

	// A local target: broken on every host until its host repairs it.
	var fixed atomic.Bool
	require.NoError(t, r.o.Add(redundancy.Target{Name: "pm2", Policy: p,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			if fixed.Load() {
				return redundancy.NewReport("online")
			}
			return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: "errored"}
		}),
		Recoverer: redundancy.RecovererFunc(func(_ context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
			if rep.Status == redundancy.StatusHealthy {
				return nil, nil
			}
			return []redundancy.Action{{Verb: "pm2.restart", Subject: "web", Do: func(context.Context) error {
				r.local.Add(1)
				fixed.Store(true)
				return nil
			}}}, nil
		})}))

	rctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() {
		defer close(r.done)
		_ = r.o.Run(rctx)
	}()
	t.Cleanup(r.shutdown)
	return r
}

// shutdown stops the replica gracefully (it resigns) and waits for it.
func (r *replica) shutdown() {
	r.closed.Do(func() { r.stop() })
	<-r.done
	r.crash()
}

// kill stops the replica as a crash would: its connection to etcd goes
// first, so it cannot resign; its lease expires on its own. It returns
// when the connection went.
func (r *replica) kill() time.Time {
	r.crash()
	at := time.Now()
	r.closed.Do(func() { r.stop() })
	<-r.done
	return at
}

func (r *replica) leading() bool {
	es := r.o.Snapshot().Election
	return es != nil && es.Leading
}

func (r *replica) target(name string) redundancy.TargetState {
	ts, _ := r.o.Target(name)
	return ts
}

// leader waits until exactly one of rs leads, and returns it.
func leader(t *testing.T, rs ...*replica) *replica {
	t.Helper()
	var got *replica
	require.Eventually(t, func() bool {
		got = nil
		n := 0
		for _, r := range rs {
			if r.leading() {
				got = r
				n++
			}
		}
		return n == 1
	}, waitLong, 10*time.Millisecond, "one replica leads")
	return got
}

func others(rs []*replica, not *replica) []*replica {
	var out []*replica
	for _, r := range rs {
		if r != not {
			out = append(out, r)
		}
	}
	return out
}

// settle waits until every replica has checked every target twice more,
// so that a duplicate action, if any, would have happened.
func settle(t *testing.T, rs ...*replica) {
	t.Helper()
	mark := time.Now()
	require.Eventually(t, func() bool {
		for _, r := range rs {
			for _, ts := range r.o.Snapshot().Targets {
				if ts.LastCheck.Before(mark.Add(2 * testInterval)) {
					return false
				}
			}
		}
		return true
	}, waitLong, 10*time.Millisecond)
}

func TestReplicasOneActorPerSharedTarget(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 10)
	group := group(t, "one-actor")
	rs := []*replica{startReplica(t, w, group, "a", testTTL), startReplica(t, w, group, "b", testTTL), startReplica(t, w, group, "c", testTTL)}
	l := leader(t, rs...)

	require.Eventually(t, func() bool { return w.reruns() >= 1 && w.builds() >= 1 }, waitLong, 10*time.Millisecond)
	settle(t, rs...)
	assert.Equal(t, 1, w.reruns(), "one re-run for one failed run")
	assert.Equal(t, 1, w.builds(), "one build for one failed deploy")

	// Another failure of the run: another decision, and again one action.
	w.fail(t)
	require.Eventually(t, func() bool { return w.reruns() >= 2 }, waitLong, 10*time.Millisecond)
	settle(t, rs...)
	assert.Equal(t, 2, w.reruns())
	assert.Equal(t, 1, w.builds())

	defer func() {
		if t.Failed() {
			for _, h := range l.target("ci").History {
				t.Logf("history: %s %s %s ok=%v err=%s", h.Started.Format("15:04:05.000"), h.Verb, h.Reason, h.OK(), h.Error)
			}
			for _, e := range l.rec.Events() {
				t.Logf("event: %s %s", e.Time.Format("15:04:05.000"), e)
			}
		}
	}()
	for _, r := range rs {
		assert.Equal(t, int32(1), r.local.Load(), "replica %s repairs its own local target", r.id)
		es := r.o.Snapshot().Election
		require.NotNil(t, es)
		assert.Equal(t, l.id, es.Leader, "replica %s sees who leads", r.id)
		assert.Equal(t, r == l, es.Leading)
		ci := r.target("ci")
		assert.True(t, ci.Shared)
		// Followers mirror the leader's record: the same recoveries and budget.
		assert.Equal(t, 2, ci.Recoveries, "replica %s", r.id)
		assert.Equal(t, w.budget-2, ci.BudgetLeft, "replica %s", r.id)
	}
	for _, r := range others(rs, l) {
		assert.Zero(t, r.rec.Count(redundancy.EventRecoveryStarted)-1, "follower %s started only its local repair", r.id)
	}
	h := l.o.Snapshot().Health()
	require.NotNil(t, h.Election)
	assert.Equal(t, l.id, h.Election.Leader, "/health says who leads")
}

func TestReplicasTakeOverBudgetAndEscalation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2) // two attempts in the window, then escalate
	group := group(t, "takeover")
	rs := []*replica{startReplica(t, w, group, "a", testTTL), startReplica(t, w, group, "b", testTTL), startReplica(t, w, group, "c", testTTL)}
	l1 := leader(t, rs...)
	require.Eventually(t, func() bool { return w.reruns() == 1 }, waitLong, 10*time.Millisecond)
	require.Eventually(t, func() bool { return l1.target("ci").BudgetLeft == 1 }, waitLong, 10*time.Millisecond)

	// The leader dies; the run fails again at once.
	killed := l1.kill()
	w.fail(t)
	require.Eventually(t, func() bool { return w.reruns() == 2 }, waitLong, 5*time.Millisecond)
	takeover := time.Since(killed)
	t.Logf("takeover_ms=%d", takeover.Milliseconds())
	assert.Less(t, takeover, testTTL+testInterval+2*time.Second, "another replica acts within the lease TTL and one interval (plus slack for a loaded machine)")
	rest := others(rs, l1)
	l2 := leader(t, rest...)
	ci := l2.target("ci")
	assert.Equal(t, 2, ci.Recoveries, "the successor counts its predecessor's attempt")
	assert.Equal(t, 0, ci.BudgetLeft, "the budget resumed, not reset")

	// It dies too; the run fails a third time: the budget is spent, so
	// the third leader escalates instead of acting.
	l2.kill()
	w.fail(t)
	l3 := leader(t, others(rest, l2)...)
	require.Eventually(t, func() bool { return l3.target("ci").Escalated }, waitLong, 10*time.Millisecond)
	settle(t, l3)
	assert.Equal(t, 2, w.reruns(), "no action past the shared budget")
	assert.Equal(t, 1, l3.rec.Count(redundancy.EventEscalated))
	assert.Equal(t, 1, w.builds(), "the deploy was rebuilt once, by whichever leader")
}

func TestPartitionedLeaderCannotWriteOrAct(t *testing.T) {
	t.Parallel()
	group := group(t, "partition")
	var broken atomic.Bool
	var acted sync.Map // replica id → actions
	mk := func(id string, ttl time.Duration) (*redundancy.Orchestrator, *redundancytest.Recorder, context.CancelFunc, chan struct{}) {
		cctx, crash := context.WithCancel(context.Background())
		cli, err := server(t).Client(cctx)
		require.NoError(t, err)
		el, err := etcd.NewElector(cli, group, id, etcd.WithTTL(ttl))
		require.NoError(t, err)
		o := redundancy.New(redundancy.WithElection(redundancy.Election{Elector: el, Store: el.Store(), Observe: 50 * time.Millisecond}))
		rec := redundancytest.NewRecorder(o)
		require.NoError(t, o.Add(redundancy.Target{Name: "site", Shared: true, Policy: policy(100),
			Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
				if broken.Load() {
					return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: "down"}
				}
				return redundancy.NewReport("up")
			}),
			Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
				return []redundancy.Action{{Verb: "site.restore", Subject: "shop", Do: func(context.Context) error {
					n, _ := acted.LoadOrStore(id, new(atomic.Int32))
					n.(*atomic.Int32).Add(1)
					return nil // the site stays down: every replica keeps wanting to act
				}}}, nil
			})}))
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = o.Run(ctx) }()
		t.Cleanup(func() { stop(); <-done; crash(); _ = cli.Close() })
		return o, rec, stop, done
	}
	// a's lease is long: its keep-alive comes every 20s, so it learns of
	// the loss late, long after the test is over.
	a, arec, _, _ := mk("a", time.Minute)
	require.Eventually(t, func() bool { es := a.Snapshot().Election; return es != nil && es.Leading }, waitLong, 10*time.Millisecond)
	b, _, _, _ := mk("b", testTTL)
	require.Eventually(t, func() bool { es := b.Snapshot().Election; return es != nil && es.Leader == "a" }, waitLong, 10*time.Millisecond)

	// The partition: a's lease expires at the server (revoked here, as
	// expiry would); b takes over; a has not heard of it.
	admin, _ := client(t)
	_, err := admin.Revoke(context.Background(), leaseOf(t, context.Background(), admin, group, "a"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { es := b.Snapshot().Election; return es.Leading }, waitLong, 10*time.Millisecond)
	require.True(t, a.Snapshot().Election.Leading, "a still believes it leads")

	broken.Store(true)
	require.Eventually(t, func() bool {
		for _, e := range arec.Events() {
			if e.Kind == redundancy.EventLeadershipLost && strings.Contains(e.Err.Error(), "fenced") {
				return true
			}
		}
		return false
	}, waitLong, 10*time.Millisecond, "a's write-ahead fails on the revision guard")
	require.Eventually(t, func() bool { n, ok := acted.Load("b"); return ok && n.(*atomic.Int32).Load() >= 1 }, waitLong, 10*time.Millisecond)
	_, aActed := acted.Load("a")
	assert.False(t, aActed, "the deposed leader never acts")
	assert.False(t, a.Snapshot().Election.Leading, "a knows now")
	assert.Zero(t, arec.Count(redundancy.EventRecoveryStarted), "a started no recovery")
	require.Eventually(t, func() bool { return a.Snapshot().Election.Leader == "b" }, waitLong, 10*time.Millisecond, "a follows b now")
}
