package redundancy

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces a secret.
const Redacted = "[REDACTED]"

// SecretEnvNames are environment variables whose values are secrets
// wherever they appear: a NAME=value for any of them is redacted, and a
// launcher registers their values (Redactor.Add) when it reads them. The
// Redactor itself never reads the environment.
var SecretEnvNames = []string{
	"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_PAT",
	"NETLIFY_AUTH_TOKEN", "NETLIFY_API_TOKEN", "NETLIFY_BUILD_HOOK",
	"PM2_PUBLIC_KEY", "PM2_SECRET_KEY", "KEYMETRICS_SECRET", "KEYMETRICS_PUBLIC",
	"WEBHOOK_URL", "SLACK_WEBHOOK_URL", "GITHUB_WEBHOOK_SECRET", "NETLIFY_WEBHOOK_SECRET", "URAS_ENDPOINT_TOKEN",
}

var (
	// Attribute keys whose whole value is a secret.
	secretKeyRE = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|authorization|api[-_]?key|credential|cookie|private[-_]?key|` +
		strings.Join(SecretEnvNames, "|") + `)`)
	// token=..., access_token=..., key=..., sig=... in URLs and text.
	queryRE = regexp.MustCompile(`(?i)\b((?:access_|auth_|refresh_|api_|id_)?token|key|apikey|api_key|secret|sig|signature|password|passwd|code)=([^&\s"'<>]+)`)
	// Authorization: Bearer x / Authorization: token x / Bearer x.
	authRE   = regexp.MustCompile(`(?i)\b(authorization"?\s*[:=]\s*)(["\[]?)(?:(bearer|token|basic)\s+)?[^\s",}\]]+`)
	bearerRE = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}`)
	// Well-known token shapes.
	shapeRE = regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|nfp_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,})\b`)
	// Secrets in URL user info: https://user:pass@host.
	userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@`)
	// NAME=value for the known secret variables.
	envAssignRE = regexp.MustCompile(`\b(` + strings.Join(SecretEnvNames, "|") + `)=(\S+)`)
)

// Redactor removes secrets from text: every output of a launcher (logs,
// errors, JSON, endpoints, webhook bodies, report files) goes through one.
// Use ReplaceAttr as a slog.HandlerOptions.ReplaceAttr and String for any
// other text. It is safe for concurrent use; Add registers more secrets at
// any time. It redacts
//
//   - the whole value of any attribute whose key names a secret (token,
//     secret, password, authorization, api_key, the variables of SecretEnvNames);
//   - in every string (the message included), error and other value:
//     the registered secret values,
//     Authorization headers and Bearer credentials, token=, key=, sig= and
//     similar query values, user:password@ in URLs, NAME=value for the
//     SecretEnvNames variables, and well-known token shapes (ghp_..., github_pat_...).
//
// A nil *Redactor redacts the patterns only.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first
}

// NewRedactor returns a redactor of the given secret values (values
// shorter than 4 bytes are ignored: they would redact everything).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := slices.Clone(r.secrets) // copy on write: String reads r.secrets unlocked
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < 4 || slices.Contains(next, s) {
			continue
		}
		next = append(next, s)
	}
	sort.SliceStable(next, func(i, j int) bool { return len(next[i]) > len(next[j]) })
	r.secrets = next
}

// String returns s with every secret replaced by Redacted.
func (r *Redactor) String(s string) string {
	var secrets []string
	if r != nil {
		r.mu.RLock()
		secrets = r.secrets
		r.mu.RUnlock()
	}
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = authRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.Contains(m, Redacted[1:len(Redacted)-1]) {
			return m // already redacted: String is idempotent
		}
		return authRE.ReplaceAllString(m, "${1}${2}"+Redacted)
	})
	s = bearerRE.ReplaceAllString(s, "${1} "+Redacted)
	s = queryRE.ReplaceAllString(s, "${1}="+Redacted)
	s = userinfoRE.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = envAssignRE.ReplaceAllString(s, "${1}="+Redacted)
	s = shapeRE.ReplaceAllString(s, Redacted)
	return s
}

// ReplaceAttr is the slog.HandlerOptions.ReplaceAttr hook.
func (r *Redactor) ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	if a.Key != slog.MessageKey && secretKeyRE.MatchString(a.Key) {
		if a.Value.Kind() == slog.KindBool {
			return a // "token_set": true says nothing secret
		}
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := r.String(v.String()); s != v.String() {
			return slog.String(a.Key, s)
		}
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprintf("%+v", x)
		}
		if red := r.String(s); red != s {
			return slog.String(a.Key, red)
		}
		if _, ok := v.Any().(error); ok {
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
