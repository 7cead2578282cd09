package launch

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// A secret written in pieces is still found: the writer redacts whole lines.
func TestRedactWriterAcrossWrites(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := newRedactWriter(&out, redundancy.NewRedactor(secret))
	for _, piece := range []string{"token: s3cr3t-", "token-val", "ue-42 end\nnext ", "line s3cr3t-token-value-42"} {
		_, err := w.Write([]byte(piece))
		require.NoError(t, err)
	}
	assert.Equal(t, "token: [REDACTED] end\n", out.String(), "an unfinished line is held back")
	require.NoError(t, w.Flush())
	assert.Equal(t, "token: [REDACTED] end\nnext line [REDACTED]", out.String())
}

// JSON is redacted value by value: it stays valid, and a secret that
// encoding would have escaped (<, >, &, quotes) is still found.
func TestRedactJSON(t *testing.T) {
	t.Parallel()
	odd := `p<a>s&s"w\rd`
	red := redundancy.NewRedactor(odd, secret)
	v := map[string]any{
		"summary": "login with " + odd + " failed",
		"list":    []any{"x " + secret, 3, true, nil},
		secret:    "a key that is a secret",
		"nested":  map[string]any{"url": "https://h.example/?token=abc123"},
		"html":    "<b>&</b>",
	}
	b, err := redactJSON(v, red)
	require.NoError(t, err)
	require.True(t, json.Valid(b), string(b))
	assert.NotContains(t, string(b), secret)
	assert.NotContains(t, string(b), `p\u003ca\u003e`)
	assert.NotContains(t, string(b), "p<a>s")
	assert.NotContains(t, string(b), "abc123")
	assert.Contains(t, string(b), `"html": "<b>&</b>"`, "no HTML escaping needed in our outputs")
	assert.Contains(t, string(b), `"summary": "login with [REDACTED] failed"`)
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"web":                     "web",
		"evil\x1b[2J\x1b]0;pwn\a": `evil\x1b[2J\x1b]0;pwn\x07`,
		"line\nbreak\rreturn":     `line\x0abreak\x0dreturn`,
		"rtl\u202eexe.txt":        `rtl\u202eexe.txt`,
		"bad \xff byte":           "bad \uFFFD byte",
		"c1 \u009b31m":            `c1 \x9b31m`,
		"tab\there":               `tab\x09here`,
		"ünïcødé ✓":               "ünïcødé ✓",
	} {
		got := sanitize(in)
		assert.Equal(t, want, got, "%q", in)
		assert.True(t, utf8.ValidString(got))
		for _, r := range got {
			assert.False(t, unsafeRune(r) && r != utf8.RuneError, "%q keeps %U", in, r)
		}
	}
}

// The dashboard never prints a terminal escape from a name or a finding.
func TestRenderEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	st := Status{Mode: "t", Status: redundancy.StatusUnhealthy, Notes: []string{"pm2: \x1b[31mred\x1b[0m"}, Parts: []PartStatus{{
		Name: "pm2\x1b[2J", Status: redundancy.StatusUnhealthy, Targets: []redundancy.TargetState{{
			Name: "pm2", Status: redundancy.StatusUnhealthy,
			Report: redundancy.Report{Findings: []redundancy.Finding{{Subject: "app\x1b]0;owned\a", Problem: "pm2.errored"}}},
		}},
	}}}
	var b bytes.Buffer
	Render(&b, st)
	assert.NotContains(t, b.String(), "\x1b")
	assert.NotContains(t, b.String(), "\a")
	assert.Contains(t, b.String(), `app\x1b]0;owned\x07: pm2.errored`)
	assert.Contains(t, b.String(), `note: pm2: \x1b[31mred\x1b[0m`)
}

// FuzzRedact: whatever the text and the secret, no registered secret
// survives String (once or twice), and redactJSON keeps JSON valid
// without the secret.
func FuzzRedact(f *testing.F) {
	f.Add("token=abc123&x=1 Bearer abcdefgh1234 ghp_0123456789abcdefghijABCDEFGHIJ", "hunter2-secret")
	f.Add("https://user:pa55@example.com/x", "pa55word")
	f.Add(`{"Authorization":"token ghx"}`, "ghx-tok-1")
	f.Add("GITHUB_TOKEN=abc the value s3cr3t appears twice s3cr3t", "s3cr3t")
	f.Add("\x1b[2J\xff<script>&", "<script>")
	f.Fuzz(func(t *testing.T, text, sec string) {
		if len(strings.TrimSpace(sec)) < 4 || strings.ContainsAny(sec, "[]") || strings.TrimSpace(sec) != sec {
			t.Skip("secrets under 4 bytes are ignored; brackets overlap the placeholder")
		}
		red := redundancy.NewRedactor(sec)
		out := red.String(text)
		require.NotContains(t, out, sec)
		require.NotContains(t, red.String(out), sec)
		b, err := redactJSON(map[string]any{"text": text, sec: []any{text + sec}}, red)
		require.NoError(t, err)
		require.True(t, json.Valid(b))
		var back map[string]any
		require.NoError(t, json.Unmarshal(b, &back))
		for k, v := range back {
			require.NotContains(t, k, sec)
			s, _ := json.Marshal(v)
			var vs []string
			if json.Unmarshal(s, &vs) == nil {
				for _, x := range vs {
					require.NotContains(t, x, sec)
				}
			} else {
				var x string
				require.NoError(t, json.Unmarshal(s, &x))
				require.NotContains(t, x, sec)
			}
		}
	})
}

