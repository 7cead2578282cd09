package netlify_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
)

// problems lists the (subject, problem) pairs of a report.
func problems(r redundancy.Report) map[string]redundancy.Problem {
	out := map[string]redundancy.Problem{}
	for _, f := range r.Findings {
		out[f.Subject] = f.Problem
	}
	return out
}

func TestManifestChecker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(t *testing.T, fnDir, mp string)
		status redundancy.Status
		want   map[string]redundancy.Problem // subject -> problem; "$m" is the manifest path
	}{
		{"clean", func(t *testing.T, fnDir, mp string) {}, redundancy.StatusHealthy, map[string]redundancy.Problem{}},
		{"missing", func(t *testing.T, fnDir, mp string) { require.NoError(t, os.Remove(mp)) },
			redundancy.StatusUnhealthy, map[string]redundancy.Problem{"$m": netlify.ProblemManifestMissing}},
		{"unparsable", func(t *testing.T, fnDir, mp string) {
			require.NoError(t, os.WriteFile(mp, []byte(`{"functions":`), 0o644))
		},
			redundancy.StatusUnhealthy, map[string]redundancy.Problem{"$m": netlify.ProblemManifestInvalid}},
		{"declared function absent", func(t *testing.T, fnDir, mp string) { require.NoError(t, os.Remove(filepath.Join(fnDir, "hello.mts"))) },
			redundancy.StatusUnhealthy, map[string]redundancy.Problem{"hello": netlify.ProblemFunctionMissing}},
		{"source newer than the manifest", func(t *testing.T, fnDir, mp string) {
			writeFile(t, fnDir, "sync-background/lib.js", "changed", t0.Add(2*time.Hour))
		}, redundancy.StatusDegraded, map[string]redundancy.Problem{"$m": netlify.ProblemManifestStale}},
		{"source written in the manifest's millisecond", func(t *testing.T, fnDir, mp string) {
			writeFile(t, fnDir, "sync-background/lib.js", "changed", t0.Add(time.Hour+999*time.Microsecond))
		}, redundancy.StatusHealthy, map[string]redundancy.Problem{}},
		{"source written the next millisecond", func(t *testing.T, fnDir, mp string) {
			writeFile(t, fnDir, "sync-background/lib.js", "changed", t0.Add(time.Hour+time.Millisecond))
		}, redundancy.StatusDegraded, map[string]redundancy.Problem{"$m": netlify.ProblemManifestStale}},
		{"function not in the manifest", func(t *testing.T, fnDir, mp string) {
			writeFile(t, fnDir, "new.js", "x", t0)
		}, redundancy.StatusDegraded, map[string]redundancy.Problem{"new": netlify.ProblemFunctionUnlisted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fnDir, mp := project(t, t0)
			_, err := netlify.RegenerateManifest(fnDir, mp, t0.Add(time.Hour))
			require.NoError(t, err)
			tt.setup(t, fnDir, mp)
			rep := (&netlify.ManifestChecker{FunctionsDir: fnDir, ManifestPath: mp}).Check(context.Background())
			require.NoError(t, rep.Err)
			assert.Equal(t, tt.status, rep.Status, "report %+v", rep)
			want := map[string]redundancy.Problem{}
			for k, v := range tt.want {
				if k == "$m" {
					k = mp
				}
				want[k] = v
			}
			assert.Equal(t, want, problems(rep))
		})
	}

	t.Run("unreadable functions dir is an error report", func(t *testing.T) {
		t.Parallel()
		rep := (&netlify.ManifestChecker{FunctionsDir: filepath.Join(t.TempDir(), "none")}).Check(context.Background())
		require.Error(t, rep.Err)
		assert.Equal(t, redundancy.StatusUnknown, rep.Status)
	})
}

func TestProbeChecker(t *testing.T) {
	t.Parallel()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddSite(netlify.Site{ID: "s"})
	srv.SetFunction("hello", netlifytest.Function{Body: "hello world"})
	srv.SetFunction("boom", netlifytest.Function{Status: 502, Body: "error decoding lambda response"})
	srv.SetFunction("job-background", netlifytest.Function{Status: 202, Body: ""})
	srv.SetFunction("hang", netlifytest.Function{Latency: 10 * time.Second})

	tests := []struct {
		name   string
		ep     netlify.Endpoint
		clock  redundancy.Clock
		want   redundancy.Problem // "" = healthy
		detail string
	}{
		{"healthy", netlify.Endpoint{Name: "hello"}, nil, "", ""},
		{"body found", netlify.Endpoint{Name: "hello", BodyContains: "world"}, nil, "", ""},
		{"body lacks", netlify.Endpoint{Name: "hello", BodyContains: "goodbye"}, nil, netlify.ProblemEndpointDown, `lacks "goodbye"`},
		{"5xx", netlify.Endpoint{Name: "boom"}, nil, netlify.ProblemEndpointDown, "status 502, want 200"},
		{"not deployed", netlify.Endpoint{Name: "ghost"}, nil, netlify.ProblemEndpointDown, "status 404"},
		{"background expects 202", netlify.Endpoint{Name: "job-background"}, nil, "", ""},
		{"explicit status", netlify.Endpoint{Name: "boom", ExpectStatus: 502}, nil, "", ""},
		{"custom path", netlify.Endpoint{Name: "h", Path: "/.netlify/functions/hello", Method: http.MethodPost}, nil, "", ""},
		{"slow", netlify.Endpoint{Name: "hello", SlowAfter: time.Second}, &stepClock{now: t0, step: 1500 * time.Millisecond},
			netlify.ProblemEndpointSlow, "took 1.5s (bound 1s)"},
		{"timeout", netlify.Endpoint{Name: "hang", Timeout: 30 * time.Millisecond}, nil, netlify.ProblemEndpointDown, "timed out after 30ms"},
		{"refused", netlify.Endpoint{Name: "x", URL: "http://127.0.0.1:1/x"}, nil, netlify.ProblemEndpointDown, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pc := &netlify.ProbeChecker{SiteURL: srv.URL(), Endpoints: []netlify.Endpoint{tt.ep}, Clock: tt.clock}
			rep := pc.Check(context.Background())
			require.NoError(t, rep.Err)
			if tt.want == "" {
				assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%+v", rep.Findings)
				return
			}
			require.Len(t, rep.Findings, 1)
			f := rep.Findings[0]
			assert.Equal(t, tt.want, f.Problem)
			assert.Equal(t, tt.ep.Name, f.Subject)
			assert.Contains(t, f.Detail, tt.detail)
		})
	}
}

