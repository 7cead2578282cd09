package launch

import (
	"context"
	"encoding/json"
	"errors"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// wiredCommand is a launcher as the example mains write it: one root
// built with b.Options(""), over the targets ts, in a temporary
// directory; set is what it loads.
func wiredCommand(t *testing.T, ts ...redundancy.Target) (Command[struct{}], *Settings) {
	t.Helper()
	dir := t.TempDir()
	set := &Settings{LogDir: filepath.Join(dir, "logs"), StateDir: filepath.Join(dir, "state"), Secrets: []string{secret}}
	return Command[struct{}]{
		Name: "test",
		Load: func(string) (struct{}, Settings, error) { return struct{}{}, *set, nil },
		Build: func(ctx context.Context, _ struct{}, b Build) (*System, error) {
			sys := &System{Root: redundancy.New(b.Options("")...)}
			return sys, sys.AddGroup(sys.Root, redundancy.Group{Name: "app", Targets: ts})
		},
		Env: []string{},
	}, set
}

// down is a target that stays down and pages at once.
func down(name string) redundancy.Target {
	return redundancy.Target{Name: name,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.NewReport("down", redundancy.Finding{Subject: "app", Problem: "x.down", Status: redundancy.StatusUnhealthy})
		}),
		Policy: redundancy.Policy{FailureThreshold: 1},
		Alerts: redundancy.AlertPolicy{PageRepairs: true},
	}
}

// inbox is a webhook receiver that keeps what it is posted.
type inbox struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newInbox(t *testing.T) *inbox {
	in := &inbox{}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		in.mu.Lock()
		in.bodies = append(in.bodies, body)
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *inbox) got() []map[string]any {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]map[string]any(nil), in.bodies...)
}

func discardLogs(string) *slog.Logger { return slog.New(slog.DiscardHandler) }

// In the monitor, Compose starts the file's alert routes and b.Options
// hands them to the orchestrators: a JSON webhook gets the alert notices
// only, a Slack one with events: true gets the raw events too, a command
// gets each notice on its standard input and runs without the secrets of
// the environment. The webhooks' queues are on the metrics. A one-shot
// verb pages nobody.
func TestComposeStartsTheAlertRoutesOfTheFile(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, down("web"))
	jsonHook, slackHook := newInbox(t), newInbox(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "notice.json")
	envOut := filepath.Join(dir, "env.txt")
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "MY_TOKEN=" + secret + "-and-more", "PAGER_KEY=pager-key-kept", "GITHUB_TOKEN=ghp_x"}
	set.Alerts = AlertSettings{
		Webhooks: []WebhookConfig{{URL: jsonHook.URL + "/a?token=hook"}, {URL: slackHook.URL + "/b", Format: FormatSlack, Events: true}},
		Commands: []CommandConfig{{Argv: []string{"sh", "-c", `env > "$1"; cat > "$2"`, "sh", envOut, out}, Timeout: 10 * time.Second}},
	}
	red := redundancy.NewRedactor(secret)
	m := metrics.New()
	b := Build{Logger: discardLogs, Redactor: red, Metrics: m, Getenv: func(k string) string { return lookupEnv(c.Env, k) }}
	sys, err := Compose(t.Context(), c, struct{}{}, *set, b)
	require.NoError(t, err)
	assert.NotContains(t, sys.Notes, "alerts: no webhooks nor commands configured: alerts are logged only")
	sys.Root.Tick(t.Context())
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	n, err := testutil.GatherAndCount(reg, "uras_webhook_queue_depth")
	require.NoError(t, err)
	assert.Equal(t, 2, n, "both webhooks' queues are exported")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, sys.Close(ctx), "Close delivers what was queued")

	got := jsonHook.got()
	require.Len(t, got, 1)
	assert.Equal(t, "alert", got[0]["type"])
	assert.Equal(t, "web/x.down", got[0]["key"])
	assert.Equal(t, "open", got[0]["notice"])
	slack := slackHook.got()
	require.Greater(t, len(slack), 1, "the alert and the events")
	for _, body := range slack {
		assert.Contains(t, body, "text")
	}
	notice, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(notice), `"key":"web/x.down"`)
	env, err := os.ReadFile(envOut)
	require.NoError(t, err)
	assert.Contains(t, string(env), "PAGER_KEY=pager-key-kept", "the program keeps the environment")
	assert.NotContains(t, string(env), "MY_TOKEN", "a variable holding a secret the launcher knows is left out")
	assert.NotContains(t, string(env), "GITHUB_TOKEN")

	// A one-shot verb pages nobody.
	before := len(jsonHook.got())
	b.OneShot = true
	sys, err = Compose(t.Context(), c, struct{}{}, *set, b)
	require.NoError(t, err)
	sys.Root.Tick(t.Context())
	require.NoError(t, sys.close(5*time.Second))
	assert.Len(t, jsonHook.got(), before)
}

