package pm2

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessage bounds the text of another program (PM2's error line, node's
// error, the daemon's error answer) quoted in an error or a finding.
const maxMessage = 200

// maxScan bounds how much of one line excerpt looks at.
const maxScan = 4 << 10

// excerpt returns the start of s as one line that is safe to print on a
// terminal, in a log or in JSON, at most n bytes plus "...":
//
//   - terminal escape sequences are removed whole: CSI (ESC [ ... final),
//     OSC (ESC ] ... BEL or ESC \), DCS, SOS, PM and APC strings, and
//     two-byte ESC sequences, as are their 8-bit C1 forms;
//   - every other control or format character (C0, DEL, C1, bidirectional
//     overrides, zero-width characters) and invalid UTF-8 becomes a space;
//   - runs of white space collapse to one space, and the ends are trimmed;
//   - the cut falls on a character boundary.
//
// Only the first maxScan bytes of s are looked at.
func excerpt(s string, n int) string {
	cut := len(s) > maxScan
	if cut {
		s = s[:maxScan]
	}
	var b strings.Builder
	space := false
	emit := func(r rune) {
		if r == ' ' {
			space = b.Len() > 0
			return
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	for i := 0; i < len(s) && b.Len() <= n; {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b && i+1 < len(s):
			i += escapeLen(s[i+1:]) + 1
			continue
		case r == 0x9b: // 8-bit CSI
			i += csiLen(s[i+size:]) + size
			continue
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // 8-bit DCS, SOS, OSC, PM, APC
			i += stringLen(s[i+size:]) + size
			continue
		case r == utf8.RuneError && size <= 1, r < ' ', r == 0x7f, unicode.Is(unicode.Cc, r),
			unicode.Is(unicode.Cf, r), unicode.IsSpace(r):
			emit(' ')
		default:
			emit(r)
		}
		i += size
	}
	out := b.String()
	if len(out) > n {
		end := n
		for end > 0 && !utf8.RuneStart(out[end]) {
			end--
		}
		return strings.TrimRight(out[:end], " ") + "..."
	}
	if cut {
		out += "..."
	}
	return out
}

// escapeLen returns how many bytes after an ESC belong to its sequence.
func escapeLen(s string) int {
	switch s[0] {
	case '[':
		return 1 + csiLen(s[1:])
	case ']', 'P', 'X', '^', '_':
		return 1 + stringLen(s[1:])
	}
	if s[0] >= 0x20 && s[0] <= 0x2f { // intermediates, then one final byte
		i := 0
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		return min(i+1, len(s))
	}
	return 1 // ESC and one byte (ESC c, ESC 7, ...)
}

// csiLen returns the length of a CSI sequence's parameters and final byte.
func csiLen(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x40 && s[i] <= 0x7e {
			return i + 1
		}
		if s[i] < 0x20 || s[i] > 0x7e {
			return i // malformed: stop before it
		}
	}
	return len(s)
}

// stringLen returns the length of a control string up to and including
// its terminator (BEL, ESC \ or 8-bit ST), or all of s when unterminated.
func stringLen(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
	}
	return len(s)
}
