package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// secret is registered through Settings.Secrets in the tests' commands.
const secret = "s3cr3t-token-value-42"

// testCommand returns a command over the targets ts, its files in a
// temporary directory, and the settings it loads.
func testCommand(t *testing.T, ts ...redundancy.Target) (Command[struct{}], *Settings) {
	t.Helper()
	dir := t.TempDir()
	set := &Settings{LogDir: filepath.Join(dir, "logs"), StateDir: filepath.Join(dir, "state"), Secrets: []string{secret}}
	return Command[struct{}]{
		Name: "test",
		Load: func(string) (struct{}, Settings, error) { return struct{}{}, *set, nil },
		Build: func(ctx context.Context, _ struct{}, b Build) (*System, error) {
			root := redundancy.New(redundancy.WithLogger(b.Logger("")), redundancy.WithDryRun(b.DryRun))
			for _, tg := range ts {
				if err := root.Add(tg); err != nil {
					return nil, err
				}
			}
			return &System{Root: root}, nil
		},
		Env: []string{},
	}, set
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, ctx context.Context, c Command[struct{}], args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := Run(ctx, c, args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func healthy(name string) redundancy.Target {
	return redundancy.Target{Name: name, Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
		return redundancy.NewReport("fine")
	})}
}

// leaky is a target whose checker and recoverer quote the secret, as an
// API that echoes the token in its errors does.
func leaky(name string) redundancy.Target {
	return redundancy.Target{
		Name: name,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: "API said: bad token " + secret,
				Findings: []redundancy.Finding{{Subject: "app", Problem: "x.down", Status: redundancy.StatusUnhealthy,
					Detail: "GET /x?token=" + secret + ": 401"}}}
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "x.restart", Subject: "app", Reason: "because " + secret,
				Do: func(context.Context) error { return errors.New("restart refused for token " + secret) }}}, nil
		}),
		Policy: redundancy.Policy{Retry: -1, FailureThreshold: 1},
	}
}

func TestHealthCheckExitCodes(t *testing.T) {
	t.Parallel()
	c, _ := testCommand(t, healthy("a"), healthy("b"))
	r := run(t, t.Context(), c, "health-check")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "test — overall HEALTHY")
	assert.Regexp(t, `all\s+a\s+healthy`, r.stdout)

	c, _ = testCommand(t, healthy("a"), leaky("b"))
	r = run(t, t.Context(), c, "health-check", "-json")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	var st Status
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	assert.Equal(t, "test", st.Mode)
	assert.Equal(t, redundancy.StatusUnhealthy, st.Status)
	require.Len(t, st.Parts, 1)
	assert.Len(t, st.Parts[0].Targets, 2)
}

