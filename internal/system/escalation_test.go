package system

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// An escalation report holds no secret and is readable by its owner only.
func TestEscalationReportIsRedactedAndPrivate(t *testing.T) {
	t.Parallel()
	const secret = "tok-echoed-by-the-api-42"
	dir := filepath.Join(t.TempDir(), "escalations")
	r := &escalationReporter{dir: dir, logger: slog.New(slog.DiscardHandler), sys: &System{}, red: redundancy.NewRedactor(secret)}
	err := r.Notify(context.Background(), redundancy.Event{Time: time.Now(), Target: "github-o-r", Kind: redundancy.EventEscalated,
		Report: redundancy.Report{Summary: "401 for " + secret, Findings: []redundancy.Finding{{Subject: "run", Detail: "Bearer " + secret}}},
		Err:    errors.New("api said " + secret)})
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret)
	assert.Contains(t, string(b), "401 for [REDACTED]")
	st, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
