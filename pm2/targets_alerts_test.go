package pm2_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// A dead PM2 daemon with five apps pages once, naming the daemon: the
// target NewTargets builds carries the problem dependencies, so the apps'
// own problems (had a check seen them beside the dead daemon) stand under
// the daemon's alert, and no app is restarted against a dead daemon.
func TestNewTargetsDeadDaemonIsOneAlert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	names := []string{"web", "api", "worker", "cron", "mail"}
	var apps []pm2.AppConfig
	fake := pm2test.NewFakeClient()
	for _, n := range names {
		apps = append(apps, pm2.AppConfig{Name: n})
		fake.AddProcess(pm2.Process{Name: n, Autorestart: true})
	}
	yes, no, none := true, false, 0
	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{Apps: apps, Critical: &no,
		Policy: redundancy.PolicyConfig{FailureThreshold: 1, Retries: &none}, Alerts: redundancy.AlertPolicyConfig{PageRepairs: &yes}},
		pm2.WithClient(fake))
	require.NoError(t, err)
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	assert.Equal(t, pm2.ProblemDeps(), tg.ProblemDeps)
	assert.Equal(t, redundancy.NonCritical, tg.Criticality, "critical: false")
	assert.True(t, tg.Alerts.PageRepairs, "the section's alerts keys")
	for _, p := range []redundancy.Problem{pm2.ProblemErrored, pm2.ProblemStopped, pm2.ProblemMissing, pm2.ProblemCrashLoop} {
		assert.ElementsMatch(t, []redundancy.Problem{pm2.ProblemDaemonDown, pm2.ProblemDaemonUnresponsive}, tg.ProblemDeps[p], p)
	}

	// The check sees the dead daemon, and (as an event checker may, from
	// the exits the daemon announced as it died) every app errored.
	inner := tg.Checker
	tg.Checker = redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
		r := inner.Check(ctx)
		if r.Has(pm2.ProblemDaemonDown) {
			for _, n := range names {
				r.Findings = append(r.Findings, redundancy.Finding{Subject: n, Problem: pm2.ProblemErrored, Status: redundancy.StatusUnhealthy})
			}
		}
		return r
	})
	rec := &redundancytest.AlertRecorder{}
	clock := redundancytest.NewFakeClock(t0)
	o := redundancy.New(redundancy.WithAlertNotifier(rec), redundancy.WithClock(clock))
	require.NoError(t, o.Add(tg))
	require.Equal(t, redundancy.StatusHealthy, o.Tick(ctx).Status)

	fake.KillDaemon()
	fake.FailNext("Resurrect", redundancytest.Fault{Err: errors.New("resurrect failed"), Times: 10})
	for range 3 {
		clock.Advance(redundancy.DefaultInterval)
		o.Tick(ctx)
	}
	keys := map[string]bool{}
	for _, a := range rec.Alerts() {
		keys[a.Key] = true
	}
	require.Equal(t, map[string]bool{"pm2/pm2.daemon-down": true}, keys, "one alert, the daemon's: %v", rec.Notices())
	assert.Equal(t, 1, rec.Count(redundancy.NoticeOpen), "opened once (its escalation is an update of it)")
	assert.Equal(t, []string{pm2.SubjectDaemon}, rec.Alerts()[0].Subjects)
	var shown []string
	for _, a := range o.Snapshot().Targets[0].Alerts {
		shown = append(shown, a.State.String()+" "+a.Key+" affected="+strings.Join(a.Affected, ",")+" held_by="+a.HeldBy)
	}
	assert.Equal(t, []string{
		"open pm2/pm2.daemon-down affected=pm2/pm2.errored held_by=",
		"pending pm2/pm2.errored affected= held_by=pm2/pm2.daemon-down",
	}, shown, "the apps' errored alert stands under the daemon's")
	assert.Zero(t, fake.CallCount("Restart"), "no app restarted against a dead daemon")
	assert.Positive(t, fake.CallCount("Resurrect"), "the daemon is what is repaired")
}