// Every output path is redacted with the same registered secrets: the
// dashboard, the JSON of health-check and status, the dry-run plan, the
// recover results and errors, and the log file; so is a secret named by
// the environment.
func TestEveryOutputIsRedacted(t *testing.T) {
	t.Parallel()
	c, set := testCommand(t, leaky("leaky"))
	envSecret := "ghp_fromTheEnvironment0123456789ab"
	c.Env = []string{"GITHUB_TOKEN=" + envSecret}
	c.Build = wrapBuild(c.Build, func(s *System) { s.Notes = append(s.Notes, "a note naming "+envSecret) })
	var all strings.Builder
	for _, args := range [][]string{
		{"health-check"}, {"health-check", "-json"}, {"status"}, {"status", "-json"},
		{"recover", "-dry-run"}, {"recover"}, {"recover", "-force"}, {"logs", "-n", "1000"},
	} {
		r := run(t, t.Context(), c, args...)
		assert.NotEqual(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		all.WriteString(r.stdout + r.stderr)
		if strings.HasSuffix(args[len(args)-1], "json") {
			assert.True(t, json.Valid([]byte(r.stdout)), "%v: %s", args, r.stdout)
		}
	}
	out := all.String()
	assert.Contains(t, out, "because [REDACTED]", "the dry run's reason")
	assert.Contains(t, out, "restart refused for token [REDACTED]", "the recover error")
	assert.Contains(t, out, "a note naming [REDACTED]")
	logs, err := os.ReadFile(todayLog(set))
	require.NoError(t, err)
	for _, s := range []string{secret, envSecret} {
		assert.NotContains(t, out, s)
		assert.NotContains(t, string(logs), s)
	}
	st, err := os.Stat(todayLog(set))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
}

func wrapBuild(b func(context.Context, struct{}, Build) (*System, error), edit func(*System)) func(context.Context, struct{}, Build) (*System, error) {
	return func(ctx context.Context, cfg struct{}, bb Build) (*System, error) {
		s, err := b(ctx, cfg, bb)
		if err == nil {
			edit(s)
		}
		return s, err
	}
}

// A build with no target is refused unless its notes say why (the embedded
// default in an empty directory): it must not watch nothing and report
// healthy in silence.
func TestNothingToWatch(t *testing.T) {
	t.Parallel()
	c, _ := testCommand(t)
	r := run(t, t.Context(), c, "health-check")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "test: nothing to watch: the configuration gives no target (and no note saying why)")

	c.Build = wrapBuild(c.Build, func(s *System) { s.Notes = []string{"pm2: not installed"} })
	r = run(t, t.Context(), c, "health-check")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "nothing is watched")
	assert.Contains(t, r.stdout, "note: pm2: not installed")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c, set := testCommand(t, healthy("a"))
	for _, tc := range []struct {
		name string
		edit func(*Command[struct{}])
		args []string
		want string
	}{
		{"unknown verb", nil, []string{"frobnicate"}, `test: unknown verb "frobnicate"`},
		{"refresh 0", nil, []string{"monitor", "-refresh", "0"}, "test: monitor: -refresh 0s: want at least 100ms"},
		{"negative refresh", nil, []string{"monitor", "-refresh", "-1s"}, "want at least 100ms"},
		{"stray argument", nil, []string{"status", "extra"}, `unexpected argument "extra"`},
		{"dry run and force", nil, []string{"recover", "-dry-run", "-force"}, "-dry-run and -force do not go together"},
		{"bad level in the environment", func(c *Command[struct{}]) { c.Env = []string{"REDUNDANCY_LOG_LEVEL=LOUD"} },
			[]string{"health-check"}, `test: environment REDUNDANCY_LOG_LEVEL: bad log level "LOUD"`},
		{"bad part level", func(c *Command[struct{}]) { c.Env = []string{"PM2_REDUNDANCY_LOG_LEVEL=chatty"} },
			[]string{"health-check"}, `environment PM2_REDUNDANCY_LOG_LEVEL: bad log level "chatty"`},
		{"exposed endpoint without token", nil, []string{"monitor", "-listen", "0.0.0.0:0"},
			"test: listen 0.0.0.0:0: the endpoint would be reachable from other hosts without a bearer token"},
		{"all interfaces without token", nil, []string{"monitor", "-listen", ":0"}, "without a bearer token"},
		{"load error", func(c *Command[struct{}]) {
			c.Load = func(string) (struct{}, Settings, error) {
				return struct{}{}, Settings{}, errors.New("config x.yaml:3: pm2.hme: unknown key")
			}
		}, []string{"status"}, "test: config x.yaml:3: pm2.hme: unknown key"},
		{"no configuration taken", func(c *Command[struct{}]) { c.Load = nil }, []string{"-config", "x.yaml", "status"},
			"this command takes no configuration file"},
		{"verb replacing a built-in", func(c *Command[struct{}]) {
			c.Verbs = map[string]Verb{"status": {Run: func(context.Context, Invocation) int { return 0 }}}
		}, []string{"status"}, `launch: Command.Verbs: "status" is a built-in verb`},
		{"bad name", func(c *Command[struct{}]) { c.Name = "../x" }, []string{"status"}, `launch: Command.Name "../x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := c
			if tc.edit != nil {
				tc.edit(&c)
			}
			r := run(t, t.Context(), c, tc.args...)
			assert.Equal(t, ExitUsage, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
	_, err := os.Stat(filepath.Join(set.StateDir, "test.pid"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no usage error leaves a PID file")
}

func TestExtraVerbAndHelp(t *testing.T) {
	t.Parallel()
	c, _ := testCommand(t, healthy("a"))
	var got Invocation
	c.Verbs = map[string]Verb{"demo": {Usage: "show off", Run: func(_ context.Context, inv Invocation) int {
		got = inv
		return 7
	}}}
	c.Summary, c.Help = "test watches things.", "Environment: NOTHING."
	r := run(t, t.Context(), c, "-config", "c.yaml", "demo", "-x", "y")
	assert.Equal(t, 7, r.code)
	assert.Equal(t, Invocation{Command: "test", Verb: "demo", Args: []string{"-x", "y"}, ConfigPath: "c.yaml", Stdout: got.Stdout, Stderr: got.Stderr}, got)

	r = run(t, t.Context(), c, "help")
	assert.Equal(t, ExitOK, r.code)
	for _, want := range []string{"usage: test [-config FILE] VERB [flags]", "test watches things.", "  demo          show off",
		"  health-check  check everything once", "Environment: NOTHING.", "REDUNDANCY_LOG_LEVEL", "4  start/monitor: already running"} {
		assert.Contains(t, r.stdout, want)
	}
}

// todayLog returns the path of the newest daily log file of the test command.
func todayLog(set *Settings) string {
	if fs := dayFiles(set.LogDir, "test"); len(fs) > 0 {
		return fs[len(fs)-1]
	}
	return filepath.Join(set.LogDir, dayFileName("test", time.Now().Format(dayLayout)))
}
