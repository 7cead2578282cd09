package redundancy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// Alerts page people: one per target and problem, opened once, resolved
// once, with a key that stays the same in between.
func ExampleWithAlertNotifier() {
	clock := redundancytest.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	page := redundancy.AlertNotifierFunc(func(_ context.Context, a redundancy.Alert) error {
		fmt.Println(a.Notice, a.Key, a.Severity, "first seen", a.FirstSeen.Format("15:04"))
		return nil
	})
	o := redundancy.New(redundancy.WithClock(clock), redundancy.WithAlertNotifier(page))
	db := redundancytest.NewChecker(redundancytest.Unhealthy("db"))
	_ = o.Add(redundancy.Target{Name: "db", Checker: db, Policy: redundancy.Policy{Interval: time.Minute, FailureThreshold: 2}})
	for range 5 { // five minutes down: one alert, not five
		o.Tick(context.Background())
		clock.Advance(time.Minute)
	}
	db.Set(redundancytest.Healthy())
	o.Tick(context.Background())
	// Output:
	// open db/test.down critical first seen 12:00
	// resolved db/test.down critical first seen 12:00
}

// A maintenance window: every night from 02:00 to 03:00 Berlin time the
// "pm2" target's alerts are silenced and its repairs paused (say, for
// backups that stop the apps). Silences are kept in the state file.
func ExampleOrchestrator_Silence() {
	clock := redundancytest.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	o := redundancy.New(redundancy.WithClock(clock))
	s, err := o.Silence(redundancy.Silence{
		ID: "nightly-backup", Target: "pm2", Comment: "backups stop the apps",
		Every: "0 2 * * *", Duration: time.Hour, TimeZone: "Europe/Berlin", PauseRepairs: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("set:", s.ID)
	for _, st := range o.Silences() {
		fmt.Println(st.ID, "active:", st.Active, "next:", st.Next.Format(time.RFC3339))
	}
	_, err = o.Silence(redundancy.Silence{Target: "web"})
	fmt.Println(err)
	// Output:
	// set: nightly-backup
	// nightly-backup active: false next: 2026-03-02T01:00:00Z
	// redundancy: invalid silence: a one-off silence needs until (or a duration)
}
