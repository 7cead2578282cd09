package launch

import (
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
