package pm2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Probe says how to check that an app really serves while PM2 calls it
// online: a TCP port that must accept a connection, or an HTTP(S) URL
// that must answer. Give Port, URL or both (both must pass). Its yaml
// keys are those of an app's probe in a TargetConfig.
type Probe struct {
	// Port is a TCP port the app listens on, dialled on Host. It is also
	// the port looked up when the app's error log says EADDRINUSE; with
	// only URL set, the URL's port is.
	Port int `yaml:"port"`
	// Host is the address dialled for Port. Default DefaultProbeHost.
	Host string `yaml:"host"`
	// URL is an http or https URL the app answers; a 2xx or 3xx status
	// passes (redirects are not followed), unless ExpectStatus is set.
	URL string `yaml:"url"`
	// ExpectStatus is the one HTTP status that passes; 0: any 2xx or 3xx.
	ExpectStatus int `yaml:"expect_status"`
	// Timeout bounds one probe. Default DefaultProbeTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// Grace is how long after a process started a failing probe is not
	// yet a finding (the app is still starting). Default DefaultProbeGrace.
	Grace time.Duration `yaml:"grace"`
	// OwnHolders declares processes outside PM2 as ours: a process that
	// holds Port while the app's error log says EADDRINUSE, and whose
	// command line contains one of these strings, may be stopped by the
	// recoverer (SIGTERM, then SIGKILL), as when an orphan of a killed
	// daemon keeps the port. Empty (the default): such a process is
	// reported, never signalled.
	OwnHolders []string `yaml:"own_holders"`
}

// Probe defaults.
const (
	DefaultProbeHost    = "127.0.0.1"
	DefaultProbeTimeout = 2 * time.Second
	DefaultProbeGrace   = 10 * time.Second
	maxProbeBody        = 64 << 10
)

// Validate reports what is wrong with p: no port and no URL, a port out of
// range, a URL that is not absolute http(s), a bad expected status, a
// negative duration.
func (p Probe) Validate() error {
	if p.Port == 0 && p.URL == "" {
		return errors.New("pm2: probe: needs a port or a URL")
	}
	if p.Port < 0 || p.Port > 65535 {
		return fmt.Errorf("pm2: probe: port %d out of range 1-65535", p.Port)
	}
	if p.URL != "" {
		u, err := url.Parse(p.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("pm2: probe: URL must be an absolute http or https URL")
		}
	}
	if p.ExpectStatus != 0 && (p.ExpectStatus < 100 || p.ExpectStatus > 599) {
		return fmt.Errorf("pm2: probe: expected status %d out of range 100-599", p.ExpectStatus)
	}
	if p.Timeout < 0 || p.Grace < 0 {
		return errors.New("pm2: probe: negative timeout or grace")
	}
	return nil
}

// port returns the port looked up for EADDRINUSE: Port, else the URL's.
func (p Probe) port() int {
	if p.Port > 0 {
		return p.Port
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return 0
	}
	if s := u.Port(); s != "" {
		n, _ := strconv.Atoi(s)
		return n
	}
	switch u.Scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

func (p Probe) withDefaults() Probe {
	if p.Host == "" {
		p.Host = DefaultProbeHost
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultProbeTimeout
	}
	if p.Grace <= 0 {
		p.Grace = DefaultProbeGrace
	}
	return p
}

// newProbeClient returns the HTTP client of the probes: no proxy (a probe
// of a local app must not go through one, and the library reads no
// environment), no redirects followed, no connection kept (each probe
// shows whether the app accepts a new one).
func newProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{}).DialContext,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// run probes the app once within p.Timeout; nil when it serves.
func (p Probe) run(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	if p.Port > 0 {
		addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("port %s refuses connections: %s", addr, netErrorText(err))
		}
		_ = conn.Close()
	}
	if p.URL == "" {
		return nil
	}
	shown := safeURL(p.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return fmt.Errorf("GET %s: bad request", shown)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %s", shown, netErrorText(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	_ = resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 400
	if p.ExpectStatus != 0 {
		ok = resp.StatusCode == p.ExpectStatus
	}
	if !ok {
		want := "2xx or 3xx"
		if p.ExpectStatus != 0 {
			want = strconv.Itoa(p.ExpectStatus)
		}
		return fmt.Errorf("GET %s: status %d, want %s", shown, resp.StatusCode, want)
	}
	return nil
}

// safeURL shows a URL without its credentials, query or fragment (a token
// often rides in them).
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}

// netErrorText describes a dial or request error without the URL it may
// quote (url.Error carries it, query and all).
func netErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within the probe timeout"
	}
	return excerpt(err.Error(), maxMessage)
}
