package redundancy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Elector campaigns for the leadership of one group of replicas: several
// monitors run the same targets, and only the leader acts on the shared
// ones (Target.Shared). FileLock (one host) ships here; the etcd adapter
// (package redundancy/etcd) serves several hosts. An Elector is safe for
// concurrent use.
type Elector interface {
	// ID names this replica in its group (the value Leader reports).
	ID() string
	// Campaign blocks until this replica leads the group, or ctx ends
	// (then it returns ctx's error and holds nothing).
	Campaign(ctx context.Context) (Leadership, error)
	// Leader reports who leads the group now: a zero Leader when nobody
	// does.
	Leader(ctx context.Context) (Leader, error)
}

// Leadership is one term of leadership won by Campaign.
type Leadership interface {
	// Done is closed when the leadership is lost: its lease expired or
	// could not be renewed, it was resigned, or its session ended.
	Done() <-chan struct{}
	// Token is the fencing token of the term: it grows with every new
	// term of the group (etcd: the create revision of the leader key), so
	// a write guarded by it fails once a successor has been elected.
	Token() int64
	// Verify returns nil when the leadership is still held with time to
	// spare (etcd: the lease lives, with at least its margin left), and an
	// error wrapping ErrNotLeader otherwise. The orchestrator calls it
	// before each external action of a shared target.
	Verify(ctx context.Context) error
	// Resign gives the leadership up, so that another replica can take
	// over at once rather than when a lease expires.
	Resign(ctx context.Context) error
}

// Leader is who leads a group, as an Elector observes it.
type Leader struct {
	// ID is the leading replica's Elector.ID; "" when nobody leads.
	ID string `json:"id,omitempty"`
	// Token is the leader's fencing token.
	Token int64 `json:"token,omitempty"`
}

// ErrNotLeader is wrapped by errors of writes and actions refused because
// this replica does not (or no longer) lead its group: a shared target's
// recovery on a follower, a fenced Store write of a deposed leader.
var ErrNotLeader = errors.New("redundancy: not the leader")

type leadershipKey struct{}

// ContextWithLeadership returns ctx carrying l. The orchestrator gives the
// checks, plans and actions of shared targets a context carrying the term
// they run under, so that a fenced Store (the etcd one) guards the writes
// they make with that very term.
func ContextWithLeadership(ctx context.Context, l Leadership) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, leadershipKey{}, l)
}

// LeadershipFromContext returns the term ctx carries, if any.
func LeadershipFromContext(ctx context.Context) (Leadership, bool) {
	l, ok := ctx.Value(leadershipKey{}).(Leadership)
	return l, ok
}

// Election configures WithElection. Zero fields take the defaults.
type Election struct {
	// Elector campaigns for this orchestrator's group; required.
	Elector Elector
	// Store keeps the shared targets' records (failure counts, budget,
	// backoff, escalation, history) under "targets/<name>": the leader
	// writes them, fenced by its term, before and after each recovery;
	// followers read them to show the leader's budget and escalation, and
	// a replica taking over resumes them. Give a Store shared by the group
	// and fenced by the same election (etcd's Elector.Store, FileLock.Store).
	// Nil: the records stay with each replica, and a takeover starts the
	// shared targets' budgets afresh.
	Store Store
	// Observe is how often Run reads who leads, for Snapshot (default 2s).
	Observe time.Duration
	// RetryDelay is the pause after a campaign that failed (default 1s).
	RetryDelay time.Duration
	// CampaignWait bounds how long Tick and RecoverNow, called while no
	// Run campaigns, wait to lead before they leave the shared targets
	// alone (default 2s). They resign before returning.
	CampaignWait time.Duration
	// ResignTimeout bounds the resignation when Run returns (default 5s).
	ResignTimeout time.Duration
}

// Defaults of Election.
const (
	DefaultObserveInterval = 2 * time.Second
	DefaultCampaignRetry   = time.Second
	DefaultCampaignWait    = 2 * time.Second
	DefaultResignTimeout   = 5 * time.Second
)

const (
	sharedIOTimeout         = 10 * time.Second // one read or write of a shared record, one Verify
	electionStateErrMaxSize = 512              // bytes of the last election error shown in ElectionState
)

