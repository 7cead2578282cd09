package logging

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Redacted replaces a secret.
const Redacted = "[REDACTED]"

// SecretEnv are the environment variables whose values are secrets
// wherever they appear.
var SecretEnv = []string{
	"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_PAT",
	"NETLIFY_AUTH_TOKEN", "NETLIFY_API_TOKEN", "NETLIFY_BUILD_HOOK",
	"PM2_PUBLIC_KEY", "PM2_SECRET_KEY", "KEYMETRICS_SECRET", "KEYMETRICS_PUBLIC",
	"WEBHOOK_URL", "SLACK_WEBHOOK_URL",
}

var (
	// Attribute keys whose whole value is a secret.
	secretKeyRE = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|authorization|api[-_]?key|credential|cookie|private[-_]?key|` +
		strings.Join(SecretEnv, "|") + `)`)
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
	envAssignRE = regexp.MustCompile(`\b(` + strings.Join(SecretEnv, "|") + `)=(\S+)`)
)

// Redactor removes secrets from log attributes: use it as a
// slog.HandlerOptions.ReplaceAttr. It redacts
//
//   - the whole value of any attribute whose key names a secret (token,
//     secret, password, authorization, api_key, the variables of SecretEnv);
//   - in every string (the message included), error and other value:
//     the given secret values and the values of SecretEnv variables,
//     Authorization headers and Bearer credentials, token=, key=, sig= and
//     similar query values, user:password@ in URLs, NAME=value for the
//     SecretEnv variables, and well-known token shapes (ghp_..., github_pat_...).
type Redactor struct {
	secrets []string // longest first
}

// NewRedactor returns a redactor of secrets (values shorter than 4 bytes
// are ignored: they would redact everything) and of the current values of
// the SecretEnv variables.
func NewRedactor(secrets ...string) *Redactor {
	all := append([]string(nil), secrets...)
	for _, name := range SecretEnv {
		all = append(all, os.Getenv(name))
	}
	seen := map[string]bool{}
	r := &Redactor{}
	for _, s := range all {
		s = strings.TrimSpace(s)
		if len(s) < 4 || seen[s] {
			continue
		}
		seen[s] = true
		r.secrets = append(r.secrets, s)
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// String returns s with every secret replaced by Redacted.
func (r *Redactor) String(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = authRE.ReplaceAllString(s, "${1}${2}"+Redacted)
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
