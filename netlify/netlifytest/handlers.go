package netlifytest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uras-dev/uras/netlify"
)

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(method+" "+APIPrefix+path, s.api(h))
	}
	api("GET /sites/{site_id}", s.getSite)
	api("GET /sites/{site_id}/deploys", s.listSiteDeploys)
	api("GET /sites/{site_id}/deploys/{deploy_id}", s.getSiteDeploy)
	api("POST /sites/{site_id}/deploys/{deploy_id}/restore", s.restoreDeploy)
	api("POST /sites/{site_id}/builds", s.createBuild)
	api("GET /deploys/{deploy_id}", s.getDeploy)
	api("POST /deploys/{deploy_id}/cancel", s.cancelDeploy)
	api("POST /deploys/{deploy_id}/lock", s.lockDeploy)
	api("POST /deploys/{deploy_id}/unlock", s.unlockDeploy)
	mux.HandleFunc(APIPrefix+"/", s.api(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("POST /build_hooks/{hook_id}", s.buildHook)
	mux.HandleFunc("/.netlify/functions/{name}", s.function)
	mux.HandleFunc("/deploy/{deploy_id}/.netlify/functions/{name}", s.function)
	return mux
}

// api checks the token and sets the rate-limit headers before h.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.remaining > 0 {
			s.remaining--
		}
		remaining := s.remaining
		reset := s.clock.Now().Add(time.Minute).Unix()
		s.advance()
		s.mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", "500")
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeError(w, http.StatusUnauthorized, "Access Denied: your token is missing or invalid")
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = jsonEncode(w, v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg})
}

// findSite finds a site by id or name. s.mu must be held.
func (s *Server) findSite(idOrName string) *site {
	if st := s.sites[idOrName]; st != nil {
		return st
	}
	for _, id := range s.siteOrder {
		if st := s.sites[id]; st.name == idOrName || (st.customDomain != "" && st.customDomain == idOrName) {
			return st
		}
	}
	return nil
}

func (s *Server) getSite(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := s.findSite(r.PathValue("site_id"))
	var out map[string]any
	if st != nil {
		out = s.renderSite(st)
	}
	s.mu.Unlock()
	if st == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listSiteDeploys pages as the API does: per_page at most 100 (and 100 by
// default), Link headers naming the other pages.
func (s *Server) listSiteDeploys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, per := 1, maxPerPage
	for _, p := range []struct {
		name string
		v    *int
	}{{"page", &page}, {"per_page", &per}} {
		if raw := q.Get(p.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid %s %q", p.name, raw))
				return
			}
			if n > 0 {
				*p.v = n
			}
		}
	}
	per = min(per, maxPerPage)
	var prod *bool
	if raw := q.Get("production"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid production %q", raw))
			return
		}
		prod = &b
	}
	s.mu.Lock()
	st := s.findSite(r.PathValue("site_id"))
	if st == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var match []*deploy
	for _, d := range s.sorted(st.id) {
		if v := q.Get("state"); v != "" && string(d.state) != v {
			continue
		}
		if v := q.Get("branch"); v != "" && d.branch != v {
			continue
		}
		if prod != nil && (d.context == "production") != *prod {
			continue
		}
		match = append(match, d)
	}
	last := max((len(match)+per-1)/per, 1)
	lo := min((page-1)*per, len(match))
	hi := min(lo+per, len(match))
	out := make([]any, 0, hi-lo)
	for _, d := range match[lo:hi] {
		out = append(out, s.renderDeploy(d))
	}
	s.mu.Unlock()
	if last > 1 || page > 1 {
		w.Header().Set("Link", linkHeader(r, page, last))
	}
	writeJSON(w, http.StatusOK, out)
}

// linkHeader names the first, previous, next and last pages.
func linkHeader(r *http.Request, page, last int) string {
	at := func(n int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, at(1, "first"), at(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, at(page+1, "next"))
	}
	links = append(links, at(last, "last"))
	return strings.Join(links, ", ")
}

// siteDeploy finds the deploy of the path's site. s.mu must be held.
func (s *Server) siteDeploy(r *http.Request) *deploy {
	st := s.findSite(r.PathValue("site_id"))
	d := s.deploys[r.PathValue("deploy_id")]
	if st == nil || d == nil || d.siteID != st.id {
		return nil
	}
	return d
}

