package netlifytest

import (
	"fmt"
	"slices"
	"time"

	"github.com/uras-dev/uras/netlify"
)

// site is the server's record of a site.
type site struct {
	id, name      string
	url, sslURL   string
	customDomain  string
	createdAt     time.Time
	updatedAt     time.Time
	published     string // deploy id
	buildSettings *netlify.BuildSettings
}

// deploy is the server's record of a deploy.
type deploy struct {
	id, siteID, buildID string
	seq                 int
	state               netlify.DeployState
	errorMessage        string
	title, branch       string
	context             string
	commitRef           string
	framework           string
	deployURL           string
	createdAt           time.Time
	updatedAt           time.Time
	publishedAt         *time.Time
	locked              *bool
	draft, skipped      bool
	schedules           []netlify.FunctionSchedule
	available           []netlify.DeployedFunction
	required            []string
	pending             *BuildResult // a build of the server drives it
}

// build is the server's record of a build.
type build struct {
	Build
	done bool
	err  string
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("%024x", s.seq)
}

// AddSite adds a site. An empty ID gets one; empty URLs point at the
// server (whose function endpoints serve the first site added). It returns
// the ID.
func (s *Server) AddSite(in netlify.Site) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &site{id: in.ID, name: in.Name, url: in.URL, sslURL: in.SSLURL, customDomain: in.CustomDomain,
		createdAt: in.CreatedAt, buildSettings: in.BuildSettings}
	if st.id == "" {
		st.id = s.nextID()
	}
	if st.name == "" {
		st.name = st.id
	}
	if st.url == "" {
		st.url = s.URL()
	}
	if st.sslURL == "" {
		st.sslURL = s.URL()
	}
	if st.createdAt.IsZero() {
		st.createdAt = s.clock.Now()
	}
	st.updatedAt = st.createdAt
	s.sites[st.id] = st
	s.siteOrder = append(s.siteOrder, st.id)
	return st.id
}

// AddDeploy adds a deploy to a site; publish makes it the published one
// (its published_at is set). The fields read from d: ID, State, ErrorMessage,
// Title, Branch, Context, CommitRef, Framework, CreatedAt, UpdatedAt,
// Locked, Draft, Skipped, FunctionSchedules, AvailableFunctions,
// RequiredFunctions, BuildID. Empty ones get defaults: an ID, state ready,
// context production, branch main, created_at now (a millisecond after the
// previous deploy at the least, so order is creation order even at the
// API's millisecond precision). A deploy added in progress stays so until
// SetDeployState moves it. It returns the ID. It panics on an unknown
// site: that is a broken test.
func (s *Server) AddDeploy(siteID string, d netlify.Deploy, publish bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	dp := s.addDeploy(siteID, d)
	if publish {
		s.publish(dp)
	}
	return dp.id
}

func (s *Server) addDeploy(siteID string, d netlify.Deploy) *deploy {
	if _, ok := s.sites[siteID]; !ok {
		panic("netlifytest: AddDeploy to unknown site " + siteID)
	}
	dp := &deploy{id: d.ID, siteID: siteID, buildID: d.BuildID, state: d.State, errorMessage: d.ErrorMessage,
		title: d.Title, branch: d.Branch, context: d.Context, commitRef: d.CommitRef, framework: d.Framework,
		createdAt: d.CreatedAt, updatedAt: d.UpdatedAt, draft: d.Draft, skipped: d.Skipped,
		schedules: slices.Clone(d.FunctionSchedules), available: slices.Clone(d.AvailableFunctions),
		required: slices.Clone(d.RequiredFunctions)}
	if dp.id == "" {
		dp.id = s.nextID()
	}
	if _, dup := s.deploys[dp.id]; dup {
		panic("netlifytest: AddDeploy: duplicate deploy id " + dp.id)
	}
	s.seq++
	dp.seq = s.seq
	if dp.state == "" {
		dp.state = netlify.DeployReady
	}
	if dp.context == "" {
		dp.context = "production"
	}
	if dp.branch == "" {
		dp.branch = "main"
	}
	if d.Locked {
		t := true
		dp.locked = &t
	}
	if dp.createdAt.IsZero() {
		dp.createdAt = s.clock.Now()
		if ds := s.bySite[siteID]; len(ds) > 0 {
			if last := ds[len(ds)-1].createdAt; !dp.createdAt.After(last.Add(time.Millisecond - 1)) {
				dp.createdAt = last.Truncate(time.Millisecond).Add(time.Millisecond)
			}
		}
	}
	if dp.updatedAt.IsZero() {
		dp.updatedAt = dp.createdAt
	}
	s.deploys[dp.id] = dp
	s.bySite[siteID] = append(s.bySite[siteID], dp)
	return dp
}

