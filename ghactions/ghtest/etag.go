package ghtest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// etagOf is the weak entity tag GitHub-style for body.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + hex.EncodeToString(sum[:16]) + `"`
}

// noneMatchHits reports whether an If-None-Match header matches etag by
// RFC 7232's weak comparison (section 2.3.2, used for If-None-Match by
// section 3.2): "*" matches any current representation; otherwise one of
// the listed entity tags must have the same opaque tag, W/ or not.
func noneMatchHits(header, etag string) bool {
	want := opaque(etag)
	for _, t := range splitTags(header) {
		if t == "*" || (opaque(t) == want && want != "") {
			return true
		}
	}
	return false
}

// splitTags splits an If-None-Match list at the commas between entity
// tags (commas inside quotes belong to a tag).
func splitTags(h string) []string {
	var out []string
	inQuote := false
	start := 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, strings.TrimSpace(h[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(h[start:]))
}

// opaque returns the quoted part of an entity tag, without W/; "" for a
// malformed one.
func opaque(t string) string {
	t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return ""
	}
	return t[1 : len(t)-1]
}
