package redundancy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// NewSlackNotifier returns a WebhookNotifier that posts to a
// Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat,
// Discord's /slack endpoint): each alert notice (and, registered with
// WithNotifier, each event) as {"text": "..."}, one line of plain text
// with &, < and > escaped as Slack asks. Everything else is
// WebhookNotifier's: the queue, the retries (network errors, 429, 5xx),
// the redirect policy, the redactor and Close.
func NewSlackNotifier(url string, opts ...WebhookOption) (*WebhookNotifier, error) {
	w, err := newWebhook(url)
	if err != nil {
		return nil, err
	}
	w.slack = true
	return w.start(opts)
}

// maxSlackText bounds the text of one Slack message.
const maxSlackText = 3000

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackBody encodes {"text": text}, escaped and bounded.
func slackBody(text string) ([]byte, error) {
	text = slackEscaper.Replace(text)
	if len(text) > maxSlackText {
		cut := maxSlackText
		for cut > 0 && text[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		text = text[:cut] + "…"
	}
	return json.Marshal(struct {
		Text string `json:"text"`
	}{text})
}

// slackAlertText is an alert notice as one line for people:
// "[OPEN critical] web/test.down: web: down (first seen 12:00:00 UTC)".
func slackAlertText(a Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s %s] %s", strings.ToUpper(a.Notice.String()), a.Severity, a.Key)
	if a.Summary != "" {
		b.WriteString(": " + a.Summary)
	}
	switch a.Notice {
	case NoticeResolved:
		fmt.Fprintf(&b, " (after %s)", a.Resolved.Sub(a.FirstSeen).Round(time.Second))
	default:
		fmt.Fprintf(&b, " (first seen %s)", a.FirstSeen.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if len(a.Affected) > 0 {
		fmt.Fprintf(&b, "; also affected: %s", strings.Join(a.Affected, ", "))
	}
	if a.Error != "" {
		b.WriteString("; " + a.Error)
	}
	return b.String()
}
