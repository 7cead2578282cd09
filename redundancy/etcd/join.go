package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/uras-dev/uras/redundancy"
)

// Membership is a monitor's place in its cluster, for a launcher: one
// election per orchestrator that runs shared targets (its parts), on one
// connection to etcd. A nil *Membership (no cluster section) elects
// nobody: its Options are none, its Store is the fallback, Close does
// nothing.
type Membership struct {
	el    *Elector
	parts map[string]*Elector
}

// Join connects to the cluster c describes as replica c.Replica(), with
// one Part per name in parts (the orchestrators with shared targets:
// "github", "netlify"). The password is secret(c.Etcd.PasswordVar()): a
// launcher passes the function that reads and redacts it
// (launch.Build.Secret). A nil c returns a nil *Membership and no error.
//
// The connection outlives ctx, so that the orchestrators can resign when
// they stop: Close it after them.
func Join(ctx context.Context, c *Cluster, secret func(name string) string, parts ...string) (*Membership, error) {
	if c == nil {
		return nil, nil
	}
	cc := *c
	id, err := cc.Replica()
	if err != nil {
		return nil, err
	}
	if v := cc.Etcd.PasswordVar(); v != "" && secret != nil {
		cc.Etcd.Password = secret(v)
	}
	el, err := Open(context.WithoutCancel(ctx), cc, id)
	if err != nil {
		return nil, err
	}
	m := &Membership{el: el, parts: make(map[string]*Elector, len(parts))}
	for _, name := range parts {
		if m.parts[name], err = el.Part(name); err != nil {
			return nil, errors.Join(err, el.Close())
		}
	}
	return m, nil
}

// Part returns the elector of the part name; nil when name is no part
// (a local orchestrator) or m is nil.
func (m *Membership) Part(name string) *Elector {
	if m == nil {
		return nil
	}
	return m.parts[name]
}

// Options returns the options that make the orchestrator of part name
// one of the group's replicas (redundancy.WithElection, its records in
// the part's Store); none for a local orchestrator or a nil m.
func (m *Membership) Options(name string) []redundancy.Option {
	p := m.Part(name)
	if p == nil {
		return nil
	}
	return []redundancy.Option{redundancy.WithElection(redundancy.Election{Elector: p, Store: p.Store()})}
}

// Store returns the part's Store, fenced by its election, for a
// provider's records (netlify.WithStore); fallback for a local part or a
// nil m.
func (m *Membership) Store(name string, fallback redundancy.Store) redundancy.Store {
	if p := m.Part(name); p != nil {
		return p.Store()
	}
	return fallback
}

// Close closes the connection to etcd.
func (m *Membership) Close() error {
	if m == nil {
		return nil
	}
	if err := m.el.Close(); err != nil {
		return fmt.Errorf("etcd: leave the cluster: %w", err)
	}
	return nil
}
