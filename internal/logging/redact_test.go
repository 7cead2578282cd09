package logging_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/logging"
)

func TestRedactorString(t *testing.T) {
	t.Parallel()
	r := logging.NewRedactor("s3cr3t-value")
	for _, tc := range []struct{ in, want string }{
		{"POST https://hooks.example/x?token=abc123&x=1", "POST https://hooks.example/x?token=[REDACTED]&x=1"},
		{"url ?access_token=zzz", "url ?access_token=[REDACTED]"},
		{"Authorization: Bearer abc.def.ghi", "Authorization: [REDACTED]"},
		{`{"Authorization":"token ghx"}`, `{"Authorization":"[REDACTED]"}`},
		{"sent Bearer abcdefgh12345", "sent Bearer [REDACTED]"},
		{"token ghp_0123456789abcdefghijABCDEFGHIJ leaked", "token [REDACTED] leaked"},
		{"pat github_pat_11ABCDEFG0123456789_abcdefghij", "pat [REDACTED]"},
		{"https://user:pa55@example.com/x", "https://[REDACTED]@example.com/x"},
		{"env GITHUB_TOKEN=abc", "env GITHUB_TOKEN=[REDACTED]"},
		{"the value s3cr3t-value appears", "the value [REDACTED] appears"},
		{"nothing secret here: 3 targets healthy", "nothing secret here: 3 targets healthy"},
	} {
		assert.Equal(t, tc.want, r.String(tc.in), tc.in)
	}
}

type config struct {
	Hook  string
	Level string
}

// TestLogFilesHoldNoSecrets proves that secrets given in every way a
// record can carry them never reach the JSON file or the terminal.
func TestLogFilesHoldNoSecrets(t *testing.T) {
	t.Setenv("NETLIFY_AUTH_TOKEN", "nf-env-token-987")
	dir := t.TempDir()
	var term bytes.Buffer
	logs, err := logging.New(logging.Options{Dir: dir, File: logging.FileUltimate, Level: slog.LevelDebug,
		Terminal: &term, Secrets: []string{"opt-secret-123"}})
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Authorization", "Bearer hdr-secret-456")

	l := logs.Logger()
	l.Info("token opt-secret-123 in the message")
	l.Info("attrs",
		"github_token", "raw-token-value",
		"Authorization", "Bearer raw-auth-789",
		"NETLIFY_AUTH_TOKEN", "whatever",
		"webhook", "https://hooks.example/a?token=q-secret-1",
		"err", errors.New("POST https://api.example/x?access_token=err-secret-2: 500"),
		"headers", h,
		"config", config{Hook: "https://x.example/?sig=struct-secret-3", Level: "info"},
		"note", "env value nf-env-token-987 seen",
		"token_set", true,
	)
	l.WithGroup("req").With("api_key", "grp-secret-4").Warn("grouped", slog.Group("inner", "password", "grp-secret-5"))
	logs.For("github").Debug("system", "url", fmt.Sprintf("https://u:p4ss-secret-6@github.example"))
	require.NoError(t, logs.Close())

	file, err := os.ReadFile(filepath.Join(dir, logging.FileUltimate))
	require.NoError(t, err)
	for name, out := range map[string]string{"file": string(file), "terminal": term.String()} {
		for _, secret := range []string{"opt-secret-123", "raw-token-value", "hdr-secret-456", "raw-auth-789", "whatever",
			"q-secret-1", "err-secret-2", "struct-secret-3", "nf-env-token-987", "grp-secret-4", "grp-secret-5", "p4ss-secret-6"} {
			assert.NotContains(t, out, secret, "%s leaks %s", name, secret)
		}
		assert.Contains(t, out, logging.Redacted, name)
		assert.Contains(t, out, "token_set", name)
	}
	assert.Contains(t, string(file), `"msg":"token [REDACTED] in the message"`)
	assert.Contains(t, string(file), `"system":"github"`)
}

func TestPerSystemLevels(t *testing.T) {
	t.Parallel()
	var term bytes.Buffer
	logs, err := logging.New(logging.Options{Level: slog.LevelWarn, Levels: map[string]slog.Level{"pm2": slog.LevelDebug}, Terminal: &term})
	require.NoError(t, err)
	logs.Logger().Info("general-info")
	logs.For("pm2").Debug("pm2-debug")
	logs.For("github").Info("github-info")
	logs.For("github").Error("github-error")
	out := term.String()
	assert.NotContains(t, out, "general-info")
	assert.Contains(t, out, "pm2-debug")
	assert.NotContains(t, out, "github-info")
	assert.Contains(t, out, "github-error")
}

func TestUnwritableLogDir(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err := logging.New(logging.Options{Dir: filepath.Join(f, "sub"), File: "x.log"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "logs:")
}
