package pm2

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExcerpt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Process web not found", "Process web not found"},
		{"colours", "\x1b[1m\x1b[31mScript not found\x1b[39m\x1b[22m: x.js", "Script not found: x.js"},
		{"osc title, BEL", "a\x1b]0;pwned title\x07b", "ab"},
		{"osc hyperlink, ST", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"dcs", "x\x1bPq#0;2;0;0;0\x1b\\y", "xy"},
		{"two-byte escapes", "\x1bc\x1b7a\x1b(Bb", "ab"},
		{"8-bit csi", "a\u009b31mb", "ab"},
		{"8-bit osc", "a\u009d0;t\u009cb", "ab"},
		{"bidi override", "evil\u202egnp.exe", "evil gnp.exe"},
		{"zero width", "a\u200bb", "a b"},
		{"controls", "a\x00b\x08c\x7fd\u0085e", "a b c d e"},
		{"newlines collapse", "  line1\r\n\n\tline2  ", "line1 line2"},
		{"invalid utf-8", "a\xff\xfeb", "a b"},
		{"unterminated csi", "a\x1b[31", "a"},
		{"lone esc at end", "a\x1b", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, excerpt(tc.in, 200))
		})
	}
}

func TestExcerptBounds(t *testing.T) {
	t.Parallel()
	got := excerpt(strings.Repeat("é", 300), 201)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasSuffix(got, "..."))
	assert.LessOrEqual(t, len(got), 204)

	huge := strings.Repeat("\x1b[31m", 1<<20) + "tail"
	assert.Equal(t, "...", excerpt(huge, 200), "only the first maxScan bytes are looked at")
}

func TestCommandErrorQuotesSanitizedExcerpt(t *testing.T) {
	t.Parallel()
	home := fakeDaemonHome(t)
	hostile := "junk\n\x1b[31m[PM2][ERROR]\x1b[39m Process \x1b]0;owned\x07web\u202e not found" +
		strings.Repeat(" padding", 100) + "\nAPI_TOKEN=s3cr3t\n"
	r := &scriptRunner{res: Result{ExitCode: 1, Stderr: []byte(hostile)}}
	err := NewCLI(WithHome(home), WithRunner(r)).Restart(context.Background(), "web")
	var ce *CommandError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, ErrProcessNotFound)
	assert.True(t, strings.HasPrefix(ce.Message, "Process web not found padding"), ce.Message)
	assert.LessOrEqual(t, len(ce.Message), maxMessage+3)
	assert.NotContains(t, err.Error(), "s3cr3t")
	assert.NotContains(t, err.Error(), "owned")
	assertSafe(t, err.Error())
}

// assertSafe fails when s holds a control or format character.
func assertSafe(t *testing.T, s string) {
	t.Helper()
	assert.True(t, utf8.ValidString(s), "invalid UTF-8 in %q", s)
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("control or format character %U in %q", r, s)
		}
	}
}

func FuzzExcerpt(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mred", "\x1b]0;t\x07", "\u009b1m", "a\u202eb", "\xff", "\x1bP\x1b\\"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = max(1, min(n, 500))
		got := excerpt(s, n)
		assertSafe(t, got)
		assert.LessOrEqual(t, len(got), n+3)
		assert.NotContains(t, got, "\x1b")
	})
}
