package launch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// With no monitor running, the silence verb writes the root's state file
// (keeping what else it holds), and the next start keeps the silence.
func TestSilenceVerbWithoutAMonitor(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, repairable("web"))
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	r := run(t, t.Context(), c, "silence", "add", "-target", "web", "-until", until.Format(time.RFC3339), "-pause-repairs", "-comment", "db migration", "-id", "migration")
	require.Equal(t, ExitOK, r.code, r.stderr)
	path := filepath.Join(set.StateDir, "state-root.json")
	assert.Contains(t, r.stdout, "silence migration set (no monitor running: state file "+path+", kept at the next start): target web, problem *, pauses repairs")
	r = run(t, t.Context(), c, "silence", "add", "-problem", "x.*", "-every", "0 2 * * SUN", "-duration", "90m", "-tz", "Europe/Berlin")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.NoFileExists(t, filepath.Join(set.StateDir, "test.pid"), "the PID file is released")

	r = run(t, t.Context(), c, "silence", "list", "-json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var list []redundancy.SilenceState
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list), r.stdout)
	require.Len(t, list, 2)
	assert.Equal(t, "migration", list[0].ID)
	assert.True(t, list[0].Active)
	assert.Equal(t, until, list[0].Until.UTC())
	assert.Equal(t, 90*time.Minute, list[1].Duration)
	assert.False(t, list[1].Active)
	r = run(t, t.Context(), c, "silence", "list")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `migration\s+active until`, r.stdout)
	assert.Regexp(t, `s-[0-9a-f]+\s+next .*every "0 2 \* \* SUN" for 1h30m0s Europe/Berlin`, r.stdout)

	// The monitor's next start keeps them: its root reads the state file.
	b := Build{Logger: discardLogs, Redactor: redundancy.NewRedactor()}
	sys, err := Compose(t.Context(), c, struct{}{}, *set, b)
	require.NoError(t, err)
	snap := sys.Root.Tick(t.Context())
	require.NoError(t, sys.close(5*time.Second))
	assert.Equal(t, []string{"migration", list[1].ID}, silenceIDs(snap.Silences))
	assert.Contains(t, snap.Targets[0].RepairsHeld, "maintenance window")

	r = run(t, t.Context(), c, "silence", "remove", "migration")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "silence migration removed")
	r = run(t, t.Context(), c, "silence", "remove", "migration")
	assert.Equal(t, ExitFailure, r.code)
	assert.Contains(t, r.stderr, `unknown silence "migration"`)
	state, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(state), "migration")
	assert.Contains(t, string(state), `"web"`, "the targets' records are kept")
}

// The verb says what is wrong with what it was given.
func TestSilenceVerbUsage(t *testing.T) {
	t.Parallel()
	c, _ := wiredCommand(t, down("web"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"silence"}, "usage: test silence add"},
		{[]string{"silence", "mute"}, `unknown action "mute"`},
		{[]string{"silence", "add", "-for", "1h"}, "give -target (or -problem)"},
		{[]string{"silence", "add", "-target", "web"}, "give one of -for, -until or -every"},
		{[]string{"silence", "add", "-target", "web", "-for", "1h", "-until", "2030-01-01 00:00"}, "give one of -for, -until or -every"},
		{[]string{"silence", "add", "-target", "web", "-every", "@daily"}, "-every needs -duration"},
		{[]string{"silence", "add", "-target", "web", "-for", "1h", "-tz", "UTC"}, "-duration and -tz go with -every"},
		{[]string{"silence", "add", "-target", "web", "-until", "tomorrow"}, `-until: "tomorrow": want RFC 3339`},
		{[]string{"silence", "add", "-target", "web", "-every", "61 * * * *", "-duration", "1h"}, "invalid silence"},
		{[]string{"silence", "add", "-target", "web", "-until", "2001-01-01T00:00:00Z"}, "it has ended"},
		{[]string{"silence", "add", "-target", "web", "-for", "1h", "-id", "config-x"}, "belong to the configuration file"},
		{[]string{"silence", "remove"}, "give the ID of one silence"},
	} {
		r := run(t, t.Context(), c, tc.args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", tc.args, r.stdout)
		assert.Contains(t, r.stderr, tc.want, tc.args)
	}
}

