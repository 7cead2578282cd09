package launch

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/uras-dev/uras/redundancy/metrics"
)

// hooksPrefix is where the receivers are served: /hooks/<name>.
const hooksPrefix = "/hooks/"

// hooksHandler serves each receiver at /hooks/<name>, its requests
// counted on m by the status answered (a bad signature is a 401), and
// nothing else (404). The receivers check the method, cap the body and
// verify the signature themselves; no body is ever logged here.
func hooksHandler(recv map[string]http.Handler, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	for name, h := range recv {
		if m != nil {
			h = m.Receiver(name, h)
		}
		mux.Handle(hooksPrefix+name, h)
	}
	return mux
}

// receiverPaths lists the receivers' paths, sorted, for people.
func receiverPaths(recv map[string]http.Handler) string {
	var paths []string
	for name := range recv {
		paths = append(paths, hooksPrefix+name)
	}
	slices.Sort(paths)
	return strings.Join(paths, " ")
}

// serveHooks serves sys's receivers on addr, on a server of their own with
// the endpoint's limits, until stop is called. Receivers with no address
// are a usage error (the deliveries would go nowhere while polling waits
// its safety-net interval); an address with no receiver is not listened
// on.
func (a *app[C]) serveHooks(log *slog.Logger, sys *System, m *metrics.Metrics, addr string) (stop func(), code int) {
	stop = func() {}
	if len(sys.Receivers) == 0 {
		if addr != "" {
			log.Info("webhooks: no receiver (it takes a webhook secret and a repository or site to wake): hooks_listen is not listened on", "addr", addr)
		}
		return stop, ExitOK
	}
	paths := receiverPaths(sys.Receivers)
	if addr == "" {
		log.Error("webhook receivers but no hooks_listen", "receivers", paths)
		fmt.Fprintf(a.stderr, "%s: webhook secrets are set (%s) but hooks_listen is empty: give the deliveries an address (hooks_listen, or -hooks-listen)\n",
			a.cmd.Name, paths)
		return stop, ExitUsage
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "err", err)
		return stop, a.fail("hooks: %v", err)
	}
	srv, cl := newServer(hooksHandler(sys.Receivers, m), ln)
	go func() { _ = srv.Serve(cl) }()
	log.Info("webhooks", "addr", ln.Addr().String(), "paths", paths)
	fmt.Fprintf(a.stdout, "%s: webhook deliveries on http://%s (%s)\n", a.cmd.Name, ln.Addr().String(), paths)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), endpointShutdown)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, ExitOK
}
