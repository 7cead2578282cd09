package pm2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// KnownGood is one version of the known-good process list of a PM2 home:
// the apps a healthy daemon ran (every expected app online), with their
// definitions as PM2 dumped them, never their environment.
type KnownGood struct {
	Home string          `json:"home"`
	Time time.Time       `json:"time"`
	Apps []AppDefinition `json:"apps"`
}

// Names returns the apps' names.
func (k KnownGood) Names() []string {
	out := make([]string, len(k.Apps))
	for i, a := range k.Apps {
		out[i] = a.Name
	}
	return out
}

// App returns the definition of the app named name.
func (k KnownGood) App(name string) (AppDefinition, bool) {
	i := slices.IndexFunc(k.Apps, func(a AppDefinition) bool { return a.Name == name })
	if i < 0 {
		return AppDefinition{}, false
	}
	return k.Apps[i], true
}

// sameApps reports whether k and o list the same apps with the same
// definitions, in any order.
func (k KnownGood) sameApps(o KnownGood) bool {
	if len(k.Apps) != len(o.Apps) {
		return false
	}
	for _, a := range k.Apps {
		b, ok := o.App(a.Name)
		if !ok {
			return false
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			return false
		}
	}
	return true
}

// DefaultKnownGoodHistory is how many versions of the known-good list are
// kept when Config.KnownGoodHistory is zero.
const DefaultKnownGoodHistory = 10

// KnownGoodList keeps the known-good process list of one PM2 home in a
// redundancy.Store under "pm2/<home id>/known-good", with its last
// versions: every Record that changes the list adds a version, each Save
// of the store is atomic. It is safe for concurrent use.
type KnownGoodList struct {
	store redundancy.Store
	home  string
	key   string
	keep  int
	mu    sync.Mutex
}

// knownGoodRecord is the stored form: the versions, newest first.
type knownGoodRecord struct {
	Home     string      `json:"home"`
	Versions []KnownGood `json:"versions"`
}

// NewKnownGoodList returns the list of home (a PM2_HOME; "" for a client
// with no home of its own) kept in store, with at most keep versions
// (DefaultKnownGoodHistory when keep <= 0).
func NewKnownGoodList(store redundancy.Store, home string, keep int) *KnownGoodList {
	if keep <= 0 {
		keep = DefaultKnownGoodHistory
	}
	return &KnownGoodList{store: store, home: cleanHome(home), key: storeKey(home, "known-good"), keep: keep}
}

// cleanHome is home as an absolute, clean path ("" stays "").
func cleanHome(home string) string {
	if home == "" {
		return ""
	}
	if abs, err := filepath.Abs(home); err == nil {
		home = abs
	}
	return filepath.Clean(home)
}

// Key returns the Store key the list is kept under:
// "pm2/<16 hex digits of the home's SHA-256>/known-good".
func (l *KnownGoodList) Key() string { return l.key }

// storeKey is the Store key of a record about home.
func storeKey(home, what string) string {
	id := "no-home"
	if home != "" {
		sum := sha256.Sum256([]byte(cleanHome(home)))
		id = hex.EncodeToString(sum[:8])
	}
	return "pm2/" + id + "/" + what
}

// ErrNoKnownGood is wrapped by KnownGoodList.Latest's error when no list
// was recorded yet.
var ErrNoKnownGood = errors.New("pm2: no known-good process list recorded")

// Latest returns the newest version, or an error wrapping ErrNoKnownGood.
func (l *KnownGoodList) Latest(ctx context.Context) (KnownGood, error) {
	rec, err := l.load(ctx)
	if err != nil {
		return KnownGood{}, err
	}
	if len(rec.Versions) == 0 {
		return KnownGood{}, ErrNoKnownGood
	}
	return rec.Versions[0], nil
}

// History returns the versions kept, newest first.
func (l *KnownGoodList) History(ctx context.Context) ([]KnownGood, error) {
	rec, err := l.load(ctx)
	if err != nil {
		return nil, err
	}
	return rec.Versions, nil
}

// Record makes k the newest version unless it lists the same apps with the
// same definitions as the newest one already; it reports whether it added
// a version. k.Home is set to the list's home; a zero k.Time is an error.
func (l *KnownGoodList) Record(ctx context.Context, k KnownGood) (bool, error) {
	if k.Time.IsZero() {
		return false, errors.New("pm2: known-good list: a version needs its time")
	}
	for _, a := range k.Apps {
		if a.Name == "" {
			return false, errors.New("pm2: known-good list: an app without a name")
		}
	}
	k.Home = l.home
	l.mu.Lock()
	defer l.mu.Unlock()
	rec, err := l.load(ctx)
	if err != nil {
		if !errors.Is(err, errCorruptRecord) {
			return false, err
		}
		if err := l.setAside(ctx); err != nil {
			return false, err
		}
		rec = knownGoodRecord{}
	}
	if len(rec.Versions) > 0 && rec.Versions[0].sameApps(k) {
		return false, nil
	}
	rec.Home = l.home
	rec.Versions = append([]KnownGood{k}, rec.Versions...)
	if len(rec.Versions) > l.keep {
		rec.Versions = rec.Versions[:l.keep]
	}
	return true, l.save(ctx, rec)
}

// Forget records a new version without the named apps, so that the guard
// lets them go: the way to remove an app for good when Config.Apps is
// empty (with Config.Apps, removing it there is enough).
func (l *KnownGoodList) Forget(ctx context.Context, now time.Time, names ...string) error {
	k, err := l.Latest(ctx)
	if err != nil {
		return err
	}
	k.Apps = slices.DeleteFunc(slices.Clone(k.Apps), func(a AppDefinition) bool { return slices.Contains(names, a.Name) })
	k.Time = now
	_, err = l.Record(ctx, k)
	return err
}

var errCorruptRecord = errors.New("pm2: known-good list: stored record is unusable")

func (l *KnownGoodList) load(ctx context.Context) (knownGoodRecord, error) {
	var rec knownGoodRecord
	if l.store == nil {
		return rec, errors.New("pm2: known-good list: no store")
	}
	data, err := l.store.Load(ctx, l.key)
	if errors.Is(err, redundancy.ErrNoRecord) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("pm2: known-good list: %w", err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return knownGoodRecord{}, fmt.Errorf("%w (%s): %s", errCorruptRecord, l.key, safeJSONError(err))
	}
	if rec.Home != l.home {
		return knownGoodRecord{}, fmt.Errorf("%w (%s): it is the list of another home (%q, not %q)", errCorruptRecord, l.key, rec.Home, l.home)
	}
	return rec, nil
}

// setAside keeps a record that does not decode under key + "-corrupt"
// before a new one replaces it: nothing is silently lost.
func (l *KnownGoodList) setAside(ctx context.Context) error {
	data, err := l.store.Load(ctx, l.key)
	if err != nil {
		return fmt.Errorf("pm2: known-good list: %w", err)
	}
	if err := l.store.Save(ctx, l.key+"-corrupt", data); err != nil {
		return fmt.Errorf("pm2: known-good list: set the unreadable record aside: %w", err)
	}
	return nil
}

func (l *KnownGoodList) save(ctx context.Context, rec knownGoodRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("pm2: known-good list: %w", err)
	}
	if err := l.store.Save(ctx, l.key, data); err != nil {
		return fmt.Errorf("pm2: known-good list: %w", err)
	}
	return nil
}