// publish makes d its site's published deploy. Publishing lifts the lock
// of the deploy it replaces.
func (s *Server) publish(d *deploy) {
	st := s.sites[d.siteID]
	if old := s.deploys[st.published]; old != nil && old != d && old.locked != nil && *old.locked {
		f := false
		old.locked = &f
	}
	now := s.clock.Now()
	d.publishedAt = &now
	st.published = d.id
	st.updatedAt = now
}

// siteLocked reports whether auto publishing is stopped on the site.
func (s *Server) siteLocked(siteID string) bool {
	d := s.deploys[s.sites[siteID].published]
	return d != nil && d.locked != nil && *d.locked
}

// queuedHook is a build hook post whose build Netlify has not created yet
// (WithHookDelay).
type queuedHook struct {
	site  string
	build Build
	due   time.Time
}

// advance moves the server's builds along to now, creating first the
// builds of the hook posts that are due.
func (s *Server) advance() {
	now := s.clock.Now()
	for len(s.hookQueue) > 0 && !now.Before(s.hookQueue[0].due) {
		h := s.hookQueue[0]
		s.hookQueue = s.hookQueue[1:]
		s.startBuild(h.site, h.build)
	}
	for _, id := range s.siteOrder {
		for _, d := range s.bySite[id] {
			if d.pending == nil {
				continue
			}
			queued := d.createdAt.Add(s.queueTime)
			if d.state == netlify.DeployEnqueued && !now.Before(queued) {
				d.state, d.updatedAt = netlify.DeployBuilding, now
			}
			if d.state == netlify.DeployBuilding && !d.pending.Stall && !now.Before(queued.Add(s.buildTime)) {
				s.finish(d)
			}
		}
	}
}

// finish ends d's build as its result says.
func (s *Server) finish(d *deploy) {
	res := *d.pending
	d.pending = nil
	d.state, d.errorMessage, d.updatedAt = res.State, res.ErrorMessage, s.clock.Now()
	if b := s.buildOf(d); b != nil {
		b.done = true
		if res.State.Failed() {
			b.err = res.ErrorMessage
		}
	}
	if d.state == netlify.DeployReady && d.context == "production" && !s.siteLocked(d.siteID) {
		s.publish(d)
	}
}

func (s *Server) buildOf(d *deploy) *build {
	for _, b := range s.builds {
		if b.ID == d.buildID {
			return b
		}
	}
	return nil
}

// startBuild starts a build of the site and its deploy, enqueued.
func (s *Server) startBuild(siteID string, b Build) *build {
	res := BuildResult{State: netlify.DeployReady}
	if len(s.results) > 0 {
		res = s.results[0]
		s.results = s.results[1:]
		if res.State == "" {
			res.State = netlify.DeployReady
		}
	}
	b.ID, b.SiteID, b.CreatedAt = s.nextID(), siteID, s.clock.Now()
	ctx := "production"
	if b.Branch != "" && b.Branch != "main" {
		ctx = "branch-deploy"
	}
	d := s.addDeploy(siteID, netlify.Deploy{State: netlify.DeployEnqueued, BuildID: b.ID, Title: b.Title, Branch: b.Branch, Context: ctx})
	d.pending = &res
	b.DeployID = d.id
	bb := &build{Build: b}
	s.builds = append(s.builds, bb)
	return bb
}