// The file's silences are set on the root at every start, a silence a
// later file no longer gives is removed, and silences set by hand stay.
func TestComposeSetsTheSilencesOfTheFile(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, down("web"))
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	nightly := redundancy.Silence{ID: "config-nightly", Target: "web", Every: "@daily", Duration: time.Hour}
	deploy := redundancy.Silence{ID: "config-1", Problem: "x.*", Until: until, PauseRepairs: true}
	set.Alerts.Silences = []redundancy.Silence{nightly, deploy}
	b := Build{Logger: discardLogs, Redactor: redundancy.NewRedactor(), Metrics: metrics.New()}
	sys, err := Compose(t.Context(), c, struct{}{}, *set, b)
	require.NoError(t, err)
	_, err = sys.Root.Silence(redundancy.Silence{ID: "s-by-hand", Target: "web", Until: until})
	require.NoError(t, err)
	require.NoError(t, sys.close(5*time.Second))
	assert.Equal(t, []string{"config-nightly", "config-1", "s-by-hand"}, silenceIDs(sys.Root.Silences()))
	assert.FileExists(t, filepath.Join(set.StateDir, "state-root.json"), "b.Options gives the root its state file")

	set.Alerts.Silences = []redundancy.Silence{nightly}
	sys, err = Compose(t.Context(), c, struct{}{}, *set, b)
	require.NoError(t, err)
	defer sys.close(5 * time.Second)
	assert.Equal(t, []string{"config-nightly", "s-by-hand"}, silenceIDs(sys.Root.Silences()), "the state kept them; config-1 is gone from the file")
	snap := sys.Root.Tick(t.Context())
	assert.Equal(t, "s-by-hand", snap.Targets[0].Silenced)
}

func silenceIDs(list []redundancy.SilenceState) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

// Options gives every orchestrator its state file outside one-shot verbs,
// and the alert routes.
func TestOptionsStateFilesAndNotifiers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := &alertRecorder{}
	b := Build{StateDir: dir, Alerts: []redundancy.AlertNotifier{rec}}
	o := redundancy.New(b.Options("pm2")...)
	require.NoError(t, o.Add(down("web")))
	o.Tick(t.Context())
	assert.FileExists(t, filepath.Join(dir, "state-pm2.json"))
	assert.Equal(t, 1, rec.count())

	b.OneShot = true
	o = redundancy.New(b.Options("")...)
	require.NoError(t, o.Add(down("web")))
	o.Tick(t.Context())
	assert.NoFileExists(t, filepath.Join(dir, "state-root.json"), "a one-shot verb leaves the state files alone")
}

type alertRecorder struct {
	mu sync.Mutex
	n  int
}

func (r *alertRecorder) NotifyAlert(context.Context, redundancy.Alert) error {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return nil
}

func (r *alertRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// AddGroup keeps a group's targets as a part, its notes, and its receiver.
func TestAddGroup(t *testing.T) {
	t.Parallel()
	sys := &System{Root: redundancy.New()}
	hook := http.NotFoundHandler()
	require.NoError(t, sys.AddGroup(sys.Root, redundancy.Group{Name: "github", Targets: []redundancy.Target{healthy("a"), healthy("b")},
		Notes: []string{"github: a note"}, Receiver: hook}))
	require.NoError(t, sys.AddGroup(nil, redundancy.Group{Name: "pm2", Notes: []string{"pm2: not configured"}}))
	assert.Equal(t, []Part{{Name: "github", Orch: sys.Root, Targets: []string{"a", "b"}}}, sys.Parts)
	assert.Equal(t, []string{"github: a note", "pm2: not configured"}, sys.Notes)
	assert.Len(t, sys.Receivers, 1)
	assert.NotNil(t, sys.Receivers["github"])

	err := sys.AddGroup(redundancy.New(), redundancy.Group{Name: "github", Receiver: hook})
	assert.ErrorContains(t, err, `two receivers named "github"`)
	err = sys.AddGroup(nil, redundancy.Group{Name: "x", Targets: []redundancy.Target{healthy("c")}})
	assert.ErrorContains(t, err, "no orchestrator")
	err = sys.AddGroup(sys.Root, redundancy.Group{Name: "dup", Targets: []redundancy.Target{healthy("a")}})
	assert.True(t, errors.Is(err, redundancy.ErrDuplicateTarget), "%v", err)
}

// The command's environment less its secrets.
func TestWithoutSecrets(t *testing.T) {
	t.Parallel()
	red := redundancy.NewRedactor("tok-123456")
	got := withoutSecrets([]string{"HOME=/home/x", "A=tok-123456", "B=prefix-tok-123456", "SLACK_WEBHOOK_URL=https://x", "EMPTY=", "C=fine"}, red)
	assert.Equal(t, []string{"HOME=/home/x", "EMPTY=", "C=fine"}, got)
	assert.True(t, strings.HasPrefix(withoutSecrets([]string{"PATH=/bin"}, nil)[0], "PATH="))
}