// runMonitor runs c's monitor on a loopback endpoint until the test
// ends, and returns the endpoint's URL once the status file names it.
func runMonitor(t *testing.T, c Command[struct{}], set *Settings, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		done <- run(t, ctx, c, append([]string{"monitor", "-detached", "-listen", "127.0.0.1:0"}, args...)...)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var url string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(set.StateDir, "test.status.json"))
		var st Status
		if err == nil && json.Unmarshal(b, &st) == nil {
			url = st.Endpoint
		}
		return url != ""
	}, 10*time.Second, 5*time.Millisecond, "the monitor writes its endpoint in its status file")
	return url
}

// With a monitor running, the verb goes through its endpoint, with the
// bearer token the monitor reads from the same variable; writes need the
// token even on loopback.
func TestSilenceVerbThroughTheRunningMonitor(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, down("web"))
	set.Token = "tok-for-the-endpoint"
	var root *redundancy.Orchestrator
	c.Build = wrapBuild(c.Build, func(s *System) { root = s.Root })
	runMonitor(t, c, set)

	r := run(t, t.Context(), c, "silence", "add", "-target", "web", "-for", "30m", "-comment", "deploy")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `silence (s-[0-9a-f]+) set \(running monitor, pid \d+\): target web, problem \*, "deploy"`, r.stdout)
	id := strings.Fields(r.stdout)[1]
	require.Equal(t, []string{id}, silenceIDs(root.Silences()), "set on the running root")

	assert.Empty(t, r.stderr)
	r = run(t, t.Context(), c, "silence", "add", "-target", "wbe", "-for", "1m")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `warning: target "wbe" matches none of the monitor's targets now (web)`)
	require.NoError(t, root.RemoveSilence(strings.Fields(r.stdout)[1]))

	r = run(t, t.Context(), c, "silence", "list")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "silences (running monitor, pid ")
	assert.Regexp(t, id+`\s+active until`, r.stdout)

	// Another token, or none: refused, and it says why.
	wrong := c
	wrongSet := *set
	wrongSet.Token = "not-the-token"
	wrong.Load = func(string) (struct{}, Settings, error) { return struct{}{}, wrongSet, nil }
	r = run(t, t.Context(), wrong, "silence", "remove", id)
	assert.Equal(t, ExitFailure, r.code)
	assert.Contains(t, r.stderr, "refused the token")
	wrongSet.Token = ""
	r = run(t, t.Context(), wrong, "silence", "add", "-target", "web", "-for", "1h")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "takes silences only with its bearer token: set URAS_ENDPOINT_TOKEN")
	r = run(t, t.Context(), wrong, "silence", "list")
	require.Equal(t, ExitOK, r.code, "without the token the list comes from the status file: %s", r.stderr)
	assert.Eventually(t, func() bool {
		return strings.Contains(run(t, t.Context(), wrong, "silence", "list").stdout, id)
	}, 10*time.Second, 50*time.Millisecond)

	r = run(t, t.Context(), c, "silence", "remove", id)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Empty(t, root.Silences())
	r = run(t, t.Context(), c, "silence", "add", "-target", "web", "-every", "61 * * * *", "-duration", "1h")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "invalid silence")
}

// A monitor started without a token keeps its silences read-only.
func TestMonitorWithoutATokenRefusesSilenceWrites(t *testing.T) {
	t.Parallel()
	c, set := wiredCommand(t, down("web"))
	url := runMonitor(t, c, set)
	resp, body := post(t, url+"/silences", "", `{"target":"web","duration":"1h"}`)
	assert.Equal(t, 403, resp.StatusCode)
	assert.Contains(t, body, "only with a bearer token")
	resp, body = get(t, url+"/silences", "")
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, "[]", body)
}

// A silence of the root matches the names the root knows: a nested
// part's name and its targets under it, or a part's own targets.
func TestRootNamesAndMatches(t *testing.T) {
	t.Parallel()
	st := Status{Parts: []PartStatus{
		{Name: "pm2", Parent: &redundancy.TargetState{Name: "pm2"}, Targets: []redundancy.TargetState{{Name: "pm2"}}},
		{Name: "github", Targets: []redundancy.TargetState{{Name: "github-octo-app"}}},
	}}
	names := rootNames(st)
	assert.Equal(t, []string{"pm2", "pm2/pm2", "github-octo-app"}, names)
	for pattern, want := range map[string]bool{"pm2": true, "pm2/*": true, "*": true, "github-*": true, "github": false, "netlify*": false} {
		assert.Equal(t, want, matchesAny(pattern, names), pattern)
	}
}