func (e Election) withDefaults() Election {
	if e.Observe <= 0 {
		e.Observe = DefaultObserveInterval
	}
	if e.RetryDelay <= 0 {
		e.RetryDelay = DefaultCampaignRetry
	}
	if e.CampaignWait <= 0 {
		e.CampaignWait = DefaultCampaignWait
	}
	if e.ResignTimeout <= 0 {
		e.ResignTimeout = DefaultResignTimeout
	}
	return e
}

// WithElection makes the orchestrator one replica of a group run by
// several monitors. Targets marked Shared are checked by every replica
// (their status and endpoint stay current everywhere) but recovered only
// by the group's leader, under its term: the shared state is written to
// e.Store, fenced, before each recovery starts (a replica that cannot
// write it, because it was deposed, does not act), and the term is
// verified before each action. Run campaigns for as long as it runs and
// resigns when it returns; Snapshot says who leads. Local targets (not
// Shared) are untouched: each replica checks and repairs its own. An
// Election with a nil Elector is ignored. Without WithElection nothing
// changes: every target is repaired by this orchestrator alone.
func WithElection(e Election) Option {
	return func(o *Orchestrator) {
		if e.Elector == nil {
			return
		}
		o.elect = &election{cfg: e.withDefaults(), synced: map[string]bool{}}
	}
}

// ElectionState is the election as one replica sees it, in Snapshot.
type ElectionState struct {
	// ID is this replica's id.
	ID string `json:"id"`
	// Leader is who leads the group, as last observed ("" unknown or none).
	Leader string `json:"leader,omitempty"`
	// Leading is true while this replica holds a term.
	Leading bool `json:"leading"`
	// Token is the fencing token of the term held or observed.
	Token int64 `json:"token,omitempty"`
	// Since is when this replica's term began (zero when following).
	Since time.Time `json:"since,omitzero"`
	// Error is the last campaign or observation error, "" when none since.
	Error string `json:"error,omitempty"`
}

// election is an orchestrator's runtime state of its group's election.
type election struct {
	cfg Election

	mu      sync.Mutex
	lead    Leadership // the term held, nil when following
	since   time.Time
	leader  Leader // last observed
	err     error
	looping bool            // Run's campaign loop is running
	synced  map[string]bool // shared targets whose record was read in this term
	lost    chan struct{}   // closed when the term held is given up
}

func (e *election) current() Leadership {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lead
}

func (e *election) state() *ElectionState {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &ElectionState{ID: e.cfg.Elector.ID(), Leader: e.leader.ID, Token: e.leader.Token, Leading: e.lead != nil, Since: e.since}
	if e.lead != nil {
		s.Leader, s.Token = s.ID, e.lead.Token()
	}
	if e.err != nil {
		msg := e.err.Error()
		if len(msg) > electionStateErrMaxSize {
			msg = msg[:electionStateErrMaxSize] + "…"
		}
		s.Error = msg
	}
	return s
}

// ElectionState returns the election as this replica sees it, or nil
// without WithElection.
func (o *Orchestrator) ElectionState() *ElectionState {
	if o.elect == nil {
		return nil
	}
	s := o.elect.state()
	if s.Error != "" {
		s.Error = o.redactString(s.Error)
	}
	return s
}

// leadFor returns the term to act on t under: nil for a local target or
// without an election; an error wrapping ErrNotLeader when t is shared and
// this replica follows.
func (o *Orchestrator) leadFor(t *target) (Leadership, error) {
	if o.elect == nil || !t.spec.Shared {
		return nil, nil
	}
	o.elect.mu.Lock()
	defer o.elect.mu.Unlock()
	if o.elect.lead == nil {
		if id := o.elect.leader.ID; id != "" {
			return nil, fmt.Errorf("%w: %q leads the group", ErrNotLeader, id)
		}
		return nil, fmt.Errorf("%w: no replica leads the group", ErrNotLeader)
	}
	if !o.elect.synced[t.spec.Name] {
		return nil, fmt.Errorf("%w: the shared state of %q is not read yet in this term", ErrNotLeader, t.spec.Name)
	}
	return o.elect.lead, nil
}
