package netlifytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/uras-dev/uras/netlify"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(method+" "+APIPrefix+path, s.apiCall(h))
	}
	api("GET /sites/{site_id}", s.getSite)
	api("GET /sites/{site_id}/deploys", s.listSiteDeploys)
	api("GET /sites/{site_id}/deploys/{deploy_id}", s.getDeploy)
	api("POST /sites/{site_id}/deploys/{deploy_id}/restore", s.restoreDeploy)
	api("POST /sites/{site_id}/builds", s.createBuild)
	mux.HandleFunc("POST /build_hooks/{hook_id}", s.buildHook)
	mux.HandleFunc("/.netlify/functions/{name}", s.function)
	mux.HandleFunc(APIPrefix+"/", s.apiCall(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	return mux
}

func (s *Server) record(r *http.Request, path string) Call {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := Call{
		Method: r.Method,
		Path:   path,
		Query:  r.URL.Query(),
		Body:   string(body),
		Authed: r.Header.Get("Authorization") == "Bearer "+s.token,
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	return c
}

// apiCall records the call, checks the token, sets the rate-limit headers
// and plays any scripted failure before h.
func (s *Server) apiCall(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, APIPrefix)
		c := s.record(r, path)
		s.mu.Lock()
		if s.remaining > 0 {
			s.remaining--
		}
		reset := s.clock.Now().Add(time.Minute).Unix()
		w.Header().Set("X-RateLimit-Limit", "500")
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		resp, scripted := s.popFail(r.Method, path)
		s.mu.Unlock()
		if scripted {
			for k, vs := range resp.Header {
				w.Header()[k] = vs
			}
			if resp.Status == 0 {
				resp.Status = http.StatusInternalServerError
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(resp.Status)
			_, _ = io.WriteString(w, resp.Body)
			return
		}
		if !c.Authed {
			writeError(w, http.StatusUnauthorized, "Access Denied: your token is missing or invalid")
			return
		}
		h(w, r)
	}
}

func (s *Server) popFail(method, path string) (Response, bool) {
	for _, k := range []string{method + " " + path, method + " *", "* " + path, "* *"} {
		if q := s.fails[k]; len(q) > 0 {
			s.fails[k] = q[1:]
			return q[0], true
		}
	}
	return Response{}, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}

// siteView returns the site as the API shows it (with published_deploy).
func (s *Server) siteView(id string) (netlify.Site, bool) {
	site, ok := s.sites[id]
	if !ok {
		return netlify.Site{}, false
	}
	out := *site
	if pid := s.published[id]; pid != "" {
		if d := s.findDeploy(id, pid); d != nil {
			cp := *d
			out.PublishedDeploy = &cp
		}
	}
	return out, true
}

func (s *Server) getSite(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	site, ok := s.siteView(r.PathValue("site_id"))
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, site)
}

func (s *Server) listSiteDeploys(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("site_id")
	s.mu.Lock()
	_, ok := s.sites[id]
	var out []netlify.Deploy
	if ok {
		out = s.filterDeploys(id, r.URL.Query())
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDeploy(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := s.findDeploy(r.PathValue("site_id"), r.PathValue("deploy_id"))
	var cp netlify.Deploy
	if d != nil {
		cp = *d
	}
	s.mu.Unlock()
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, cp)
}

func (s *Server) restoreDeploy(w http.ResponseWriter, r *http.Request) {
	site := r.PathValue("site_id")
	s.mu.Lock()
	d := s.findDeploy(site, r.PathValue("deploy_id"))
	if d == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if d.State != netlify.DeployReady {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Deploy is not ready and cannot be published")
		return
	}
	s.publish(site, d)
	cp := *d
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, cp)
}

// startBuild creates a build and its deploy from the next queued result.
// s.mu must be held.
func (s *Server) startBuild(siteID string) netlify.Build {
	res := BuildResult{State: netlify.DeployReady}
	if len(s.results) > 0 {
		res = s.results[0]
		s.results = s.results[1:]
		if res.State == "" {
			res.State = netlify.DeployReady
		}
	}
	bid := s.nextID()
	did := s.addDeploy(siteID, netlify.Deploy{State: res.State, ErrorMessage: res.ErrorMessage, BuildID: bid}, res.State == netlify.DeployReady)
	b := netlify.Build{ID: bid, DeployID: did, Done: !res.State.InProgress(), CreatedAt: s.clock.Now().UTC()}
	if res.State.Failed() {
		b.Error = res.ErrorMessage
	}
	s.builds = append(s.builds, b)
	return b
}

func (s *Server) createBuild(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("site_id")
	s.mu.Lock()
	if _, ok := s.sites[id]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	b := s.startBuild(id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) buildHook(w http.ResponseWriter, r *http.Request) {
	s.record(r, r.URL.Path)
	s.mu.Lock()
	site, ok := s.hooks[r.PathValue("hook_id")]
	if ok {
		s.startBuild(site)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) function(w http.ResponseWriter, r *http.Request) {
	s.record(r, r.URL.Path)
	name := r.PathValue("name")
	s.mu.Lock()
	var f Function
	ok := false
	if len(s.siteOrder) > 0 {
		if pid := s.published[s.siteOrder[0]]; pid != "" {
			f, ok = s.funcs[pid][name]
		}
	}
	if !ok {
		f, ok = s.funcs[""][name]
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Function not found", http.StatusNotFound)
		return
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f.Status == 0 {
		f.Status = http.StatusOK
	}
	if f.Body == "" {
		f.Body = "ok"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}
