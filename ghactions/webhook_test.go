package ghactions_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
)

var hookSecret = []byte("webhook-secret-of-the-repository")

// deliver hands req to h and returns the answer.
func deliver(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func delivery(t *testing.T, event, id string, body, secret []byte) *http.Request {
	t.Helper()
	req, err := ghtest.NewDelivery(context.Background(), "http://uras.example/hooks/github", event, id, body, secret)
	require.NoError(t, err)
	return req
}

// watchSource runs src until the test ends, calling wake for its events.
func watchSource(t *testing.T, src redundancy.EventSource, wake func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Watch(ctx, wake)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func newHook(t *testing.T, opts ...ghactions.WebhookOption) *ghactions.Webhook {
	t.Helper()
	h, err := ghactions.NewWebhook(hookSecret, opts...)
	require.NoError(t, err)
	return h
}

func TestWebhookVerifiesEveryDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf := e.srv.AddWorkflow(owner, name, ghtest.Workflow{Name: "SECRET-MARKER CI", Path: ".github/workflows/ci.yml"})
	run := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionFailure})
	body, ok := e.srv.WorkflowRunPayload(run, "completed")
	require.True(t, ok)
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"Repository","id":1,"events":["workflow_run"]}}`)

	var logs bytes.Buffer
	h := newHook(t, ghactions.WithWebhookMaxBody(int64(3*len(body))),
		ghactions.WithWebhookLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	var woken atomic.Int64
	watchSource(t, h.Source(e.checker()), func() { woken.Add(1) })
	require.Eventually(t, func() bool { return h.Stats().Watchers == 1 }, 5*time.Second, time.Millisecond)

	tampered := bytes.Replace(body, []byte(`"conclusion":"failure"`), []byte(`"conclusion":"success"`), 1)
	require.NotEqual(t, body, tampered)
	sha1Only := delivery(t, "workflow_run", "d-sha1", body, nil)
	m := hmac.New(sha1.New, hookSecret)
	m.Write(body)
	sha1Only.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
	sha1In256 := delivery(t, "workflow_run", "d-sha1b", body, nil)
	sha1In256.Header.Set("X-Hub-Signature-256", "sha1="+hex.EncodeToString(m.Sum(nil)))
	swapped := delivery(t, "workflow_run", "d-tampered", tampered, nil)
	swapped.Header.Set("X-Hub-Signature-256", ghtest.SignDelivery(hookSecret, body))
	plain := delivery(t, "workflow_run", "d-plain", body, hookSecret)
	plain.Header.Set("Content-Type", "text/plain")
	noEvent := delivery(t, "workflow_run", "d-noevent", body, hookSecret)
	noEvent.Header.Del("X-GitHub-Event")
	oversized := append(bytes.Clone(body), bytes.Repeat([]byte(" "), 3*len(body))...)
	form := []byte("payload=" + url.QueryEscape(string(body)))
	formReq := delivery(t, "workflow_run", "d-form", form, hookSecret)
	formReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"missing signature", delivery(t, "workflow_run", "d-none", body, nil), http.StatusUnauthorized},
		{"SHA-1 only", sha1Only, http.StatusUnauthorized},
		{"SHA-1 in the SHA-256 header", sha1In256, http.StatusUnauthorized},
		{"wrong secret", delivery(t, "workflow_run", "d-wrong", body, []byte("another secret")), http.StatusUnauthorized},
		{"tampered body", swapped, http.StatusUnauthorized},
		{"oversized", delivery(t, "workflow_run", "d-big", oversized, hookSecret), http.StatusRequestEntityTooLarge},
		{"unsupported content type", plain, http.StatusUnsupportedMediaType},
		{"no event header", noEvent, http.StatusBadRequest},
		{"body not the event it names", delivery(t, "workflow_run", "d-junk", []byte(`{"workflow_run":"nope"}`), hookSecret), http.StatusBadRequest},
		{"ping", delivery(t, "ping", "d-ping", ping, hookSecret), http.StatusOK},
		{"valid", delivery(t, "workflow_run", "d-1", body, hookSecret), http.StatusAccepted},
		{"replayed delivery", delivery(t, "workflow_run", "d-1", body, hookSecret), http.StatusOK},
		{"same body, new delivery id", delivery(t, "workflow_run", "d-2", body, hookSecret), http.StatusOK},
		{"form-encoded replay", formReq, http.StatusOK},
		{"event not handled", delivery(t, "push", "d-push", []byte(`{"ref":"refs/heads/main"}`), hookSecret), http.StatusOK},
	}
	for _, tc := range cases {
		rec := deliver(h, tc.req)
		assert.Equal(t, tc.want, rec.Code, "%s: %s", tc.name, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "SECRET-MARKER", tc.name)
	}
	assert.Equal(t, int64(1), woken.Load(), "only the valid delivery woke the target")
	get := httptest.NewRequest(http.MethodGet, "/hooks/github", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, deliver(h, get).Code)

	assert.Equal(t, ghactions.WebhookStats{Accepted: 1, Duplicates: 3, Ignored: 2, BadSignature: 5, TooLarge: 1,
		Malformed: 3, BadMethod: 1, Watchers: 1}, h.Stats())
	assert.NotContains(t, logs.String(), "SECRET-MARKER", "bodies are never logged")
	assert.NotContains(t, logs.String(), ghtest.SignDelivery(hookSecret, body), "signatures are never logged")
	assert.Contains(t, logs.String(), "refused")
}

func TestNewWebhookRefusesAnEmptySecret(t *testing.T) {
	t.Parallel()
	_, err := ghactions.NewWebhook(nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "ghactions: "), err.Error())
}

// hookEnv is a repository target whose checker is fed by a webhook mounted
// on a loopback server: deliveries trigger the target, ticks check it.
type hookEnv struct {
	*env
	hook   *ghactions.Webhook
	public *httptest.Server
	o      *redundancy.Orchestrator
}

func newHookEnv(t *testing.T, recover bool) *hookEnv {
	t.Helper()
	e := newEnv(t)
	c := e.checker()
	var r redundancy.Recoverer
	if recover {
		rc, err := ghactions.NewRecoverer(c)
		require.NoError(t, err)
		r = rc
	}
	p := testPolicy()
	p.Interval = ghactions.SafetyNetInterval
	o, _ := e.orchestrate(c, r, p)
	h := newHook(t)
	watchSource(t, h.Source(c), func() { o.Trigger("gh") })
	require.Eventually(t, func() bool { return h.Stats().Watchers == 1 }, 5*time.Second, time.Millisecond)
	public := httptest.NewServer(h)
	t.Cleanup(public.Close)
	return &hookEnv{env: e, hook: h, public: public, o: o}
}

// send delivers the workflow_run payload of run with action.
func (he *hookEnv) send(run int64, action string) {
	he.t.Helper()
	body, ok := he.srv.WorkflowRunPayload(run, action)
	require.True(he.t, ok)
	code, err := ghtest.Deliver(context.Background(), he.public.Client(), he.public.URL, "workflow_run", body, hookSecret)
	require.NoError(he.t, err)
	require.Equal(he.t, http.StatusAccepted, code)
}

// A workflow_run completed failure delivery is judged from its payload: the
// triggered check makes no call at all, and the re-run follows with only
// the recoverer's own read of the run (has it been re-run already?) and
// the re-run itself. No list call.
func TestWorkflowRunFailureDeliveryReRunsWithoutAListCall(t *testing.T) {
	t.Parallel()
	he := newHookEnv(t, true)
	wf, _ := he.workflow("ci.yml", ghactions.ConclusionSuccess)
	require.Equal(t, redundancy.StatusHealthy, he.tick(he.o, 0).Status)

	run := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress})
	he.srv.CompleteRun(run, ghactions.ConclusionFailure)
	he.takeCalls()
	he.send(run, "completed")
	st := he.tick(he.o, 0) // no time passes: only the trigger makes the target due
	calls := he.takeCalls()

	require.Len(t, st.History, 1, st.Report.Summary)
	assert.Equal(t, ghactions.VerbRerunFailedJobs, st.History[0].Verb)
	assert.True(t, st.History[0].OK(), st.History[0].Error)
	var got []string
	for _, c := range calls {
		got = append(got, c.Method+" "+c.Path)
	}
	assert.Equal(t, []string{
		"GET /repos/octo/app/actions/runs/" + itoa(run),
		"POST /repos/octo/app/actions/runs/" + itoa(run) + "/rerun-failed-jobs",
	}, got, "no list call between the delivery and the re-run")
	r, _ := he.srv.Run(run)
	assert.Equal(t, 2, r.Attempt)

	// The re-run's own delivery clears the failure, still with no call.
	he.send(run, "requested")
	st = he.tick(he.o, 0)
	assert.Empty(t, he.takeCalls())
	assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, st.Report.Summary)
}

// Deliveries may arrive out of order, and the list may lag behind them:
// the run furthest along wins, whichever told of it.
func TestDeliveredRunsNeverGoBackwards(t *testing.T) {
	t.Parallel()
	he := newHookEnv(t, false)
	wf, _ := he.workflow("ci.yml", ghactions.ConclusionSuccess)
	require.Equal(t, redundancy.StatusHealthy, he.tick(he.o, 0).Status)

	run := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress})
	early, _ := he.srv.WorkflowRunPayload(run, "in_progress")
	he.srv.CompleteRun(run, ghactions.ConclusionFailure)
	he.send(run, "completed")
	code, err := ghtest.Deliver(context.Background(), he.public.Client(), he.public.URL, "workflow_run", early, hookSecret)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code, "the late in_progress delivery")
	st := he.tick(he.o, 0)
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report), "completed beats a late in_progress")

	// A full reading that still lists a run in progress (GitHub's list
	// lagging behind its events) does not undo its delivered failure.
	run2 := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Conclusion: ghactions.ConclusionFailure})
	done, _ := he.srv.WorkflowRunPayload(run2, "completed")
	he.srv.UpdateRun(run2, func(r *ghtest.Run) { r.Status, r.Conclusion = ghactions.RunInProgress, "" })
	code, err = ghtest.Deliver(context.Background(), he.public.Client(), he.public.URL, "workflow_run", done, hookSecret)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	he.takeCalls()
	st = he.tick(he.o, ghactions.SafetyNetInterval)
	assert.NotEmpty(t, he.takeCalls(), "the reading is old: the check read GitHub")
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report))
	assert.Contains(t, st.Report.Findings[0].Detail, "run "+itoa(run2))
}

// The delivered-run shortcut holds only while the last full reading is
// younger than SafetyNetInterval and knows the run's workflow; runs of
// forks are never judged.
func TestDeliveriesFallBackToAFullReading(t *testing.T) {
	t.Parallel()
	he := newHookEnv(t, false)
	wf, _ := he.workflow("ci.yml", ghactions.ConclusionSuccess)
	require.Equal(t, redundancy.StatusHealthy, he.tick(he.o, 0).Status)

	fork := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, HeadRepo: "stranger/app", Conclusion: ghactions.ConclusionFailure})
	he.takeCalls()
	he.send(fork, "completed")
	st := he.tick(he.o, time.Second)
	assert.Empty(t, he.takeCalls())
	assert.Equal(t, redundancy.StatusHealthy, st.Report.Status, "a fork's failing run is not ours")

	other := he.srv.AddWorkflow(owner, name, ghtest.Workflow{Name: "new", Path: ".github/workflows/new.yml"})
	run := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: other, Branch: branch, Conclusion: ghactions.ConclusionFailure})
	he.send(run, "completed")
	st = he.tick(he.o, time.Second)
	assert.Equal(t, 1, countCalls(he.takeCalls(), http.MethodGet, "/actions/workflows"), "a workflow the reading did not know: read in full")
	assert.Equal(t, []redundancy.Problem{ghactions.ProblemRunFailed}, problems(st.Report))
}

// workflow_job deliveries wake the target only when a job failed.
func TestWorkflowJobDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wf := e.srv.AddWorkflow(owner, name, ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	run := e.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress})
	h := newHook(t)
	var woken atomic.Int64
	watchSource(t, h.Source(e.checker()), func() { woken.Add(1) })
	require.Eventually(t, func() bool { return h.Stats().Watchers == 1 }, 5*time.Second, time.Millisecond)
	for i, tc := range []struct {
		action     string
		conclusion ghactions.RunConclusion
		want       int
	}{
		{"in_progress", "", http.StatusOK},
		{"completed", ghactions.ConclusionSuccess, http.StatusOK},
		{"completed", ghactions.ConclusionFailure, http.StatusAccepted},
	} {
		body, ok := e.srv.WorkflowJobPayload(run, tc.action, tc.conclusion)
		require.True(t, ok)
		rec := deliver(h, delivery(t, "workflow_job", "job-"+itoa(int64(i)), body, hookSecret))
		assert.Equal(t, tc.want, rec.Code, "%s %s: %s", tc.action, tc.conclusion, rec.Body.String())
	}
	assert.Equal(t, int64(1), woken.Load())
	assert.Equal(t, int64(2), h.Stats().Ignored)
}

func ExampleWebhook() {
	// The secret is the repository webhook's secret, read by the program
	// (never by the library) and registered with its redactor.
	hook, err := ghactions.NewWebhook([]byte("webhook secret"))
	if err != nil {
		panic(err)
	}
	client, _ := ghactions.NewClient(ghactions.WithToken("token read by the program"))
	checker, _ := ghactions.NewChecker(client, ghactions.Repo{Owner: "octo", Name: "app"})
	o := redundancy.New()
	_ = o.Add(redundancy.Target{
		Name:    "octo-app",
		Checker: checker,
		Policy:  redundancy.Policy{Interval: ghactions.SafetyNetInterval}, // polling is the safety net
		Source:  hook.Source(checker),
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/github", hook) // on the listener GitHub reaches
	// Output:
}

// FuzzWebhook feeds arbitrary deliveries to the handler: it never panics,
// and nothing whose signature is not the body's HMAC gets a 2xx.
func FuzzWebhook(f *testing.F) {
	h, err := ghactions.NewWebhook(hookSecret)
	require.NoError(f, err)
	run := []byte(`{"action":"completed","workflow_run":{"id":1,"workflow_id":2,"status":"completed","conclusion":"failure"},"repository":{"full_name":"octo/app"}}`)
	f.Add(run, ghtest.SignDelivery(hookSecret, run), "workflow_run", "application/json")
	f.Add(run, "sha256=", "workflow_run", "application/json")
	f.Add([]byte("payload=%7B%7D"), ghtest.SignDelivery(hookSecret, []byte("payload=%7B%7D")), "ping", "application/x-www-form-urlencoded")
	f.Add([]byte(`{"workflow_job":[]}`), ghtest.SignDelivery(hookSecret, []byte(`{"workflow_job":[]}`)), "workflow_job", "application/json; charset=utf-8")
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte, sig, event, ct string) {
		req := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Hub-Signature-256", sig)
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", "fuzz-"+itoa(n.Add(1)))
		rec := deliver(h, req)
		if rec.Code < 300 && sig != ghtest.SignDelivery(hookSecret, body) {
			t.Fatalf("answered %d to a delivery signed %q", rec.Code, sig)
		}
	})
}

// A run that went on from in_progress to waiting (a later job awaits a
// required reviewer) is waiting, whatever an earlier in_progress delivery
// said: it is not stuck, not cancelled, not started afresh. A status does
// not rank a run's life; its updated_at does.
func TestAWaitingRunIsNotUndoneByAnEarlierInProgressDelivery(t *testing.T) {
	t.Parallel()
	he := newHookEnv(t, true)
	wf, _ := he.workflow("deploy.yml", ghactions.ConclusionSuccess)
	require.Equal(t, redundancy.StatusHealthy, he.tick(he.o, 0).Status)

	run := he.srv.AddRun(owner, name, ghtest.Run{WorkflowID: wf, Branch: branch, Status: ghactions.RunInProgress})
	early, _ := he.srv.WorkflowRunPayload(run, "in_progress")
	he.clock.Advance(time.Minute)
	he.srv.UpdateRun(run, func(r *ghtest.Run) { r.Status = ghactions.RunWaiting })
	he.clock.Advance(2 * ghactions.DefaultStuckAfter)

	for i, full := range []bool{true, false} {
		// The same event redelivered (another body: the webhook drops
		// duplicates).
		var m map[string]any
		require.NoError(t, json.Unmarshal(early, &m))
		m["redelivery"] = i
		body, err := json.Marshal(m)
		require.NoError(t, err)
		code, err := ghtest.Deliver(context.Background(), he.public.Client(), he.public.URL, "workflow_run", body, hookSecret)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code)
		d := time.Duration(0)
		if full {
			d = ghactions.SafetyNetInterval
		}
		st := he.tick(he.o, d)
		assert.NotContains(t, problems(st.Report), ghactions.ProblemRunStuck, "full reading %v: %s", full, st.Report.Summary)
		assert.Empty(t, st.History, "full reading %v", full)
	}
	r, _ := he.srv.Run(run)
	assert.Equal(t, ghactions.RunWaiting, r.Status)
	assert.True(t, r.CancelRequested.IsZero(), "never cancelled")
}
