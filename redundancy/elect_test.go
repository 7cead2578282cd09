package redundancy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// broken is a target that stays unhealthy; every action it plans is
// counted in acted.
func broken(name string, shared bool, acted *atomic.Int32, p redundancy.Policy) redundancy.Target {
	return redundancy.Target{Name: name, Shared: shared, Policy: p,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: "down"}
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "test.fix", Subject: name, Do: func(context.Context) error {
				acted.Add(1)
				return nil
			}}}, nil
		})}
}

func fileLock(t *testing.T, path, id string) *redundancy.FileLock {
	t.Helper()
	l, err := redundancy.NewFileLock(path, id, redundancy.WithLockPoll(5*time.Millisecond))
	require.NoError(t, err)
	return l
}

// quickElection waits only briefly for a lock held elsewhere.
func quickElection(l *redundancy.FileLock, s redundancy.Store) redundancy.Option {
	return redundancy.WithElection(redundancy.Election{Elector: l, Store: s, CampaignWait: 20 * time.Millisecond})
}

func TestSharedWithoutElectionChangesNothing(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	var acted atomic.Int32
	require.NoError(t, o.Add(broken("site", true, &acted, fastPolicy())))
	snap := o.Tick(context.Background())
	assert.Equal(t, int32(1), acted.Load(), "a lone orchestrator acts on shared targets")
	assert.Nil(t, snap.Election)
	assert.True(t, snap.Targets[0].Shared)
	b, err := json.Marshal(snap.Health())
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"election"`)
}

func TestFileLockOneLeaderAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "leader.lock")
	a, b := fileLock(t, path, "a"), fileLock(t, path, "b")

	ld, err := b.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{}, ld, "no file, no leader")

	la, err := a.Campaign(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), la.Token())
	require.NoError(t, la.Verify(ctx))
	ld, err = b.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{ID: "a", Token: 1}, ld)

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = b.Campaign(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, la.Resign(ctx))
	select {
	case <-la.Done():
	default:
		t.Fatal("Done is not closed by Resign")
	}
	require.ErrorIs(t, la.Verify(ctx), redundancy.ErrNotLeader)
	ld, err = b.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{}, ld, "a resigned: nobody leads")

	lb, err := b.Campaign(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), lb.Token(), "the token grows with each term")
	require.NoError(t, lb.Resign(ctx))
	require.NoError(t, lb.Resign(ctx), "resigning twice is harmless")
}

func TestFileLockStoreIsFenced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "leader.lock")
	mem := redundancy.NewMemoryStore()
	a, b := fileLock(t, path, "a"), fileLock(t, path, "b")
	sa, sb := a.Store(mem), b.Store(mem)

	require.ErrorIs(t, sa.Save(ctx, "k", []byte("x")), redundancy.ErrNotLeader, "no term, no write")
	la, err := a.Campaign(ctx)
	require.NoError(t, err)
	require.NoError(t, sa.Save(ctx, "k", []byte("a")))
	require.ErrorIs(t, sb.Save(ctx, "k", []byte("b")), redundancy.ErrNotLeader)
	got, err := sb.Load(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "a", string(got), "followers read")

	// The lock file is replaced under the leader: its lock guards nothing.
	require.NoError(t, os.Remove(path))
	require.ErrorIs(t, la.Verify(ctx), redundancy.ErrNotLeader)
	require.ErrorIs(t, sa.Save(redundancy.ContextWithLeadership(ctx, la), "k", []byte("stale")), redundancy.ErrNotLeader)
	require.NoError(t, la.Resign(ctx))
}

func TestNewFileLockRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, id, want string }{
		{"", "a", "empty path"},
		{"x.lock", "", "empty replica id"},
		{"x.lock", " a", "leading or trailing space"},
	} {
		_, err := redundancy.NewFileLock(tc.path, tc.id)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "redundancy: file lock: ")
		assert.Contains(t, err.Error(), tc.want)
	}
	dir := t.TempDir()
	l := fileLock(t, dir, "a") // a directory is no lock file
	_, err := l.Campaign(context.Background())
	require.Error(t, err)
}

func TestFollowerChecksButNeverActsOnShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leader.lock")
	other := fileLock(t, path, "other-host")
	held, err := other.Campaign(ctx)
	require.NoError(t, err)

	mem := redundancy.NewMemoryStore()
	lock := fileLock(t, path, "me")
	var mu sync.Mutex
	notified := map[string]int{}
	note := redundancy.WithNotifier(redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
		mu.Lock()
		defer mu.Unlock()
		notified[e.Target]++
		return nil
	}))
	alerted := map[string]int{}
	pager := redundancy.WithAlertNotifier(redundancy.AlertNotifierFunc(func(_ context.Context, a redundancy.Alert) error {
		mu.Lock()
		defer mu.Unlock()
		alerted[a.Target]++
		return nil
	}))
	o, clk := newOrch(t, quickElection(lock, lock.Store(mem)), note, pager)
	var shared, local atomic.Int32
	paged := func(name string, acted *atomic.Int32) redundancy.Target {
		tg := broken(name, name == "site", acted, fastPolicy())
		tg.Alerts = redundancy.AlertPolicy{PageRepairs: true}
		return tg
	}
	require.NoError(t, o.Add(paged("site", &shared)))
	require.NoError(t, o.Add(paged("pm2", &local)))
	rec := redundancytest.NewRecorder(o)

	snap := o.Tick(ctx)
	assert.Equal(t, int32(0), shared.Load(), "a follower leaves shared targets to the leader")
	assert.Equal(t, int32(1), local.Load(), "and repairs its local ones")
	assert.Equal(t, redundancy.StatusUnhealthy, snap.Targets[0].Status, "it still checks shared targets")
	require.NotNil(t, snap.Election)
	assert.Equal(t, redundancy.ElectionState{ID: "me", Leader: "other-host", Token: 1}, *snap.Election)
	assert.Zero(t, rec.Count(redundancy.EventEscalated))
	mu.Lock()
	assert.Zero(t, notified["site"], "a follower's notifiers leave shared targets to the leader's")
	assert.NotZero(t, notified["pm2"], "and tell of its local ones")
	assert.Zero(t, alerted["site"], "a follower pages nothing about shared targets")
	assert.NotZero(t, alerted["pm2"], "and pages about its local ones")
	mu.Unlock()
	assert.NotEmpty(t, rec.Kinds("site"), "subscribers (the dashboard) see everything")

	_, err = o.RecoverNow(ctx, []string{"site"})
	require.ErrorIs(t, err, redundancy.ErrNotLeader)
	assert.Contains(t, err.Error(), `"other-host" leads`)
	assert.Equal(t, int32(0), shared.Load())

	h := o.Snapshot().Health()
	b, err := json.Marshal(h)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"election":{"id":"me","leader":"other-host","leading":false,"token":1}`)

	// The other host goes: the next Tick leads for its duration, acts,
	// and resigns.
	require.NoError(t, held.Resign(ctx))
	clk.Advance(2 * time.Second)
	snap = o.Tick(ctx)
	assert.Equal(t, int32(1), shared.Load())
	mu.Lock()
	assert.NotZero(t, notified["site"], "the leader tells of shared targets")
	assert.NotZero(t, alerted["site"], "and pages about them")
	mu.Unlock()
	assert.False(t, snap.Election.Leading, "a Tick resigns what it won")
	ld, err := other.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{}, ld)
	assert.Equal(t, 1, rec.Count(redundancy.EventLeadershipGained))
	assert.Equal(t, 1, rec.Count(redundancy.EventLeadershipLost))
}

func TestBudgetAndEscalationCarryOverATakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leader.lock")
	mem := redundancy.NewMemoryStore()
	p := fastPolicy()
	p.Budget = redundancy.Budget{Max: 2, Window: time.Hour}
	p.Backoff = redundancy.Backoff{Base: time.Second, Max: time.Second, Jitter: -1}
	var acted atomic.Int32
	mk := func(id string) (*redundancy.Orchestrator, *redundancytest.FakeClock, *redundancytest.Recorder) {
		l := fileLock(t, path, id)
		o, clk := newOrch(t, quickElection(l, l.Store(mem)))
		require.NoError(t, o.Add(broken("site", true, &acted, p)))
		return o, clk, redundancytest.NewRecorder(o)
	}
	a, aclk, _ := mk("a")
	b, bclk, brec := mk("b")

	a.Tick(ctx)
	aclk.Advance(2 * time.Second)
	st := a.Tick(ctx).Targets[0]
	require.Equal(t, int32(2), acted.Load())
	assert.Equal(t, 0, st.BudgetLeft)

	// b takes over (a's Tick resigned): it resumes a's budget, spent, and
	// escalates without acting.
	bclk.Advance(2 * time.Second)
	st = b.Tick(ctx).Targets[0]
	assert.Equal(t, int32(2), acted.Load(), "the successor's budget is the predecessor's")
	assert.True(t, st.Escalated)
	assert.Equal(t, 2, st.Recoveries)
	assert.Equal(t, 1, brec.Count(redundancy.EventEscalated))
	require.Len(t, st.History, 2, "a's action results came along")

	// a, following now, sees b's escalation.
	st = a.CheckNow(ctx).Targets[0]
	assert.True(t, st.Escalated)
}

