package launch

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
)

// serve starts the endpoint over one leaky target on loopback.
func serve(t *testing.T, token string) (url string, cl *capListener, srv *http.Server) {
	t.Helper()
	root := redundancy.New()
	require.NoError(t, root.Add(leaky("leaky")))
	root.CheckNow(context.Background())
	sys := &System{Root: root}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	red := redundancy.NewRedactor(secret)
	srv, l := newServer(endpointHandler(sys, sys.Status, nil, red, token), ln)
	cl = l.(*capListener)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), cl, srv
}

func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestEndpointServesRedactedHealthAndStatus(t *testing.T) {
	t.Parallel()
	url, _, _ := serve(t, "")
	resp, body := get(t, url+"/health", "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "application/health+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var h redundancy.HealthResponse
	require.NoError(t, json.Unmarshal([]byte(body), &h))
	assert.Equal(t, "fail", h.Status)
	assert.Contains(t, h.Checks, "leaky:status")
	assert.NotContains(t, body, secret)
	assert.Contains(t, body, "[REDACTED]")

	resp, body = get(t, url+"/status", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, json.Valid([]byte(body)))
	assert.NotContains(t, body, secret)

	req, err := http.NewRequest(http.MethodPost, url+"/health", nil)
	require.NoError(t, err)
	pr, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = pr.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, pr.StatusCode)
}

func TestEndpointBearerToken(t *testing.T) {
	t.Parallel()
	const token = "endpoint-token-0123456789"
	url, _, _ := serve(t, token)
	for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
		resp, body := get(t, url+"/status", bad)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, bad)
		assert.Equal(t, `Bearer realm="uras"`, resp.Header.Get("WWW-Authenticate"))
		assert.NotContains(t, body, "leaky")
	}
	resp, _ := get(t, url+"/health", token)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "the right token passes")

	for addr, exposed := range map[string]bool{"127.0.0.1:1": false, "[::1]:1": false, "localhost:1": false,
		"0.0.0.0:1": true, ":1": true, "[::]:1": true, "192.0.2.7:1": true, "example.com:1": true} {
		got, err := checkListen(addr, token)
		require.NoError(t, err, addr)
		assert.Equal(t, exposed, got, addr)
		_, err = checkListen(addr, "")
		if exposed {
			assert.ErrorIs(t, err, errTokenRequired, addr)
			assert.ErrorContains(t, err, "set a token ("+EnvEndpointToken, "the error says how")
		} else {
			assert.NoError(t, err, addr)
		}
	}
	_, err := checkListen("9321", "")
	assert.ErrorContains(t, err, "want host:port")
}

// Idle keep-alive connections cannot pile up: at most maxConns stay open,
// the longest idle give way to new ones, and the endpoint keeps answering.
func TestEndpointConnectionCap(t *testing.T) {
	t.Parallel()
	url, cl, srv := serve(t, "")
	assert.Equal(t, readHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, idleTimeout, srv.IdleTimeout)
	assert.NotZero(t, srv.ReadTimeout)
	assert.NotZero(t, srv.WriteTimeout)
	addr := strings.TrimPrefix(url, "http://")
	const peers = 3 * maxConns
	conns := make([]net.Conn, 0, peers)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range peers {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		// One request, then the connection idles (keep-alive).
		_, err = io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		open, _ := cl.open()
		require.LessOrEqual(t, open, maxConns)
	}
	require.Eventually(t, func() bool { open, _ := cl.open(); return open <= maxConns }, 10*time.Second, 10*time.Millisecond)
	resp, _ := get(t, url+"/health", "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "still answering with %d idle peers", peers)
}
