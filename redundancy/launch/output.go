package launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/uras-dev/uras/redundancy"
)

// redactWriter redacts what passes through it, a whole line at a time, so
// that a secret split across two writes is still found. Flush writes what
// is left after the last newline.
type redactWriter struct {
	mu  sync.Mutex
	w   io.Writer
	red *redundancy.Redactor
	buf []byte
}

func newRedactWriter(w io.Writer, red *redundancy.Redactor) *redactWriter {
	return &redactWriter{w: w, red: red}
}

// maxPending bounds the bytes held back while waiting for a newline.
const maxPending = 64 << 10

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	i := bytes.LastIndexByte(r.buf, '\n')
	if i < 0 && len(r.buf) < maxPending {
		return len(p), nil
	}
	n := i + 1
	if i < 0 {
		n = len(r.buf)
	}
	if _, err := io.WriteString(r.w, r.red.String(string(r.buf[:n]))); err != nil {
		r.buf = r.buf[:0]
		return 0, err
	}
	r.buf = append(r.buf[:0], r.buf[n:]...)
	return len(p), nil
}

// writeRedacted writes b, already redacted, as it is (after what is held back).
func (r *redactWriter) writeRedacted(b []byte) {
	_ = r.Flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(b)
}

// Flush writes what is held back.
func (r *redactWriter) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(r.w, r.red.String(string(r.buf)))
	r.buf = r.buf[:0]
	return err
}

// redactJSON encodes v as indented JSON with every string in it (keys
// included) passed through red. Redacting the values rather than the
// encoded text keeps the JSON valid and finds secrets that encoding would
// have escaped.
func redactJSON(v any, red *redundancy.Redactor) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redactTree(tree, red)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func redactTree(v any, red *redundancy.Redactor) any {
	switch x := v.(type) {
	case string:
		return red.String(x)
	case []any:
		for i := range x {
			x[i] = redactTree(x[i], red)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[red.String(k)] = redactTree(e, red)
		}
		return out
	}
	return v
}

// sanitize makes s safe to print on a terminal: control characters
// (escape sequences, carriage returns, newlines) and the bidirectional
// overrides are shown as \x1b, \u202e... instead of acting on the
// terminal; invalid UTF-8 bytes become U+FFFD.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r < 0x100 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r == utf8.RuneError {
		return true
	}
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true // bidirectional controls
	}
	return false
}

// oneLine folds s onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clip shortens s to n runes.
func clip(s string, n int) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
