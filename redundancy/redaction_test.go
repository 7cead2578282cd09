package redundancy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

const echoedToken = "nfp_sekr1tT0kenValue42"

var errUnauthorized = errors.New("unauthorized")

// An API that echoes the token in its errors: with WithRedactor, the token
// reaches none of the orchestrator's outputs (events to subscribers and
// notifiers, logs, snapshot, health endpoint, state file, RecoverNow and
// Plan, webhook bodies, escalation reports), and errors.Is still works.
func TestRedactorKeepsAnEchoedTokenOutOfEveryOutput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	red := redundancy.NewRedactor(echoedToken)

	var hookMu sync.Mutex
	var hookBodies bytes.Buffer
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hookBodies.Write(b)
		hookMu.Unlock()
	}))
	defer hook.Close()
	wh, err := redundancy.NewWebhookNotifier(hook.URL, redundancy.WithWebhookRetry(0, time.Millisecond))
	require.NoError(t, err)
	esc, err := redundancy.NewEscalationNotifier(filepath.Join(dir, "escalations"))
	require.NoError(t, err)

	var notified []redundancy.Event
	var nmu sync.Mutex
	var logs bytes.Buffer
	o, _ := newOrch(t,
		redundancy.WithRedactor(red),
		redundancy.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		redundancy.WithStateFile(filepath.Join(dir, "state.json")),
		redundancy.WithNotifier(wh), redundancy.WithNotifier(esc),
		redundancy.WithNotifier(redundancy.NotifierFunc(func(_ context.Context, e redundancy.Event) error {
			nmu.Lock()
			notified = append(notified, e)
			nmu.Unlock()
			return nil
		})))
	echo := fmt.Errorf("GET /api/v1/sites?access_token=%s: 401 bad credentials %s: %w", echoedToken, echoedToken, errUnauthorized)
	checker := redundancytest.NewChecker(redundancy.Report{
		Status: redundancy.StatusUnhealthy, Summary: "API refused " + echoedToken, Err: echo,
		Findings: []redundancy.Finding{{Subject: "site", Problem: "test.auth", Status: redundancy.StatusUnhealthy, Detail: "token " + echoedToken + " refused"}},
	})
	rec := redundancy.RecovererFunc(func(_ context.Context, r redundancy.Report) ([]redundancy.Action, error) {
		return []redundancy.Action{{Verb: "test.redeploy", Subject: "site", Reason: r.Summary, Do: func(context.Context) error { return echo }}}, nil
	})
	p := fastPolicy()
	p.Budget = redundancy.Budget{Max: 1, Window: time.Hour}
	require.NoError(t, o.Add(redundancy.Target{Name: "api", Checker: checker, Recoverer: rec, Policy: p}))
	recorder := redundancytest.NewRecorder(o)

	o.Tick(ctx)                                                 // unhealthy, one failing attempt
	_, rerr := o.RecoverNow(ctx, nil)                           // refused: budget spent, escalates
	results, ferr := o.RecoverNow(ctx, nil, redundancy.Force()) // runs, fails again
	plan, perr := o.Plan(ctx)
	require.NoError(t, wh.Close(ctx))
	require.NoError(t, esc.Close(ctx))

	outputs := map[string]string{}
	for _, e := range recorder.Events() {
		outputs["subscriber "+e.Kind.String()] = eventText(t, e)
	}
	nmu.Lock()
	for _, e := range notified {
		outputs["notifier "+e.Kind.String()] = eventText(t, e)
	}
	nmu.Unlock()
	snap, err := json.Marshal(o.Snapshot())
	require.NoError(t, err)
	outputs["snapshot"] = string(snap)
	st, _ := o.Target("api")
	outputs["target error"] = st.Error + st.History[0].Error + st.History[0].Err.Error() + st.History[0].Reason
	hw := httptest.NewRecorder()
	o.Handler().ServeHTTP(hw, httptest.NewRequest(http.MethodGet, "/health", nil))
	outputs["health"] = hw.Body.String()
	state, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	outputs["state file"] = string(state)
	outputs["logs"] = logs.String()
	rj, _ := json.Marshal(results)
	outputs["recover now"] = string(rj) + rerr.Error() + ferr.Error() + results[0].Err.Error()
	pj, _ := json.Marshal(plan)
	outputs["plan"] = string(pj) + fmt.Sprint(perr)
	hookMu.Lock()
	outputs["webhook bodies"] = hookBodies.String()
	hookMu.Unlock()
	reports, _ := filepath.Glob(filepath.Join(dir, "escalations", "*.json"))
	require.Len(t, reports, 1, "one escalation report")
	rep, err := os.ReadFile(reports[0])
	require.NoError(t, err)
	outputs["escalation report"] = string(rep)

	for name, out := range outputs {
		assert.NotContains(t, out, echoedToken, name)
	}
	// The outputs still say what happened.
	assert.Contains(t, outputs["health"], "API refused [REDACTED]")
	assert.Contains(t, outputs["webhook bodies"], "escalated")
	assert.Contains(t, outputs["escalation report"], "test.redeploy")
	assert.Contains(t, outputs["state file"], "bad credentials [REDACTED]")

	// errors.Is and errors.As still see the original chain.
	failed := recorder.WaitFor(t, redundancy.EventActionFailed, time.Second)
	assert.ErrorIs(t, failed.Err, errUnauthorized)
	assert.ErrorIs(t, st.History[0].Err, errUnauthorized)
	assert.ErrorIs(t, rerr, redundancy.ErrEscalated)
	assert.ErrorIs(t, ferr, errUnauthorized)
	assert.Nil(t, errors.Unwrap(failed.Err), "the unredacted message cannot be reached by unwrapping")
	info, err := os.Stat(reports[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func eventText(t *testing.T, e redundancy.Event) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(e.String() + e.Action + e.Report.Summary)
	if e.Report.Err != nil {
		b.WriteString(e.Report.Err.Error())
	}
	for _, f := range e.Report.Findings {
		b.WriteString(f.String())
	}
	for _, h := range e.History {
		b.WriteString(h.Error + h.Reason)
	}
	return b.String()
}

// Without WithRedactor nothing is redacted (the orchestrator does not guess).
func TestNoRedactorKeepsTextAsIs(t *testing.T) {
	t.Parallel()
	o, _ := newOrch(t)
	require.NoError(t, o.Add(redundancy.Target{Name: "api", Checker: redundancytest.NewChecker(redundancy.ErrorReport(errors.New("token=abc"))), Policy: fastPolicy()}))
	st := o.Tick(context.Background()).Targets[0]
	assert.Equal(t, "token=abc", st.Error)
}
