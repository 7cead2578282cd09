package etcd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/uras-dev/uras/redundancy"
)

// Lease bounds.
const (
	// DefaultTTL is the session lease: a crashed leader's successor takes
	// over within it.
	DefaultTTL = 10 * time.Second
	// MinTTL is the shortest lease: etcd counts leases in whole seconds,
	// and a 1s lease leaves no margin to verify before an action.
	MinTTL = 2 * time.Second
	// DefaultPrefix is where the groups live in etcd's key space.
	DefaultPrefix = "/uras/"
)

// Elector campaigns for the leadership of one group with etcd's election
// recipe: each campaign opens a session (a lease kept alive in the
// background), puts its key under the group's election prefix, and leads
// when its key is the oldest there. Its key's create revision is the term's
// fencing token. It implements redundancy.Elector.
type Elector struct {
	cli    *clientv3.Client
	group  string
	id     string
	ttl    time.Duration
	margin time.Duration
	base   string // the prefix the groups live under
	prefix string // "<base><group>/"
	owned  bool   // Open made cli: Close closes it

	mu   sync.Mutex
	held *Term
}

var _ redundancy.Elector = (*Elector)(nil)

// Option tunes an Elector.
type Option func(*Elector)

// WithTTL sets the session's lease (default DefaultTTL, rounded up to whole
// seconds; NewElector refuses less than MinTTL).
func WithTTL(d time.Duration) Option { return func(e *Elector) { e.ttl = d } }

// WithMargin sets the least lease time that must be left for Verify to
// pass before an action (default a third of the TTL: the keep-alive
// renews the lease every third).
func WithMargin(d time.Duration) Option { return func(e *Elector) { e.margin = d } }

// WithPrefix sets the key prefix the groups live under (default
// DefaultPrefix); it must start and end with "/".
func WithPrefix(p string) Option { return func(e *Elector) { e.prefix = p } }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func checkName(field, s string) error {
	if !nameRE.MatchString(s) || s == "." || s == ".." {
		return fmt.Errorf("etcd: %s %q: want letters, digits, '.', '_' or '-'", field, s)
	}
	return nil
}

// NewElector returns the elector of replica id in group on cli. The group
// is a name of letters, digits, '.', '_' and '-'; the id (the host name,
// say) is what Leader reports, non-empty, unpadded, at most 256 bytes.
func NewElector(cli *clientv3.Client, group, id string, opts ...Option) (*Elector, error) {
	if cli == nil {
		return nil, errors.New("etcd: nil client")
	}
	if err := checkName("group", group); err != nil {
		return nil, err
	}
	if id == "" || strings.TrimSpace(id) != id || len(id) > 256 {
		return nil, fmt.Errorf("etcd: replica id %q: want a non-empty, unpadded name of at most 256 bytes", id)
	}
	e := &Elector{cli: cli, group: group, id: id, ttl: DefaultTTL, prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(e)
	}
	if e.ttl < MinTTL {
		return nil, fmt.Errorf("etcd: lease TTL %s: at least %s", e.ttl, MinTTL)
	}
	e.ttl = e.ttl.Round(time.Second)
	if e.margin == 0 {
		e.margin = e.ttl / 3
	}
	if e.margin < 0 || e.margin >= e.ttl {
		return nil, fmt.Errorf("etcd: margin %s: want more than 0 and less than the TTL %s", e.margin, e.ttl)
	}
	if !strings.HasPrefix(e.prefix, "/") || !strings.HasSuffix(e.prefix, "/") {
		return nil, fmt.Errorf("etcd: prefix %q: want one that starts and ends with \"/\"", e.prefix)
	}
	e.base = e.prefix
	e.prefix += group + "/"
	return e, nil
}

// Part returns the elector of the same replica in the group
// "<group>.<name>", on e's connection, with e's lease TTL and margin. Each
// orchestrator that runs shared targets needs an elector of its own: a
// launcher with one orchestrator for GitHub and one for Netlify elects a
// leader for each (they may be different hosts), and gives each its
// Part's Store. Closing a Part leaves the connection to e.
func (e *Elector) Part(name string) (*Elector, error) {
	if err := checkName("part", name); err != nil {
		return nil, err
	}
	group := e.group + "." + name
	return &Elector{cli: e.cli, group: group, id: e.id, ttl: e.ttl, margin: e.margin, base: e.base, prefix: e.base + group + "/"}, nil
}

// ID returns the replica's id.
func (e *Elector) ID() string { return e.id }

// Close closes the etcd client when Open made it; an Elector made by
// NewElector leaves the caller's client alone.
func (e *Elector) Close() error {
	if !e.owned {
		return nil
	}
	if err := e.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}

