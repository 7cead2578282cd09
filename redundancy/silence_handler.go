package redundancy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxSilenceBody bounds the body SilenceHandler reads.
const maxSilenceBody = 64 << 10

// SilenceHandler serves o's silences as JSON, for a command line (such as
// "silence add/list/remove") that talks to a running monitor:
//
//   - GET: the silences (Silences), active or not, as a JSON array;
//   - POST: sets the silence in the body (a Silence: "duration" is text,
//     "90m"; unknown fields are refused) and answers 200 with the silence
//     as stored (its ID, Created, Until), or 400 saying what is wrong;
//   - DELETE ?id=ID: removes one: 204, or 404 when there is none.
//
// Bodies are capped at 64 KiB. It has no authentication of its own: serve
// it only behind the launcher's bearer token (or on a socket only the
// monitor's user can reach), since a silence stops pages and may pause
// repairs. Answers are redacted with o's redactor.
func (o *Orchestrator) SilenceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			o.writeJSON(w, r, http.StatusOK, o.Silences())
		case http.MethodPost:
			var j silenceJSON
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSilenceBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&j); err != nil {
				o.writeError(w, http.StatusBadRequest, fmt.Errorf("redundancy: silence: bad body: %w", err))
				return
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				o.writeError(w, http.StatusBadRequest, errors.New("redundancy: silence: bad body: one JSON object only"))
				return
			}
			s, err := j.silence()
			if err != nil {
				o.writeError(w, http.StatusBadRequest, err)
				return
			}
			got, err := o.Silence(s)
			if err != nil {
				o.writeError(w, http.StatusBadRequest, err)
				return
			}
			o.writeJSON(w, r, http.StatusOK, got)
		case http.MethodDelete:
			id := strings.TrimSpace(r.URL.Query().Get("id"))
			if id == "" {
				o.writeError(w, http.StatusBadRequest, errors.New("redundancy: silence: ?id= is required"))
				return
			}
			if err := o.RemoveSilence(id); err != nil {
				o.writeError(w, http.StatusNotFound, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

func (o *Orchestrator) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(o.redactString(string(b))))
	}
}

func (o *Orchestrator) writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": o.redactString(err.Error())})
}
