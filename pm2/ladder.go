package pm2

// Repair ladders.
//
// Each failure has a ladder of repairs, tried one rung per recovery
// attempt and escalated only when the last rung failed:
//
//	app errored, stopped, stuck or crash-looping:
//	    restart (Config.RestartTries attempts, the orchestrator's backoff between them)
//	    → delete and re-add (from dump.pm2, dump.pm2.bak, the ecosystem file or the known-good list)
//	    → escalate
//	app missing:
//	    restore it from dump.pm2 → from dump.pm2.bak → start it from the ecosystem file
//	    → start it from its known-good definition → escalate
//	daemon down:
//	    resurrect from a validated dump.pm2 → restore dump.pm2.bak and resurrect
//	    → start the ecosystem file → start every app from the known-good list → escalate
//	daemon hung (its RPC ping timed out):
//	    SIGCONT → kill it by its pm2.pid (proven to be this home's daemon) and bring it back
//	    → escalate
//
// A rung that does not apply (no dump lists the app, no ecosystem file) is
// skipped. Which rung was tried last for which subject is kept in the
// Store under "pm2/<home id>/ladders", written by the actions as they run
// (so a dry run, which only plans, moves no ladder); the Checker clears a
// subject's entry once a check finds it healthy, and an entry older than
// Config.LadderReset is forgotten. Escalating is Plan's error wrapping
// redundancy.ErrExhausted.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// ladderKind names a ladder.
type ladderKind string

const (
	ladderApp        ladderKind = "app"
	ladderMissing    ladderKind = "missing"
	ladderDaemonDown ladderKind = "daemon-down"
	ladderDaemonHung ladderKind = "daemon-hung"
)

// rung is one step of a ladder: its actions when it applies now (nil when
// it does not), and how many recovery attempts it gets before the next
// rung is tried.
type rung struct {
	name    string
	tries   int
	actions func(mark func(context.Context)) []redundancy.Action
}

// ladderEntry is what is remembered of one subject's ladder.
type ladderEntry struct {
	Rung  int       `json:"rung"`
	Name  string    `json:"name"`
	Tries int       `json:"tries"`
	At    time.Time `json:"at"`
	Plan  uint64    `json:"plan"` // the plan that last tried it: retries of one action count once
}

// ladders keeps the ladder entries of one PM2 home in a Store.
type ladders struct {
	store redundancy.Store
	key   string
	clock redundancy.Clock
	reset time.Duration
	plans atomic.Uint64
	mu    sync.Mutex
}

func newLadders(cfg Config) *ladders {
	l := &ladders{store: cfg.Store, key: storeKey(cfg.Home, "ladders"), clock: cfg.Clock, reset: cfg.LadderReset}
	l.plans.Store(uint64(cfg.Clock.Now().UnixNano()))
	return l
}

func entryKey(kind ladderKind, subject string) string { return string(kind) + "/" + subject }

func (l *ladders) load(ctx context.Context) (map[string]ladderEntry, error) {
	m := map[string]ladderEntry{}
	data, err := l.store.Load(ctx, l.key)
	if errors.Is(err, redundancy.ErrNoRecord) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pm2: repair ladders: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		// Progress notes only: starting the ladders over loses no app.
		return map[string]ladderEntry{}, nil
	}
	return m, nil
}

func (l *ladders) save(ctx context.Context, m map[string]ladderEntry) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("pm2: repair ladders: %w", err)
	}
	if err := l.store.Save(ctx, l.key, data); err != nil {
		return fmt.Errorf("pm2: repair ladders: %w", err)
	}
	return nil
}

// climb picks the rung to try now for subject: the rung tried last while
// it has tries left and still applies, else the next rung that applies.
// It returns the rung's actions (each marking the rung tried when it
// runs), or an error wrapping redundancy.ErrExhausted when the last rung
// was tried, or when none applies at all.
func (l *ladders) climb(ctx context.Context, kind ladderKind, subject string, rungs []rung) ([]redundancy.Action, error) {
	l.mu.Lock()
	m, err := l.load(ctx)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	now := l.clock.Now()
	e, found := m[entryKey(kind, subject)]
	if found && now.Sub(e.At) > l.reset {
		found = false
	}
	start := 0
	if found {
		start = e.Rung + 1
		if e.Rung < len(rungs) && e.Tries < max(rungs[e.Rung].tries, 1) {
			start = e.Rung
		}
	}
	plan := l.plans.Add(1)
	for i := start; i < len(rungs); i++ {
		mark := func(ctx context.Context) { l.mark(ctx, kind, subject, i, rungs[i].name, plan) }
		if actions := rungs[i].actions(mark); len(actions) > 0 {
			return actions, nil
		}
	}
	if found {
		return nil, fmt.Errorf("pm2: %s %s: every repair was tried (the last: %s, %d times): %w",
			kind, subject, e.Name, e.Tries, redundancy.ErrExhausted)
	}
	return nil, fmt.Errorf("pm2: %s %s: no repair applies: %w", kind, subject, redundancy.ErrExhausted)
}

// mark records that rung i of subject's ladder is being tried by plan.
// A failure to record is not the action's failure: at worst the rung is
// tried again.
func (l *ladders) mark(ctx context.Context, kind ladderKind, subject string, i int, name string, plan uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.load(ctx)
	if err != nil {
		return
	}
	k := entryKey(kind, subject)
	e := m[k]
	switch {
	case e.Rung == i && e.Plan == plan && e.Tries > 0:
		return // a retry of the same attempt
	case e.Rung == i && e.Tries > 0 && l.clock.Now().Sub(e.At) <= l.reset:
		e.Tries++
	default:
		e = ladderEntry{Rung: i, Tries: 1}
	}
	e.Name, e.At, e.Plan = name, l.clock.Now(), plan
	m[k] = e
	_ = l.save(ctx, m)
}

// clear forgets the entries of the subjects that failing does not list
// (their checks found them healthy). It writes only when it forgets one.
func (l *ladders) clear(ctx context.Context, failing map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.load(ctx)
	if err != nil || len(m) == 0 {
		return
	}
	before := len(m)
	maps.DeleteFunc(m, func(k string, _ ladderEntry) bool { return !failing[k] })
	if len(m) != before {
		_ = l.save(ctx, m)
	}
}

// marking wraps an action so that running it marks its rung first.
func marking(a redundancy.Action, mark func(context.Context)) redundancy.Action {
	do := a.Do
	a.Do = func(ctx context.Context) error {
		mark(ctx)
		return do(ctx)
	}
	return a
}
