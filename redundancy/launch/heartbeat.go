package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// EnvHeartbeatURL overrides Settings.HeartbeatURL.
const EnvHeartbeatURL = "REDUNDANCY_HEARTBEAT_URL"

// Heartbeat defaults.
const (
	// DefaultHeartbeatEvery is how often the heartbeat URL is pinged
	// while all is well (Settings.HeartbeatEvery).
	DefaultHeartbeatEvery = time.Minute
	// heartbeatTimeout bounds one ping.
	heartbeatTimeout = 10 * time.Second
)

// checkHeartbeatURL refuses a URL that is not absolute http(s), without
// quoting it (it holds a secret).
func checkHeartbeatURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("launch: heartbeat URL: want an absolute http or https URL")
	}
	return nil
}

// heartbeat pings a dead man's switch (Healthchecks.io, Uptime Kuma's
// push monitor, Cronitor) with a GET: its silence tells that the monitor
// died or wedged.
type heartbeat struct {
	url    string
	client *http.Client
}

func newHeartbeat(raw string) *heartbeat {
	return &heartbeat{url: raw, client: &http.Client{
		Timeout: heartbeatTimeout,
		// Never follow a redirect: the URL (a secret) would go to
		// another host as the Referer, or the ping to a stranger.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// ping sends one heartbeat. Its error never holds the URL.
func (h *heartbeat) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return errors.New("launch: heartbeat: cannot build the request")
	}
	req.Header.Set("User-Agent", "uras-heartbeat")
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the URL
		}
		return fmt.Errorf("launch: heartbeat: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("launch: heartbeat: the receiver answered %s", resp.Status)
	}
	return nil
}