// The log file and the terminal hold no secret, in whatever way a record
// carries it.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var term bytes.Buffer
	red := redundancy.NewRedactor("opt-secret-123", "nf-env-token-987")
	path := filepath.Join(dir, "sub", "x.log")
	logs, err := OpenLogs(LogOptions{Path: path, Level: slog.LevelDebug, Terminal: &term, Redactor: red})
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Authorization", "Bearer hdr-secret-456")
	type cfg struct{ Hook, Level string }
	l := logs.Logger("")
	l.Info("token opt-secret-123 in the message")
	l.Info("attrs", "github_token", "raw-token-value", "Authorization", "Bearer raw-auth-789",
		"webhook", "https://hooks.example/a?token=q-secret-1",
		"err", errors.New("POST https://api.example/x?access_token=err-secret-2: 500"),
		"headers", h, "config", cfg{Hook: "https://x.example/?sig=struct-secret-3", Level: "info"},
		"note", "env value nf-env-token-987 seen", "token_set", true)
	l.WithGroup("req").With("api_key", "grp-secret-4").Warn("grouped", slog.Group("inner", "password", "grp-secret-5"))
	logs.Logger("github").Debug("part", "url", "https://u:p4ss-secret-6@github.example")
	require.NoError(t, logs.Close())
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	for name, out := range map[string]string{"file": string(file), "terminal": term.String()} {
		for _, s := range []string{"opt-secret-123", "raw-token-value", "hdr-secret-456", "raw-auth-789", "q-secret-1",
			"err-secret-2", "struct-secret-3", "nf-env-token-987", "grp-secret-4", "grp-secret-5", "p4ss-secret-6"} {
			assert.NotContains(t, out, s, "%s leaks %s", name, s)
		}
		assert.Contains(t, out, "token_set", name)
	}
	assert.Contains(t, string(file), `"msg":"token [REDACTED] in the message"`)
	assert.Contains(t, string(file), `"part":"github"`)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
}

func TestLogsTightenAnOpenFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.log")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o666))
	require.NoError(t, os.Chmod(path, 0o666))
	logs, err := OpenLogs(LogOptions{Path: path})
	require.NoError(t, err)
	require.NoError(t, logs.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "a log readable by all is made 0640")
}

func TestPartLevels(t *testing.T) {
	t.Parallel()
	set := Settings{Level: slog.LevelWarn, Levels: map[string]slog.Level{"pm2": slog.LevelDebug, "My-App": slog.LevelError}}
	require.NoError(t, levelsFromEnv([]string{"GITHUB_REDUNDANCY_LOG_LEVEL=info", "MY_APP_REDUNDANCY_LOG_LEVEL=debug", "OTHER=x"}, &set))
	var term bytes.Buffer
	logs, err := OpenLogs(LogOptions{Level: set.Level, Levels: set.Levels, Terminal: &term})
	require.NoError(t, err)
	logs.Logger("").Info("general-info")
	logs.Logger("pm2").Debug("pm2-debug")
	logs.Logger("github").Info("github-info")
	logs.Logger("github").Debug("github-debug")
	logs.Logger("my-app").Debug("my-app-debug")
	logs.Logger("netlify").Info("netlify-info")
	out := term.String()
	assert.NotContains(t, out, "general-info")
	assert.Contains(t, out, "pm2-debug")
	assert.Contains(t, out, "github-info", "GITHUB_REDUNDANCY_LOG_LEVEL sets github's level")
	assert.NotContains(t, out, "github-debug")
	assert.Contains(t, out, "my-app-debug", "the environment beats the settings; - is spelt _")
	assert.NotContains(t, out, "netlify-info")

	require.NoError(t, levelsFromEnv([]string{"REDUNDANCY_LOG_LEVEL=debug"}, &set))
	assert.Equal(t, slog.LevelDebug, set.Level)
	assert.Equal(t, "PM2_REDUNDANCY_LOG_LEVEL", PartLevelEnv("pm2"))
	assert.Equal(t, "MY_APP_REDUNDANCY_LOG_LEVEL", PartLevelEnv("my-app"))
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "WARNING": slog.LevelWarn, "Error": slog.LevelError, "INFO+2": slog.LevelInfo + 2} {
		got, err := ParseLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err = ParseLevel("loud")
	assert.EqualError(t, err, `bad log level "loud" (want DEBUG, INFO, WARN or ERROR)`)
}

func TestUnwritableLogDir(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err := OpenLogs(LogOptions{Path: filepath.Join(f, "sub", "x.log")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "launch: logs:")
}
