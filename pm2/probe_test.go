package pm2_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// probeChecker checks one app "web" with probe, run by a process started
// at started (this test process: its pid runs) at clock time now.
func probeChecker(t *testing.T, probe *pm2.Probe, proc pm2.Process, now time.Time) *pm2.Checker {
	t.Helper()
	proc.Name = "web"
	fake := pm2test.NewFakeClient(proc)
	return pm2.NewChecker(fake, pm2.Config{Apps: []pm2.App{{Name: "web", Probe: probe}},
		Clock: redundancytest.NewFakeClock(now), LogMaxBytes: -1, MinFreeBytes: -1, DaemonLogMaxBytes: -1})
}

func details(r redundancy.Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.Detail + "\n")
	}
	return b.String()
}

func TestProbeTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	self := pm2.Process{PID: os.Getpid(), StartedAt: t0}
	c := probeChecker(t, &pm2.Probe{Port: port}, self, t0.Add(time.Minute))
	assert.Empty(t, problems(c.Check(context.Background())), "the port accepts")

	require.NoError(t, ln.Close())
	<-done // the socket closes once the pending Accept has returned
	r := c.Check(context.Background())
	assert.Equal(t, []string{"web pm2.probe-failed"}, problems(r))
	assert.Equal(t, redundancy.StatusUnhealthy, r.Findings[0].Status)
	assert.Contains(t, r.Findings[0].Detail, "PM2 says online, but port 127.0.0.1:")
	assert.Contains(t, r.Findings[0].Detail, "refuses connections")

	// Within the grace after a (re)start, a closed port is not yet a finding.
	c = probeChecker(t, &pm2.Probe{Port: port, Grace: time.Minute}, self, t0.Add(30*time.Second))
	assert.Empty(t, problems(c.Check(context.Background())))
}

func TestProbeHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("fine"))
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	self := pm2.Process{PID: os.Getpid(), StartedAt: t0}
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		probe pm2.Probe
		fails string
	}{
		{pm2.Probe{URL: srv.URL + "/ok"}, ""},
		{pm2.Probe{URL: srv.URL + "/moved"}, ""}, // a redirect answers; it is not followed
		{pm2.Probe{URL: srv.URL + "/teapot", ExpectStatus: http.StatusTeapot}, ""},
		{pm2.Probe{URL: srv.URL + "/ok", ExpectStatus: http.StatusNoContent}, "status 200, want 204"},
		{pm2.Probe{URL: srv.URL + "/health?token=s3cr3t"}, "status 503, want 2xx or 3xx"},
		{pm2.Probe{URL: strings.Replace(srv.URL, "http://", "http://user:pa55@", 1) + "/health"}, "status 503"},
	} {
		c := probeChecker(t, &tc.probe, self, now)
		r := c.Check(context.Background())
		if tc.fails == "" {
			assert.Empty(t, problems(r), tc.probe.URL)
			continue
		}
		assert.Equal(t, []string{"web pm2.probe-failed"}, problems(r), tc.probe.URL)
		assert.Contains(t, details(r), tc.fails)
		assert.NotContains(t, details(r), "s3cr3t")
		assert.NotContains(t, details(r), "pa55")
	}

	// An address nobody answers on: the error names the URL without its query.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String() + "/x?token=s3cr3t"
	require.NoError(t, ln.Close())
	r := probeChecker(t, &pm2.Probe{URL: dead}, self, now).Check(context.Background())
	assert.Equal(t, []string{"web pm2.probe-failed"}, problems(r))
	assert.NotContains(t, details(r), "s3cr3t")
	assert.Contains(t, details(r), "GET http://"+ln.Addr().String()+"/x:")
}

// fixedList is a client whose List returns procs as they are (the fake
// gives an online process a pid).
type fixedList struct {
	*pm2test.FakeClient
	procs []pm2.Process
}

func (f fixedList) List(context.Context) ([]pm2.Process, error) { return f.procs, nil }

func TestProbeOnlineButDead(t *testing.T) {
	t.Parallel()
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	for _, pid := range []int{0, gone.Process.Pid} {
		client := fixedList{pm2test.NewFakeClient(), []pm2.Process{{Name: "web", Status: pm2.StatusOnline, PID: pid, StartedAt: t0}}}
		c := pm2.NewChecker(client, pm2.Config{Apps: []pm2.App{{Name: "web", Probe: &pm2.Probe{Port: 1}}},
			Clock: redundancytest.NewFakeClock(t0.Add(time.Hour)), LogMaxBytes: -1, MinFreeBytes: -1})
		r := c.Check(context.Background())
		assert.Equal(t, []string{"web pm2.online-dead"}, problems(r), "pid %d", pid)
		assert.Contains(t, details(r), "does not run")
	}
}

func TestProbeInvalid(t *testing.T) {
	t.Parallel()
	for _, p := range []pm2.Probe{{}, {Port: 70000}, {URL: "ftp://x/"}, {URL: "/relative"}, {Port: 80, ExpectStatus: 42}, {Port: 80, Timeout: -1}} {
		require.Error(t, p.Validate(), "%+v", p)
		assert.True(t, strings.HasPrefix(p.Validate().Error(), "pm2: probe: "))
		r := probeChecker(t, &p, pm2.Process{PID: os.Getpid(), StartedAt: t0}, t0.Add(time.Hour)).Check(context.Background())
		assert.Equal(t, []string{"web pm2.probe-invalid"}, problems(r))
		assert.Equal(t, redundancy.StatusDegraded, r.Findings[0].Status)
	}
	require.NoError(t, pm2.Probe{Port: 3000, URL: "https://localhost:3000/health", ExpectStatus: 204}.Validate())
}

func TestProbeNotRunForNotOnline(t *testing.T) {
	t.Parallel()
	// A stopped app with a probe on a closed port: the stopped finding
	// says it; the probe is not run (and no port-held without EADDRINUSE).
	c := probeChecker(t, &pm2.Probe{Port: 1}, pm2.Process{Status: pm2.StatusStopped, StartedAt: t0}, t0.Add(time.Hour))
	assert.Equal(t, []string{"web pm2.stopped"}, problems(c.Check(context.Background())))
}
