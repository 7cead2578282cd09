package pm2_test

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
)

// hostilePub is a pub.sock peer that accepts every connection and, after
// writing garbage (or nothing), closes it. It records when each dial came,
// on the clock of the bubble that reads it.
type hostilePub struct {
	ln      net.Listener
	garbage []byte
	mu      sync.Mutex
	dials   int
}

// listenHostilePub starts the peer outside any synctest bubble: its
// goroutine blocks on real socket I/O, which must not hold the bubble's
// fake clock. After 1,000 dials it stops listening, so that a client that
// storms ends up waiting on timers instead of spinning for ever.
func listenHostilePub(t *testing.T, home string, garbage []byte) *hostilePub {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(home, "pub.sock"))
	require.NoError(t, err)
	p := &hostilePub{ln: ln, garbage: garbage}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.dials++
			n := p.dials
			p.mu.Unlock()
			if len(p.garbage) > 0 {
				_, _ = c.Write(p.garbage)
			}
			_ = c.Close()
			if n >= 1000 {
				_ = ln.Close()
				return
			}
		}
	}()
	return p
}

func (p *hostilePub) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dials
}

// TestEventsNoReconnectStorm: a peer that accepts and closes at once (or
// sends garbage first) gets a handful of dials in the first seconds and
// then one per ReconnectMax, not thousands a second: a successful dial does
// not reset the backoff.
func TestEventsNoReconnectStorm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		garbage []byte
	}{
		{"accept and close", nil},
		{"garbage", []byte("\x01garbage, no AMP frame\xff\xff\xff\xff\xff\xff\xff\xff")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := shortDir(t)
			peer := listenHostilePub(t, home, tc.garbage)
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				n := pm2.NewNative(pm2.NativeOptions{Home: home}) // defaults: 100ms doubling to 5s
				ch, err := n.Events(ctx)
				require.NoError(t, err)
				start := time.Now()
				var perWindow [6]int // dials seen in each 10 s of fake time
				connected := 0
				for e := range ch {
					if e.Kind == pm2.EventConnected {
						connected++
						perWindow[min(int(time.Since(start)/(10*time.Second)), 5)]++
					}
				}
				assert.Equal(t, connected, peer.count(), "every dial reached the peer")
				// 100ms, 200ms, ... 3.2s, 5s: seven dials in the first 10 s.
				assert.LessOrEqual(t, perWindow[0], 8, "dials in the first 10s: %v", perWindow)
				// Then one per ReconnectMax (5s): two per 10 s.
				for i := 1; i < len(perWindow); i++ {
					assert.LessOrEqual(t, perWindow[i], 2, "dials in window %d: %v", i, perWindow)
				}
				assert.GreaterOrEqual(t, connected, 10, "it keeps trying: %v", perWindow)
			})
		})
	}
}
