package redundancy_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/uras-dev/uras/redundancy"
)

func TestRedactorString(t *testing.T) {
	t.Parallel()
	r := redundancy.NewRedactor("s3cr3t-value", "abc") // "abc" is too short to register
	for _, tc := range []struct{ in, want string }{
		{"POST https://hooks.example/x?token=abc123&x=1", "POST https://hooks.example/x?token=[REDACTED]&x=1"},
		{"Authorization: Bearer abc.def.ghi", "Authorization: [REDACTED]"},
		{"token ghp_0123456789abcdefghijABCDEFGHIJ leaked", "token [REDACTED] leaked"},
		{"https://user:pa55@example.com/x", "https://[REDACTED]@example.com/x"},
		{"env GITHUB_TOKEN=abc", "env GITHUB_TOKEN=[REDACTED]"},
		{"the value s3cr3t-value appears", "the value [REDACTED] appears"},
		{"abc stays: too short to be a secret", "abc stays: too short to be a secret"},
	} {
		assert.Equal(t, tc.want, r.String(tc.in), tc.in)
	}
	for _, in := range []string{"Authorization: Bearer abc.def.ghi", `{"Authorization":"token ghx"}`, "x?token=abc&y=s3cr3t-value"} {
		once := r.String(in)
		assert.Equal(t, once, r.String(once), "redacting twice changes nothing: %q", in)
	}
	var nilR *redundancy.Redactor
	assert.Equal(t, "Bearer [REDACTED]", nilR.String("Bearer abcdefgh12345"), "a nil redactor still redacts patterns")
}

func TestRedactorAddConcurrently(t *testing.T) {
	t.Parallel()
	r := redundancy.NewRedactor()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Add("secret-number-" + string(rune('a'+i))) }()
		go func() { defer wg.Done(); _ = r.String("secret-number-a and secret-number-b") }()
	}
	wg.Wait()
	assert.Equal(t, "[REDACTED] and [REDACTED]", r.String("secret-number-a and secret-number-b"))
}
