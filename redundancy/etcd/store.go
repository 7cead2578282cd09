package etcd

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/uras-dev/uras/redundancy"
)

// MaxRecordSize bounds one record of a Store (1 MiB; etcd refuses requests
// over 1.5 MiB by default).
const MaxRecordSize = 1 << 20

// ErrRecordTooLarge is wrapped by Save's error for a record over MaxRecordSize.
var ErrRecordTooLarge = errors.New("record too large")

// Store is a redundancy.Store in etcd, under the group's prefix, shared by
// its replicas. Save is a transaction guarded by the leader's key
// revision: it commits only while the term it runs under leads, so a
// deposed leader that does not know it yet cannot overwrite its
// successor's records. Load reads whatever the leader wrote last.
type Store struct {
	e *Elector
}

var _ redundancy.Store = (*Store)(nil)

// Store returns the group's store.
func (e *Elector) Store() *Store { return &Store{e: e} }

func (s *Store) path(key string) (string, error) {
	if err := redundancy.ValidateKey(key); err != nil {
		return "", fmt.Errorf("etcd: store: %w", err)
	}
	return s.e.prefix + "store/" + key, nil
}

// Load returns the record under key, or an error wrapping
// redundancy.ErrNoRecord.
func (s *Store) Load(ctx context.Context, key string) ([]byte, error) {
	k, err := s.path(key)
	if err != nil {
		return nil, err
	}
	resp, err := s.e.cli.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("etcd: store: load %q: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("etcd: store: %q: %w", key, redundancy.ErrNoRecord)
	}
	v := resp.Kvs[0].Value
	if len(v) > MaxRecordSize {
		return nil, fmt.Errorf("etcd: store: %q: %w: %d bytes, limit %d", key, ErrRecordTooLarge, len(v), MaxRecordSize)
	}
	return v, nil
}

// Save writes data under key if the term it runs under still leads: the
// term ctx carries (redundancy.ContextWithLeadership; the orchestrator
// gives it to shared targets' checks, plans and actions), or else the
// term this elector holds. Without one, or once the term was superseded,
// the error wraps redundancy.ErrNotLeader and nothing is written.
func (s *Store) Save(ctx context.Context, key string, data []byte) error {
	k, err := s.path(key)
	if err != nil {
		return err
	}
	if len(data) > MaxRecordSize {
		return fmt.Errorf("etcd: store: %q: %w: %d bytes, limit %d", key, ErrRecordTooLarge, len(data), MaxRecordSize)
	}
	t := s.term(ctx)
	if t == nil {
		return fmt.Errorf("etcd: store: save %q: %w: this replica holds no term", key, redundancy.ErrNotLeader)
	}
	resp, err := s.e.cli.Txn(ctx).If(t.Guard()).Then(clientv3.OpPut(k, string(data))).Commit()
	if err != nil {
		return fmt.Errorf("etcd: store: save %q: %w", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("etcd: store: save %q: %w: term %d was superseded (fenced)", key, redundancy.ErrNotLeader, t.rev)
	}
	return nil
}

// term is the term a write runs under.
func (s *Store) term(ctx context.Context) *Term {
	if l, ok := redundancy.LeadershipFromContext(ctx); ok {
		if t, ok := l.(*Term); ok && t.e == s.e {
			return t
		}
	}
	return s.e.current()
}