// fakeTerm is a Leadership whose Verify the test controls.
type fakeTerm struct {
	done   chan struct{}
	verify error
	once   sync.Once
}

func (f *fakeTerm) Done() <-chan struct{}             { return f.done }
func (f *fakeTerm) Token() int64                      { return 7 }
func (f *fakeTerm) Verify(context.Context) error      { return f.verify }
func (f *fakeTerm) Resign(context.Context) error      { f.once.Do(func() { close(f.done) }); return nil }
func newFakeTerm(verify error) *fakeTerm              { return &fakeTerm{done: make(chan struct{}), verify: verify} }
func (f *fakeTerm) Leadership() redundancy.Leadership { return f }

// fakeElector wins at once with its term.
type fakeElector struct{ term *fakeTerm }

func (e fakeElector) ID() string { return "me" }
func (e fakeElector) Campaign(context.Context) (redundancy.Leadership, error) {
	return e.term, nil
}
func (e fakeElector) Leader(context.Context) (redundancy.Leader, error) {
	return redundancy.Leader{ID: "me", Token: 7}, nil
}

// fencedStore refuses every write, as etcd does a deposed leader's.
type fencedStore struct{ *redundancy.MemoryStore }

func (fencedStore) Save(context.Context, string, []byte) error {
	return errors.Join(errors.New("test: fenced"), redundancy.ErrNotLeader)
}

func TestDeposedLeaderWritesAndActsNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	term := newFakeTerm(nil)
	o, _ := newOrch(t, redundancy.WithElection(redundancy.Election{Elector: fakeElector{term}, Store: fencedStore{redundancy.NewMemoryStore()}}))
	var acted atomic.Int32
	require.NoError(t, o.Add(broken("site", true, &acted, fastPolicy())))
	rec := redundancytest.NewRecorder(o)

	st := o.Tick(ctx).Targets[0]
	assert.Equal(t, int32(0), acted.Load(), "the attempt could not be recorded: nothing acts")
	assert.Equal(t, 0, st.Recoveries, "and nothing is counted")
	assert.Zero(t, rec.Count(redundancy.EventRecoveryStarted))
	assert.Equal(t, 1, rec.Count(redundancy.EventLeadershipLost))
}

