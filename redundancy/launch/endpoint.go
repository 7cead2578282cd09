package launch

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/uras-dev/uras/redundancy"
)

func probeCode(p redundancy.ProbeResponse) int {
	if p.Status == "fail" {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// serveMetrics writes what gather collects in the Prometheus text format,
// redacted (label values are names; redaction keeps it that way).
func serveMetrics(w http.ResponseWriter, r *http.Request, gather prometheus.Gatherer, red *redundancy.Redactor) {
	mfs, err := gather.Gather()
	if err != nil && len(mfs) == 0 {
		http.Error(w, "launch: metrics: "+red.String(err.Error()), http.StatusInternalServerError)
		return
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			http.Error(w, "launch: metrics: encoding failed", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", string(format))
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(red.String(buf.String())))
	}
}

// Limits of the monitor's endpoint. A peer that opens connections and
// leaves them idle, or trickles a request, ties up one connection for at
// most these times, and never more than maxConns connections at once.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 16 << 10
	// maxConns caps the open connections; at the cap a new connection
	// closes the longest-idle one, or is closed itself when none is idle.
	maxConns = 64
)

// errTokenRequired is returned by checkListen for an address that is not
// loopback when no token is set.
var errTokenRequired = errors.New("the endpoint would be reachable from other hosts without a bearer token")

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen %q: want host:port, such as 127.0.0.1:9321 (%v)", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// checkListen refuses a non-loopback address without a token.
func checkListen(addr, token string) (exposed bool, err error) {
	lo, err := loopback(addr)
	if err != nil {
		return false, err
	}
	if !lo && token == "" {
		return true, fmt.Errorf("listen %s: %w: set a token ("+EnvEndpointToken+", or the variable listen_token_env names; Settings.Token) or listen on 127.0.0.1", addr, errTokenRequired)
	}
	return !lo, nil
}

// endpointHandler serves /health (the root orchestrator's snapshot as
// application/health+json: 200 pass or warn, 503 fail), /livez and
// /readyz (probes: see System.Liveness and System.Readiness), /metrics
// (the Prometheus text format of gather, when set), /status (the
// dashboard's Status as JSON) and /silences (the root's
// SilenceHandler), every body redacted, GET and HEAD only but for
// /silences; with a token, only to requests bearing it. A silence stops
// pages and may pause repairs, so writing one (POST, DELETE) needs the
// token even on loopback: without a token set, /silences is read-only.
func endpointHandler(sys *System, status func() Status, gather prometheus.Gatherer, red *redundancy.Redactor, token string) http.Handler {
	root := sys.Root
	mux := http.NewServeMux()
	silences := root.SilenceHandler()
	mux.HandleFunc(silencesPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && token == "" {
			http.Error(w, "launch: silences are set through the endpoint only with a bearer token: start the monitor with "+
				EnvEndpointToken+" (or the variable listen_token_env names) set", http.StatusForbidden)
			return
		}
		silences.ServeHTTP(w, r)
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		p := sys.Liveness().Probe()
		writeJSON(w, r, "application/health+json", probeCode(p), p, red)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		p := sys.Readiness().Probe()
		writeJSON(w, r, "application/health+json", probeCode(p), p, red)
	})
	if gather != nil {
		mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) { serveMetrics(w, r, gather, red) })
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		h := root.Snapshot().Health()
		code := http.StatusOK
		if h.Status == "fail" {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, r, "application/health+json", code, h, red)
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, "application/json", http.StatusOK, status(), red)
	})
	var h http.Handler = mux
	if token != "" {
		h = requireToken(token, h)
	}
	return onlyGet(h, silencesPath)
}

// silencesPath is where the endpoint serves the root's silences.
const silencesPath = "/silences"

func writeJSON(w http.ResponseWriter, r *http.Request, ctype string, code int, v any, red *redundancy.Redactor) {
	b, err := redactJSON(v, red)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// onlyGet refuses every method but GET and HEAD, except on the paths
// given (whose handlers say what they take).
func onlyGet(h http.Handler, except ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !slices.Contains(except, r.URL.Path) {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireToken answers 401 unless the request bears the token
// ("Authorization: Bearer <token>"), compared in constant time.
func requireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="uras"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// newServer returns the endpoint's server with its timeouts, serving h on
// l behind the connection cap.
func newServer(h http.Handler, l net.Listener) (*http.Server, net.Listener) {
	cl := &capListener{Listener: l, max: maxConns, conns: map[net.Conn]connInfo{}}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         cl.track,
	}
	return srv, cl
}

// capListener keeps at most max connections open: at the cap, a new
// connection closes the longest-idle one, and is closed itself when none
// is idle (the peer sees a reset; the process keeps its descriptors).
type capListener struct {
	net.Listener
	max int

	mu      sync.Mutex
	conns   map[net.Conn]connInfo
	refused int
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max {
			var victim net.Conn
			var oldest time.Time
			for vc, ci := range l.conns {
				if ci.state == http.StateIdle && (victim == nil || ci.since.Before(oldest)) {
					victim, oldest = vc, ci.since
				}
			}
			if victim == nil {
				l.refused++
				l.mu.Unlock()
				_ = c.Close()
				continue
			}
			delete(l.conns, victim)
			_ = victim.Close()
		}
		l.conns[c] = connInfo{state: http.StateNew, since: time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// track is the server's ConnState hook.
func (l *capListener) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == http.StateClosed || s == http.StateHijacked {
		delete(l.conns, c)
		return
	}
	if _, ok := l.conns[c]; ok {
		l.conns[c] = connInfo{state: s, since: time.Now()}
	}
}

// open returns the number of open connections and of refused ones.
func (l *capListener) open() (open, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.refused
}