func TestDeployChecker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	check := func(t *testing.T, srv *netlifytest.Server, dc *netlify.DeployChecker) redundancy.Report {
		t.Helper()
		if dc == nil {
			dc = &netlify.DeployChecker{}
		}
		dc.Client = srv.Client(netlify.WithRetry(0, time.Millisecond))
		dc.SiteID = "site-1"
		if dc.Clock == nil {
			dc.Clock = newRecClock(t0.Add(time.Hour))
		}
		return dc.Check(ctx)
	}

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0}, true)
		rep := check(t, srv, nil)
		assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%+v", rep)
		assert.Equal(t, "published d1 (ready), newest d1 (ready)", rep.Summary)
	})
	t.Run("newest failed", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0}, true)
		srv.AddDeploy(site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(time.Minute), State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
		rep := check(t, srv, nil)
		assert.Equal(t, redundancy.StatusUnhealthy, rep.Status)
		require.Len(t, rep.Findings, 1)
		assert.Equal(t, "d2", rep.Findings[0].Subject)
		assert.Equal(t, netlify.ProblemDeployFailed, rep.Findings[0].Problem)
		assert.Contains(t, rep.Findings[0].Detail, "non-zero exit code")
	})
	t.Run("stuck building", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0}, true)
		srv.AddDeploy(site, netlify.Deploy{ID: "d2", CreatedAt: t0.Add(time.Minute), State: netlify.DeployBuilding}, false)
		rep := check(t, srv, &netlify.DeployChecker{StuckAfter: 10 * time.Minute})
		assert.Equal(t, map[string]redundancy.Problem{"d2": netlify.ProblemDeployStuck}, problems(rep))
		assert.Equal(t, redundancy.StatusDegraded, rep.Status)
		// Not yet stuck within the bound.
		rep = check(t, srv, &netlify.DeployChecker{StuckAfter: 2 * time.Hour})
		assert.Equal(t, redundancy.StatusHealthy, rep.Status)
	})
	t.Run("nothing published", func(t *testing.T) {
		t.Parallel()
		srv, _ := newSite(t)
		rep := check(t, srv, nil)
		assert.Equal(t, map[string]redundancy.Problem{"site-1": netlify.ProblemNoPublishedDeploy}, problems(rep))
	})
	t.Run("schedules", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1", CreatedAt: t0, FunctionSchedules: []netlify.FunctionSchedule{
			{Name: "nightly", Cron: "@hourly"}, {Name: "old", Cron: "@daily"}, {Name: "ok", Cron: "0 * * * *"},
		}}, true)
		mp := filepath.Join(t.TempDir(), "manifest.json")
		require.NoError(t, os.WriteFile(mp, []byte(`{"functions":[{"name":"nightly","schedule":"@daily"},{"name":"ok","schedule":"0 * * * *"},{"name":"weekly","schedule":"@weekly"},{"name":"plain"}],"timestamp":1,"version":1}`), 0o644))
		rep := check(t, srv, &netlify.DeployChecker{ManifestPath: mp})
		assert.Equal(t, map[string]redundancy.Problem{
			"nightly": netlify.ProblemScheduleMismatch,
			"old":     netlify.ProblemScheduleMismatch,
			"weekly":  netlify.ProblemScheduleMismatch,
		}, problems(rep))
		assert.Equal(t, redundancy.StatusDegraded, rep.Status)
	})
	t.Run("API unreachable is Err, unknown", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)
		srv.FailNext("GET /api/v1/sites/"+site, netlifytest.ServerError())
		rep := check(t, srv, nil)
		require.Error(t, rep.Err)
		assert.Equal(t, redundancy.StatusUnknown, rep.Status)
		var ae *netlify.APIError
		require.ErrorAs(t, rep.Err, &ae)
		assert.Equal(t, 500, ae.StatusCode)
	})
	t.Run("malformed answer is Err", func(t *testing.T) {
		t.Parallel()
		srv, site := newSite(t)
		srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)
		srv.FailNext("GET /api/v1/sites/"+site+"/deploys", netlifytest.Malformed())
		rep := check(t, srv, nil)
		require.ErrorIs(t, rep.Err, netlify.ErrMalformedResponse)
		assert.Equal(t, redundancy.StatusUnknown, rep.Status)
	})
}
