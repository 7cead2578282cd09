package redundancy

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MaxSilenceDuration bounds the length of each window of a recurring
// silence.
const MaxSilenceDuration = 31 * 24 * time.Hour

// cronParser reads Silence.Every: five fields (minute hour day-of-month
// month day-of-week) or a descriptor (@daily, @weekly, ...).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// window is a compiled silence: when it is active.
type window struct {
	s     Silence
	sched *cron.SpecSchedule // nil: one-off
}

// compileWindow checks the timing fields of s and compiles its schedule.
func compileWindow(s Silence) (*window, error) {
	w := &window{s: s}
	if s.Every == "" {
		if s.TimeZone != "" {
			return nil, fmt.Errorf("time_zone %q is for recurring silences (every)", s.TimeZone)
		}
		if s.Until.IsZero() {
			return nil, fmt.Errorf("a one-off silence needs until (or a duration)")
		}
		if !s.Start.IsZero() && !s.Until.After(s.Start) {
			return nil, fmt.Errorf("until %s is not after start %s", s.Until.Format(time.RFC3339), s.Start.Format(time.RFC3339))
		}
		return w, nil
	}
	spec := strings.TrimSpace(s.Every)
	if strings.HasPrefix(spec, "@every") {
		return nil, fmt.Errorf("every %q: @every has no start; give a cron schedule (\"0 2 * * *\") or @daily, @weekly", s.Every)
	}
	if strings.Contains(spec, "TZ=") {
		return nil, fmt.Errorf("every %q: give the time zone in time_zone", s.Every)
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("every %q: %w", s.Every, err)
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("every %q: not a calendar schedule", s.Every)
	}
	if s.Duration <= 0 {
		return nil, fmt.Errorf("a recurring silence needs a positive duration")
	}
	if s.Duration > MaxSilenceDuration {
		return nil, fmt.Errorf("duration %s is above the maximum of %s", s.Duration, MaxSilenceDuration)
	}
	loc := time.UTC
	if s.TimeZone != "" {
		if loc, err = time.LoadLocation(s.TimeZone); err != nil {
			return nil, fmt.Errorf("time_zone %q: %w", s.TimeZone, err)
		}
	}
	ss.Location = loc
	w.sched = ss
	return w, nil
}

// at says whether the silence is active at now, and the end of its current
// window (active) or the start of its next one (not active; zero when
// there is none: the silence has expired).
func (w *window) at(now time.Time) (active bool, end, next time.Time) {
	s := w.s
	if w.sched == nil {
		switch {
		case !now.Before(s.Until):
			return false, time.Time{}, time.Time{}
		case !s.Start.IsZero() && now.Before(s.Start):
			return false, time.Time{}, s.Start
		}
		return true, s.Until, time.Time{}
	}
	if !s.Until.IsZero() && !now.Before(s.Until) {
		return false, time.Time{}, time.Time{}
	}
	// The latest window start in (now-Duration, now] that is not before Start.
	from := now.Add(-s.Duration)
	if !s.Start.IsZero() && from.Before(s.Start) {
		from = s.Start.Add(-time.Nanosecond)
	}
	var last time.Time
	for i, at := 0, w.sched.Next(from); i < 10_000 && !at.IsZero() && !at.After(now); i, at = i+1, w.sched.Next(at) {
		last = at
	}
	if !last.IsZero() {
		end = last.Add(s.Duration)
		if !s.Until.IsZero() && end.After(s.Until) {
			end = s.Until
		}
		return true, end, time.Time{}
	}
	after := now
	if !s.Start.IsZero() && after.Before(s.Start) {
		after = s.Start.Add(-time.Nanosecond)
	}
	next = w.sched.Next(after)
	if !s.Until.IsZero() && !next.Before(s.Until) {
		next = time.Time{}
	}
	return false, time.Time{}, next
}

// expired reports whether the silence can never be active again.
func (w *window) expired(now time.Time) bool {
	active, _, next := w.at(now)
	return !active && next.IsZero()
}
