package redundancytest

import (
	"context"
	"sync"

	"github.com/uras-dev/uras/redundancy"
)

// AlertRecorder is a redundancy.AlertNotifier that records the notices it
// receives, for assertions: register it with redundancy.WithAlertNotifier.
type AlertRecorder struct {
	mu     sync.Mutex
	alerts []redundancy.Alert
}

var _ redundancy.AlertNotifier = (*AlertRecorder)(nil)

// NotifyAlert records a.
func (r *AlertRecorder) NotifyAlert(_ context.Context, a redundancy.Alert) error {
	r.mu.Lock()
	r.alerts = append(r.alerts, a)
	r.mu.Unlock()
	return nil
}

// Alerts returns the notices so far, in order.
func (r *AlertRecorder) Alerts() []redundancy.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]redundancy.Alert(nil), r.alerts...)
}

// Notices returns "notice key" for each notice so far ("open web/test.down").
func (r *AlertRecorder) Notices() []string {
	var out []string
	for _, a := range r.Alerts() {
		out = append(out, a.Notice.String()+" "+a.Key)
	}
	return out
}

// Count returns how many notices of kind n were recorded.
func (r *AlertRecorder) Count(n redundancy.AlertNotice) int {
	c := 0
	for _, a := range r.Alerts() {
		if a.Notice == n {
			c++
		}
	}
	return c
}

// Reset forgets the notices so far.
func (r *AlertRecorder) Reset() {
	r.mu.Lock()
	r.alerts = nil
	r.mu.Unlock()
}
