package netlify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// DefaultKnownGoodKeep is how many deploys a KnownGood remembers per site.
const DefaultKnownGoodKeep = 20

// KnownGood remembers, per site, the production deploys that passed the
// site's probes while they were published, and the deploy a Recoverer
// locked after restoring it. A SiteChecker with Probes records into it; a
// Recoverer restores only a deploy it lists. Give both the same value.
//
// The records live in Store under the key "netlify/<site>/known-good". The
// zero value keeps them in memory, so they are lost when the process ends
// and a restarted monitor restores nothing until a deploy has passed its
// probes again: give it a redundancy.FileStore to keep them. A KnownGood is
// safe for concurrent use.
type KnownGood struct {
	// Store keeps the records. Default: an in-memory store of its own.
	Store redundancy.Store
	// Keep is how many deploys are remembered per site, the newest by
	// creation. Default DefaultKnownGoodKeep.
	Keep int

	once sync.Once
	mem  *redundancy.MemoryStore
	mu   sync.Mutex // serialises read-modify-write of records
}

// GoodDeploy is a deploy that passed the probes while it was published.
type GoodDeploy struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// VerifiedAt is when it was first seen passing.
	VerifiedAt time.Time `json:"verified_at"`
}

// knownGoodRecord is the stored record of one site.
type knownGoodRecord struct {
	Version int          `json:"version"`
	Deploys []GoodDeploy `json:"deploys"` // newest first
	// Locked is the deploy the recoverer locked (and so may unlock).
	Locked   string     `json:"locked,omitempty"`
	LockedAt *time.Time `json:"locked_at,omitempty"`
}

func (k *KnownGood) store() redundancy.Store {
	if k.Store != nil {
		return k.Store
	}
	k.once.Do(func() { k.mem = redundancy.NewMemoryStore() })
	return k.mem
}

// knownGoodKey is the store key of a site's record. Characters a key may
// not hold become '_'.
func knownGoodKey(siteID string) string {
	seg := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, siteID)
	if seg == "." || seg == ".." || seg == "" {
		seg = strings.Repeat("_", len(seg)+1)
	}
	return "netlify/" + seg + "/known-good"
}

func (k *KnownGood) load(ctx context.Context, siteID string) (knownGoodRecord, error) {
	var rec knownGoodRecord
	data, err := k.store().Load(ctx, knownGoodKey(siteID))
	if errors.Is(err, redundancy.ErrNoRecord) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("netlify: known-good deploys of %s: %w", siteID, err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("netlify: known-good deploys of %s: record %s is not valid JSON: %v", siteID, knownGoodKey(siteID), err)
	}
	for i, d := range rec.Deploys {
		if checkID("deploy", d.ID) != nil {
			return rec, fmt.Errorf("netlify: known-good deploys of %s: record %s: deploys[%d] has a bad id %q", siteID, knownGoodKey(siteID), i, d.ID)
		}
	}
	return rec, nil
}

func (k *KnownGood) save(ctx context.Context, siteID string, rec knownGoodRecord) error {
	rec.Version = 1
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("netlify: known-good deploys of %s: %w", siteID, err)
	}
	if err := k.store().Save(ctx, knownGoodKey(siteID), data); err != nil {
		return fmt.Errorf("netlify: known-good deploys of %s: %w", siteID, err)
	}
	return nil
}

// Record remembers that deploy d of the site passed the probes at time at
// while it was published. Recording a deploy already known writes nothing.
func (k *KnownGood) Record(ctx context.Context, siteID string, d Deploy, at time.Time) error {
	if err := checkID("deploy", d.ID); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.load(ctx, siteID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(rec.Deploys, func(g GoodDeploy) bool { return g.ID == d.ID }) {
		return nil
	}
	rec.Deploys = append(rec.Deploys, GoodDeploy{ID: d.ID, CreatedAt: d.CreatedAt.UTC(), VerifiedAt: at.UTC()})
	slices.SortStableFunc(rec.Deploys, func(a, b GoodDeploy) int { return b.CreatedAt.Compare(a.CreatedAt) })
	keep := k.Keep
	if keep <= 0 {
		keep = DefaultKnownGoodKeep
	}
	if len(rec.Deploys) > keep {
		rec.Deploys = rec.Deploys[:keep]
	}
	return k.save(ctx, siteID, rec)
}

// Deploys returns the site's known-good deploys, newest first.
func (k *KnownGood) Deploys(ctx context.Context, siteID string) ([]GoodDeploy, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.load(ctx, siteID)
	return rec.Deploys, err
}

// Locked returns the deploy of the site the recoverer locked ("" when none).
func (k *KnownGood) Locked(ctx context.Context, siteID string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.load(ctx, siteID)
	return rec.Locked, err
}

// SetLocked records that the recoverer locked deployID at time at; an
// empty deployID clears the record.
func (k *KnownGood) SetLocked(ctx context.Context, siteID, deployID string, at time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.load(ctx, siteID)
	if err != nil {
		return err
	}
	if rec.Locked == deployID {
		return nil
	}
	rec.Locked, rec.LockedAt = deployID, nil
	if deployID != "" {
		t := at.UTC()
		rec.LockedAt = &t
	}
	return k.save(ctx, siteID, rec)
}