func TestLeaseWithoutMarginStopsActions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	term := newFakeTerm(errors.New("test: the lease has 1s left"))
	o, _ := newOrch(t, redundancy.WithElection(redundancy.Election{Elector: fakeElector{term}, Store: redundancy.NewMemoryStore()}))
	var acted atomic.Int32
	require.NoError(t, o.Add(broken("site", true, &acted, fastPolicy())))
	_, err := o.RecoverNow(ctx, []string{"site"})
	require.ErrorIs(t, err, redundancy.ErrNotLeader, "Verify's refusal is a loss of leadership")
	assert.Contains(t, err.Error(), "1s left")
	assert.Equal(t, int32(0), acted.Load())
}

func TestActionsSeeTheirTerm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	term := newFakeTerm(nil)
	mem := redundancy.NewMemoryStore()
	o, _ := newOrch(t, redundancy.WithElection(redundancy.Election{Elector: fakeElector{term}, Store: mem}))
	var seen atomic.Bool
	require.NoError(t, o.Add(redundancy.Target{Name: "site", Shared: true, Policy: fastPolicy(),
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.Report{Status: redundancy.StatusUnhealthy}
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "v", Do: func(ctx context.Context) error {
				l, ok := redundancy.LeadershipFromContext(ctx)
				seen.Store(ok && l.Token() == 7)
				return nil
			}}}, nil
		})}))
	o.Tick(ctx)
	assert.True(t, seen.Load(), "a fenced Store inside the action can guard with the term")
	data, err := mem.Load(ctx, "targets/site")
	require.NoError(t, err, "the leader wrote the shared record")
	assert.Contains(t, string(data), `"recoveries":1`)
}

// TestFileLockHelperProcess is not a test: it is the monitor process that
// TestFileLockCrashedHolderIsReplaced starts and kills.
func TestFileLockHelperProcess(t *testing.T) {
	path := os.Getenv("URAS_TEST_FILELOCK")
	if path == "" {
		t.Skip("helper process only")
	}
	l, err := redundancy.NewFileLock(path, "child")
	if err != nil {
		os.Exit(2)
	}
	if _, err := l.Campaign(context.Background()); err != nil {
		os.Exit(3)
	}
	_, _ = os.Stdout.WriteString("locked\n")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until killed (or stdin closes)
	os.Exit(0)
}

func TestFileLockCrashedHolderIsReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leader.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileLockHelperProcess$")
	cmd.Env = append(os.Environ(), "URAS_TEST_FILELOCK="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	me := fileLock(t, path, "me")
	ld, err := me.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{ID: "child", Token: 1}, ld)

	// The holder dies without a word: the kernel drops its lock.
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	killed = true
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := me.Campaign(wctx)
	require.NoError(t, err, "the lock of a dead process is free")
	assert.Equal(t, int64(2), l.Token())
	require.NoError(t, l.Resign(ctx))
}

// A master over a child that follows its group does not step in for the
// child's shared targets: no attempt, no budget, no escalation.
func TestMasterLeavesAFollowingChildsSharedTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leader.lock")
	held, err := fileLock(t, path, "other-host").Campaign(ctx)
	require.NoError(t, err)
	defer func() { _ = held.Resign(ctx) }()

	lock := fileLock(t, path, "me")
	child, clk := newOrch(t, quickElection(lock, lock.Store(redundancy.NewMemoryStore())))
	var acted atomic.Int32
	require.NoError(t, child.Add(broken("site", true, &acted, fastPolicy())))
	master := redundancy.New(redundancy.WithClock(clk))
	require.NoError(t, master.Add(redundancy.Nest("netlify", child, fastPolicy())))
	rec := redundancytest.NewRecorder(master)

	for range 5 {
		master.Tick(ctx)
		clk.Advance(time.Minute)
	}
	st, _ := master.Target("netlify")
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status, "the master sees the child's state")
	assert.Zero(t, st.Recoveries, "and leaves the shared target to the group's leader")
	assert.False(t, st.Escalated)
	assert.Zero(t, rec.Count(redundancy.EventRecoveryStarted))
	assert.Equal(t, int32(0), acted.Load())
}
