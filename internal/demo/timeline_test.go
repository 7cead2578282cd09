package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/uras-dev/uras/redundancy"
)

func TestTimelineFromEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tl := newTimeline([]string{"pm2", "github", "netlify"})
	changed := func(target string, to redundancy.Status, ms int) redundancy.Event {
		return redundancy.Event{Kind: redundancy.EventStatusChanged, Target: target, To: to, Time: at(ms)}
	}
	tl.event("pm2", changed("pm2", redundancy.StatusUnhealthy, 0)) // before the fault: ignored
	tl.fault("pm2", at(100))
	tl.fault("github", at(100))
	tl.event("pm2", changed("pm2", redundancy.StatusUnhealthy, 400))
	tl.plan("pm2", at(450))
	tl.event("pm2", redundancy.Event{Kind: redundancy.EventRecoveryStarted, Target: "pm2", Time: at(460)})
	tl.event("pm2", redundancy.Event{Kind: redundancy.EventRecoverySucceeded, Target: "pm2", Time: at(900)})
	tl.event("pm2", changed("pm2", redundancy.StatusHealthy, 1600))
	// github: two targets; verified once both are healthy again.
	tl.event("github", changed("a", redundancy.StatusUnhealthy, 300))
	tl.event("github", changed("b", redundancy.StatusDegraded, 350))
	tl.event("github", redundancy.Event{Kind: redundancy.EventRecoveryStarted, Target: "a", Time: at(500)})
	tl.event("github", changed("a", redundancy.StatusHealthy, 2000))
	st, _ := tl.reached("github")
	assert.Equal(t, stagePlan, st, "b is still failing")
	tl.event("github", changed("b", redundancy.StatusHealthy, 3100))
	assert.Equal(t, "pm2 verified, github verified, netlify fault", tl.progress())

	var b strings.Builder
	tl.render(&b)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	assert.Equal(t, []string{
		"recovery timeline (seconds after each fault, from the orchestrators' events):",
		"  SYSTEM         FAULT    DETECTED        PLAN   RECOVERED    VERIFIED",
		"  pm2             0.00        0.30        0.35        0.80        1.50",
		"  github          0.00        0.20        0.40           -        3.00",
		"  netlify            -           -           -           -           -",
	}, lines)
}
