package webhook

import (
	"context"
	"strings"
	"sync"

	"github.com/uras-dev/uras/redundancy"
)

// Router routes deliveries by key (compared without case) to the event
// sources watching that key, each with a value of its own (what the
// provider feeds the delivery to). It is safe for concurrent use.
type Router[T any] struct {
	mu   sync.Mutex
	next int
	m    map[string]map[int]watcher[T]
}

type watcher[T any] struct {
	v    T
	wake func()
}

// Source returns an event source that, while watched, receives the
// deliveries routed to key: Each calls its wake with v.
func (r *Router[T]) Source(key string, v T) redundancy.EventSource {
	key = strings.ToLower(key)
	return redundancy.EventSourceFunc(func(ctx context.Context, wake func()) error {
		id := r.add(key, v, wake)
		defer r.remove(key, id)
		<-ctx.Done()
		return nil
	})
}

func (r *Router[T]) add(key string, v T, wake func()) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]map[int]watcher[T]{}
	}
	if r.m[key] == nil {
		r.m[key] = map[int]watcher[T]{}
	}
	r.next++
	r.m[key][r.next] = watcher[T]{v: v, wake: wake}
	return r.next
}

func (r *Router[T]) remove(key string, id int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m[key], id)
	if len(r.m[key]) == 0 {
		delete(r.m, key)
	}
}

// Len returns how many sources are watching.
func (r *Router[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ws := range r.m {
		n += len(ws)
	}
	return n
}

// Each calls fn, outside the router's lock, for every source watching one
// of keys (once per source however many of the keys it watches) and
// returns how many there were.
func (r *Router[T]) Each(fn func(v T, wake func()), keys ...string) int {
	r.mu.Lock()
	var ws []watcher[T]
	seen := map[string]bool{}
	for _, k := range keys {
		k = strings.ToLower(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		for _, w := range r.m[k] {
			ws = append(ws, w)
		}
	}
	r.mu.Unlock()
	for _, w := range ws {
		fn(w.v, w.wake)
	}
	return len(ws)
}