// cancel cancels d's build, as the API does: the deploy ends in error
// with the message "Canceled build".
func (s *Server) cancel(d *deploy) {
	d.pending = nil
	d.state, d.errorMessage, d.updatedAt = netlify.DeployError, "Canceled build", s.clock.Now()
	if b := s.buildOf(d); b != nil {
		b.done, b.err = true, "Canceled build"
	}
}

// SetDeployState changes a deploy's state and error message. A build the
// server was driving stops there.
func (s *Server) SetDeployState(siteID, deployID string, state netlify.DeployState, errorMessage string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deploys[deployID]; d != nil && d.siteID == siteID {
		d.pending = nil
		d.state, d.errorMessage, d.updatedAt = state, errorMessage, s.clock.Now()
	}
}

// CompleteBuilds ends every build in progress now (but stalled ones), as
// if their time had come.
func (s *Server) CompleteBuilds() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.siteOrder {
		for _, d := range s.bySite[id] {
			if d.pending != nil && !d.pending.Stall {
				s.finish(d)
			}
		}
	}
}

// QueueBuildResults says how the next builds end, in order; once the
// queue is empty, builds end ready.
func (s *Server) QueueBuildResults(rs ...BuildResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, rs...)
}

// Deploys returns a site's deploys, newest first.
func (s *Server) Deploys(siteID string) []netlify.Deploy {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	var out []netlify.Deploy
	for _, d := range s.sorted(siteID) {
		out = append(out, s.view(d))
	}
	return out
}

// Deploy returns a deploy by id.
func (s *Server) Deploy(id string) (netlify.Deploy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	d, ok := s.deploys[id]
	if !ok {
		return netlify.Deploy{}, false
	}
	return s.view(d), true
}

// view is d as a netlify.Deploy, for inspection.
func (s *Server) view(d *deploy) netlify.Deploy {
	out := netlify.Deploy{ID: d.id, SiteID: d.siteID, BuildID: d.buildID, State: d.state, ErrorMessage: d.errorMessage,
		Title: d.title, Branch: d.branch, Context: d.context, CommitRef: d.commitRef, CreatedAt: d.createdAt,
		UpdatedAt: d.updatedAt, Locked: d.locked != nil && *d.locked, Draft: d.draft, Skipped: d.skipped,
		FunctionSchedules: d.schedules, AvailableFunctions: d.available, RequiredFunctions: d.required}
	if d.publishedAt != nil {
		t := *d.publishedAt
		out.PublishedAt = &t
	}
	return out
}

// sorted returns a site's deploys newest first (ties: the later added).
func (s *Server) sorted(siteID string) []*deploy {
	ds := slices.Clone(s.bySite[siteID])
	slices.SortStableFunc(ds, func(a, b *deploy) int {
		if c := b.createdAt.Compare(a.createdAt); c != 0 {
			return c
		}
		return b.seq - a.seq
	})
	return ds
}

// Published returns the id of a site's published deploy ("" when none).
func (s *Server) Published(siteID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if st := s.sites[siteID]; st != nil {
		return st.published
	}
	return ""
}

// Builds returns the builds started so far (by the API or build hooks).
func (s *Server) Builds() []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Build, 0, len(s.builds))
	for _, b := range s.builds {
		out = append(out, b.Build)
	}
	return out
}

// BuildHookURL creates a build hook for the site and returns its URL.
func (s *Server) BuildHookURL(siteID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID()
	s.hooks[id] = siteID
	return s.URL() + "/build_hooks/" + id
}

// SetFunction scripts the answer of /.netlify/functions/<name> whatever
// deploy is published.
func (s *Server) SetFunction(name string, f Function) { s.SetDeployFunction("", name, f) }

// SetDeployFunction scripts the answer of /.netlify/functions/<name> while
// deployID is published (and at the deploy's own URL); it takes precedence
// over SetFunction.
func (s *Server) SetDeployFunction(deployID, name string, f Function) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.funcs[deployID] == nil {
		s.funcs[deployID] = map[string]Function{}
	}
	s.funcs[deployID][name] = f
}
