package webhook

import (
	"sync"
	"sync/atomic"
	"time"
)

// Seen remembers the last n keys added (delivery ids, body digests): a
// bounded memory, the oldest forgotten first. It is safe for concurrent
// use.
type Seen struct {
	mu   sync.Mutex
	ring []string
	pos  int
	set  map[string]struct{}
}

// NewSeen returns a memory of n keys (at least 1).
func NewSeen(n int) *Seen {
	n = max(n, 1)
	return &Seen{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// Add remembers key and reports whether it is new (false: seen already).
func (s *Seen) Add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[key]; ok {
		return false
	}
	if old := s.ring[s.pos]; old != "" {
		delete(s.set, old)
	}
	s.ring[s.pos] = key
	s.pos = (s.pos + 1) % len(s.ring)
	s.set[key] = struct{}{}
	return true
}

// Throttle lets one thing through per period: for warnings an attacker
// could otherwise repeat into the log at will.
type Throttle struct {
	Period time.Duration
	last   atomic.Int64
}

// Allow reports whether now is at least Period after the last allowed time.
func (t *Throttle) Allow(now time.Time) bool {
	last := t.last.Load()
	if last != 0 && now.UnixNano()-last < int64(t.Period) {
		return false
	}
	return t.last.CompareAndSwap(last, now.UnixNano())
}
