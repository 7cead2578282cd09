package redundancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// An escalation writes one report (0600, in a 0700 directory) holding what
// was found and what was tried; other events write nothing; two
// escalations in the same instant never overwrite each other.
func TestEscalationNotifierWritesReports(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "escalations")
	n, err := redundancy.NewEscalationNotifier(dir, redundancy.WithEscalationRedactor(redundancy.NewRedactor("pa55word-xyz")))
	require.NoError(t, err)
	o, clock := newOrch(t, redundancy.WithNotifier(n))
	rec := redundancytest.NewRecoverer("test.restart")
	rec.Fail("test.restart", 100)
	p := fastPolicy()
	p.Budget = redundancy.Budget{Max: 2, Window: time.Hour}
	p.Backoff = redundancy.Backoff{Base: time.Second, Jitter: -1}
	require.NoError(t, o.Add(redundancy.Target{Name: "web", Checker: redundancytest.NewChecker(redundancytest.Unhealthy("web")), Recoverer: rec, Policy: p}))
	for range 4 {
		o.Tick(context.Background())
		clock.Advance(time.Minute)
	}
	require.NoError(t, n.Notify(context.Background(), redundancy.Event{Time: t0, Target: "db", Kind: redundancy.EventEscalated, Err: errors.New("login pa55word-xyz refused")}))
	require.NoError(t, n.Notify(context.Background(), redundancy.Event{Time: t0, Target: "db", Kind: redundancy.EventEscalated}))
	require.NoError(t, n.Close(context.Background()))
	written, failed, dropped := n.Stats()
	assert.Equal(t, 3, written)
	assert.Zero(t, failed)
	assert.Zero(t, dropped)

	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	webReports, _ := filepath.Glob(filepath.Join(dir, "*-web.json"))
	require.Len(t, webReports, 1, "one report per escalation, none for other events")
	info, err = os.Stat(webReports[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	var rep redundancy.EscalationReport
	data, err := os.ReadFile(webReports[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, "web", rep.Target)
	assert.Equal(t, "down", rep.Summary)
	require.Len(t, rep.Findings, 1)
	require.Len(t, rep.History, 2, "the two attempts of the budget window")
	assert.Equal(t, "test.restart", rep.History[0].Verb)
	assert.Contains(t, rep.Error, "2 recovery attempts")
	assert.Equal(t, redundancy.DefaultEscalationAdvice, rep.Advice)

	dbReports, _ := filepath.Glob(filepath.Join(dir, "*-db*.json"))
	require.Len(t, dbReports, 2, "same instant, two files")
	first, _ := filepath.Glob(filepath.Join(dir, "*-db.json"))
	require.Len(t, first, 1)
	data, err = os.ReadFile(first[0])
	require.NoError(t, err)
	assert.Contains(t, string(data), "login [REDACTED] refused")
	assert.NotContains(t, string(data), "pa55word-xyz")
}

func TestEscalationNotifierFailuresAndClose(t *testing.T) {
	t.Parallel()
	_, err := redundancy.NewEscalationNotifier("")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redundancy: escalation notifier")

	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	n, err := redundancy.NewEscalationNotifier(filepath.Join(file, "sub")) // cannot be a directory
	require.NoError(t, err)
	require.NoError(t, n.Notify(context.Background(), redundancy.Event{Time: t0, Target: "x", Kind: redundancy.EventEscalated}))
	require.NoError(t, n.Close(context.Background()))
	written, failed, _ := n.Stats()
	assert.Zero(t, written)
	assert.Equal(t, 1, failed)

	// A full queue drops the oldest, and Notify never blocks.
	n, err = redundancy.NewEscalationNotifier(t.TempDir(), redundancy.WithEscalationQueue(1))
	require.NoError(t, err)
	for range 50 {
		require.NoError(t, n.Notify(context.Background(), redundancy.Event{Time: t0, Target: "x", Kind: redundancy.EventEscalated}))
	}
	require.NoError(t, n.Close(context.Background()))
	written, _, dropped := n.Stats()
	assert.Equal(t, 50, written+dropped)
	assert.Positive(t, written)
}