// TTL returns the session lease.
func (e *Elector) TTL() time.Duration { return e.ttl }

// electionPrefix is where the candidates' keys live.
func (e *Elector) electionPrefix() string { return e.prefix + "election" }

// Campaign opens a session and waits until its key leads the group, or ctx
// ends (the key is then withdrawn and the session closed).
func (e *Elector) Campaign(ctx context.Context) (redundancy.Leadership, error) {
	sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(int(e.ttl/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("etcd: campaign for %s: session: %w", e.group, err)
	}
	el := concurrency.NewElection(sess, e.electionPrefix())
	if err := el.Campaign(ctx, e.id); err != nil {
		_ = sess.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("etcd: campaign for %s: %w", e.group, err)
	}
	t := &Term{e: e, sess: sess, el: el, key: el.Key(), rev: el.Rev()}
	// The recipe reports a win once the older keys are gone, without
	// checking that its own key outlived the wait: make sure it did.
	if err := t.Verify(ctx); err != nil {
		_ = t.Resign(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("etcd: campaign for %s: %w", e.group, err)
	}
	e.mu.Lock()
	e.held = t
	e.mu.Unlock()
	return t, nil
}

// Leader reads who leads the group: the oldest key under the election
// prefix.
func (e *Elector) Leader(ctx context.Context) (redundancy.Leader, error) {
	resp, err := e.cli.Get(ctx, e.electionPrefix()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return redundancy.Leader{}, fmt.Errorf("etcd: leader of %s: %w", e.group, err)
	}
	if len(resp.Kvs) == 0 {
		return redundancy.Leader{}, nil
	}
	kv := resp.Kvs[0]
	return redundancy.Leader{ID: string(kv.Value), Token: kv.CreateRevision}, nil
}

// current returns the term held, or nil.
func (e *Elector) current() *Term {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.held != nil {
		select {
		case <-e.held.sess.Done():
			return nil
		default:
		}
	}
	return e.held
}

// Term is one leadership term won by Elector.Campaign; it implements
// redundancy.Leadership.
type Term struct {
	e    *Elector
	sess *concurrency.Session
	el   *concurrency.Election
	key  string
	rev  int64
	once sync.Once
}

var _ redundancy.Leadership = (*Term)(nil)

// Done is closed when the session ends: its lease expired or could not be
// renewed for a TTL, or the term was resigned.
func (t *Term) Done() <-chan struct{} { return t.sess.Done() }

// Token is the leader key's create revision.
func (t *Term) Token() int64 { return t.rev }

// Key is the leader key.
func (t *Term) Key() string { return t.key }

// Guard is the comparison that holds while this term leads: the leader
// key still has the create revision it was won with. Put it in the If of
// any transaction that only the leader may commit.
func (t *Term) Guard() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

// Verify asks etcd whether the term's lease lives with at least the
// elector's margin left and still holds the leader key.
func (t *Term) Verify(ctx context.Context) error {
	select {
	case <-t.sess.Done():
		return fmt.Errorf("etcd: %w: the session of term %d has ended", redundancy.ErrNotLeader, t.rev)
	default:
	}
	resp, err := t.e.cli.TimeToLive(ctx, t.sess.Lease(), clientv3.WithAttachedKeys())
	if err != nil {
		return fmt.Errorf("etcd: verify term %d: %w", t.rev, err)
	}
	if resp.TTL < 0 {
		return fmt.Errorf("etcd: %w: the lease of term %d has expired", redundancy.ErrNotLeader, t.rev)
	}
	// etcd truncates the remaining time to whole seconds.
	if left := time.Duration(resp.TTL) * time.Second; left < t.e.margin {
		return fmt.Errorf("etcd: %w: the lease of term %d has under %s left (margin %s)", redundancy.ErrNotLeader, t.rev, left+time.Second, t.e.margin)
	}
	for _, k := range resp.Keys {
		if string(k) == t.key {
			return nil
		}
	}
	return fmt.Errorf("etcd: %w: the leader key of term %d is gone", redundancy.ErrNotLeader, t.rev)
}

// Resign withdraws the leader key (guarded by the term's revision, so a
// successor's is never touched) and closes the session, revoking its lease.
func (t *Term) Resign(ctx context.Context) error {
	var err error
	t.once.Do(func() {
		err = t.el.Resign(ctx)
		cerr := t.sess.Close()
		if ctx.Err() == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = errors.Join(err, cerr)
		}
		t.e.mu.Lock()
		if t.e.held == t {
			t.e.held = nil
		}
		t.e.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("etcd: resign term %d: %w", t.rev, err)
	}
	return nil
}