func (s *Server) answerDeploy(w http.ResponseWriter, status int, find func() *deploy, act func(d *deploy) (int, string)) {
	s.mu.Lock()
	d := find()
	if d == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if act != nil {
		if code, msg := act(d); code != 0 {
			s.mu.Unlock()
			writeError(w, code, msg)
			return
		}
	}
	out := s.renderDeploy(d)
	s.mu.Unlock()
	writeJSON(w, status, out)
}

func (s *Server) getSiteDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusOK, func() *deploy { return s.siteDeploy(r) }, nil)
}

func (s *Server) getDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusOK, func() *deploy { return s.deploys[r.PathValue("deploy_id")] }, nil)
}

func (s *Server) restoreDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusCreated, func() *deploy { return s.siteDeploy(r) }, func(d *deploy) (int, string) {
		if d.state != netlify.DeployReady {
			return http.StatusUnprocessableEntity, "Deploy is not ready and cannot be published"
		}
		s.publish(d)
		return 0, ""
	})
}

func (s *Server) cancelDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusCreated, func() *deploy { return s.deploys[r.PathValue("deploy_id")] }, func(d *deploy) (int, string) {
		if !d.state.InProgress() {
			return http.StatusUnprocessableEntity, "Deploy is not in progress and cannot be canceled"
		}
		s.cancel(d)
		return 0, ""
	})
}

func (s *Server) lockDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusOK, func() *deploy { return s.deploys[r.PathValue("deploy_id")] }, func(d *deploy) (int, string) {
		if s.sites[d.siteID].published != d.id {
			return http.StatusUnprocessableEntity, "Only the published deploy can be locked"
		}
		t := true
		d.locked, d.updatedAt = &t, s.clock.Now()
		return 0, ""
	})
}

func (s *Server) unlockDeploy(w http.ResponseWriter, r *http.Request) {
	s.answerDeploy(w, http.StatusOK, func() *deploy { return s.deploys[r.PathValue("deploy_id")] }, func(d *deploy) (int, string) {
		f := false
		d.locked, d.updatedAt = &f, s.clock.Now()
		return 0, ""
	})
}

func (s *Server) createBuild(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	clear := false
	if raw := q.Get("clear_cache"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid clear_cache %q", raw))
			return
		}
		clear = b
	}
	s.mu.Lock()
	st := s.findSite(r.PathValue("site_id"))
	if st == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	b := s.startBuild(st.id, Build{Title: q.Get("title"), Branch: q.Get("branch"), ClearCache: clear})
	out := s.renderBuild(b)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// buildHook starts a build as Netlify's build hooks do: no token needed,
// trigger_title, trigger_branch and clear_cache from the query, an empty
// 200 answer.
func (s *Server) buildHook(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	site, ok := s.hooks[r.PathValue("hook_id")]
	if ok {
		s.advance()
		b := Build{Title: q.Get("trigger_title"), Branch: q.Get("trigger_branch"), ClearCache: q.Get("clear_cache") == "true", ViaHook: true}
		if s.hookDelay > 0 {
			s.hookQueue = append(s.hookQueue, queuedHook{site: site, build: b, due: s.clock.Now().Add(s.hookDelay)})
		} else {
			s.startBuild(site, b)
		}
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// function serves a function endpoint: at the site's URL, the published
// deploy's; at /deploy/{id}/ (the fake's form of a deploy's own URL), that
// deploy's.
func (s *Server) function(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	s.advance()
	did := r.PathValue("deploy_id")
	exists := true
	if did == "" {
		if len(s.siteOrder) > 0 {
			did = s.sites[s.siteOrder[0]].published
		}
	} else {
		d := s.deploys[did]
		exists = d != nil && d.state == netlify.DeployReady
	}
	f, ok := s.funcs[did][name]
	if !ok && did != "" {
		f, ok = s.funcs[""][name]
	}
	s.mu.Unlock()
	if !ok || !exists {
		http.Error(w, "Function not found", http.StatusNotFound)
		return
	}
	if f.Hang {
		s.hang(r)
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
