package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// silenceTimeout bounds one request of the silence verb to the monitor.
const silenceTimeout = 10 * time.Second

// silenceReplyLimit bounds what is read of the monitor's answer.
const silenceReplyLimit = 4 << 20

// errRefused is wrapped by the errors of a request the monitor refused
// for what it asked (a bad silence, an unknown ID, a token it does not
// take).
var errRefused = errors.New("refused")

// monitorSilences are the silences of the running monitor, through its
// endpoint: /silences with the bearer token.
type monitorSilences struct {
	pid      int
	endpoint string // "http://127.0.0.1:9321"; "" when it serves none
	token    string
	status   func() (Status, error)
	hc       *http.Client
}

func (a *app[C]) monitorSilences(set Settings, pid int) (*monitorSilences, error) {
	st, err := a.statusOfMonitor(set)
	if err != nil {
		return nil, fmt.Errorf("a monitor runs (pid %d), but its status file is not readable yet: %v", pid, err)
	}
	return &monitorSilences{pid: pid, endpoint: st.Endpoint, token: set.Token,
		status: func() (Status, error) { return a.statusOfMonitor(set) },
		hc: &http.Client{Timeout: silenceTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the token goes to the monitor only
		}}}, nil
}

func (m *monitorSilences) where() string { return fmt.Sprintf("running monitor, pid %d", m.pid) }

// names returns the names the root's silences match, from the status file.
func (m *monitorSilences) names() ([]string, error) {
	st, err := m.status()
	if err != nil {
		return nil, err
	}
	return rootNames(st), nil
}
func (m *monitorSilences) close() {}

// writable says why the silences cannot be changed through the endpoint.
func (m *monitorSilences) writable() error {
	switch {
	case m.endpoint == "":
		return fmt.Errorf("the running monitor (pid %d) serves no endpoint (listen): its silences can be changed only through it; give it listen and restart it", m.pid)
	case m.token == "":
		return fmt.Errorf("%w: the running monitor (pid %d) takes silences only with its bearer token: set %s (or the variable listen_token_env names) for this command, as for the monitor",
			errRefused, m.pid, EnvEndpointToken)
	}
	return nil
}

func (m *monitorSilences) list(ctx context.Context) ([]redundancy.SilenceState, error) {
	if m.endpoint != "" {
		var list []redundancy.SilenceState
		err := m.do(ctx, http.MethodGet, silencesPath, nil, http.StatusOK, &list)
		if err == nil {
			return list, nil
		}
		if !errors.Is(err, errRefused) {
			return nil, err
		}
	}
	// No endpoint, or no token it takes: the status file says as much
	// (written every few seconds).
	st, err := m.status()
	if err != nil {
		return nil, err
	}
	return st.Silences, nil
}

func (m *monitorSilences) set(ctx context.Context, s redundancy.Silence) (redundancy.Silence, error) {
	if err := m.writable(); err != nil {
		return redundancy.Silence{}, err
	}
	body, err := json.Marshal(s)
	if err != nil {
		return redundancy.Silence{}, err
	}
	var got redundancy.Silence
	err = m.do(ctx, http.MethodPost, silencesPath, body, http.StatusOK, &got)
	return got, err
}

func (m *monitorSilences) remove(ctx context.Context, id string) error {
	if err := m.writable(); err != nil {
		return err
	}
	return m.do(ctx, http.MethodDelete, silencesPath+"?id="+url.QueryEscape(id), nil, http.StatusNoContent, nil)
}

// do sends one request and decodes the answer into out (when want is
// answered), or returns the monitor's error.
func (m *monitorSilences) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, silenceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the monitor's endpoint: said below
		}
		return fmt.Errorf("the running monitor (pid %d) did not answer on %s: %w", m.pid, m.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, silenceReplyLimit))
	if err != nil {
		return fmt.Errorf("the monitor's answer: %w", err)
	}
	if resp.StatusCode == want {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("the monitor's answer: %w", err)
		}
		return nil
	}
	msg := string(bytes.TrimSpace(raw))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w: the running monitor (pid %d) refused the token: %s differs from the monitor's (or is not set)", errRefused, m.pid, EnvEndpointToken)
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
		return fmt.Errorf("%w: %s", errRefused, clip(msg, 300))
	}
	return fmt.Errorf("the running monitor answered %s: %s", resp.Status, clip(msg, 300))
}
