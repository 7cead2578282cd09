package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// Options configures Run.
type Options struct {
	// Layout composes the orchestrators as the command would.
	Layout system.Layout
	// LogFile names the demo's log file (in its temporary directory).
	LogFile string
	// Duration is how long the demo runs (default 30s); faults are injected
	// after a sixth of it. Recovery may take up to Grace longer.
	Duration time.Duration
	// Grace is how long past Duration the demo waits for recoveries
	// (default 30s).
	Grace time.Duration
	// FakePM2 uses the pm2test fake even when pm2 is installed.
	FakePM2 bool
	// Out receives the story.
	Out io.Writer
}

// ErrNotRecovered is returned by Run when a fault was not recovered.
var ErrNotRecovered = errors.New("not every fault was recovered")

// Run runs the demo and returns nil only if every fault was recovered and
// everything ended healthy.
func Run(ctx context.Context, o Options) error {
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	p := &printer{w: o.Out, start: time.Now()}
	dir, err := os.MkdirTemp("", "uras-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			p.say("cleanup: %v", err)
		}
	}()

	p.say("uras demo: %s mode for %s against an embedded environment", o.Layout, o.Duration)
	p.say("policies: check every 1s, recover on the first failure, backoff 1s doubling, budget 5 per minute")
	pm, err := startPM2(ctx, dir, o.FakePM2)
	if err != nil {
		return fmt.Errorf("demo: pm2: %w", err)
	}
	defer func() { pm.Close(); p.say("cleanup: PM2 daemon killed, temporary files removed") }()
	gh := startGitHub()
	defer gh.Close()
	nf, err := startNetlify(dir)
	if err != nil {
		return fmt.Errorf("demo: netlify: %w", err)
	}
	defer nf.Close()
	alerts := startAlerts()
	defer alerts.Close()

	if pm.Real {
		v := pm.Version(ctx)
		p.say("  pm2:     real PM2 %s daemon in %s (apps web, worker)", v, pm.Home)
	} else {
		p.say("  pm2:     FAKE PM2 (the in-memory pm2test fake; no real daemon): %s", pm.Why)
	}
	p.say("  github:  fake GitHub (ghtest) at %s, repository %s/%s (workflows ci.yml, nightly.yml)", gh.Srv.URL(), ghOwner, ghRepo)
	p.say("  netlify: fake Netlify (netlifytest) at %s, site %s, function %s", nf.Srv.URL(), siteID, fnHello)

	cfg, err := demoConfig(dir, pm, gh, nf, alerts.URL)
	if err != nil {
		return fmt.Errorf("demo: config: %w", err)
	}
	red := redundancy.NewRedactor(cfg.Secrets()...)
	logs, err := launch.OpenLogs(launch.LogOptions{Path: filepath.Join(cfg.Logs.Dir, o.LogFile), Level: mustLevel(cfg), Redactor: red})
	if err != nil {
		return err
	}
	defer logs.Close()

	faulted := make(chan struct{})
	tl := newTimeline(config.Systems)
	var sysRef atomic.Pointer[system.System] // set once built; plans come only after
	deps := system.Deps{Logger: logs.Logger, OnPlan: func(target string, actions []redundancy.Action) {
		select {
		case <-faulted:
		default:
			return
		}
		if s := sysRef.Load(); s != nil {
			tl.plan(s.SystemOf(target), time.Now())
		}
		steps := make([]string, len(actions))
		for i, a := range actions {
			steps[i] = a.String()
		}
		p.say("plan      %s: %s", target, strings.Join(steps, "; "))
	}}
	if pm.Fake != nil {
		deps.PM2Client = pm.Fake
	}
	sys, err := system.Build(ctx, cfg, o.Layout, system.BuildOptions{Logger: logs.Logger(""), Deps: deps, Redactor: red})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sysRef.Store(sys)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sys.Close(cctx)
	}()
	recovered := map[string]int{}
	var mu sync.Mutex
	cancelSub := sys.Subscribe(func(_ system.Part, e redundancy.Event) {
		select {
		case <-faulted:
		default:
			return
		}
		tl.event(sys.SystemOf(e.Target), e)
		switch e.Kind {
		case redundancy.EventStatusChanged:
			if e.To == redundancy.StatusHealthy {
				p.say("healthy   %s (was %s)", e.Target, e.From)
				return
			}
			p.say("detected  %s: %s → %s: %s", e.Target, e.From, e.To, e.Report.Summary)
			for _, f := range e.Report.Findings {
				p.say("            %s", clip(f.String(), 110))
			}
		case redundancy.EventActionSucceeded:
			p.say("  done    %s", e.Action)
		case redundancy.EventActionFailed:
			p.say("  FAILED  %s: %v", e.Action, e.Err)
		case redundancy.EventRecoverySucceeded:
			mu.Lock()
			recovered[e.Target]++
			mu.Unlock()
			p.say("recovered %s (attempt %d)", e.Target, e.Attempt)
		case redundancy.EventRecoveryFailed:
			p.say("recovery of %s failed (attempt %d): %v", e.Target, e.Attempt, e.Err)
		case redundancy.EventEscalated:
			p.say("ESCALATED %s: budget spent", e.Target)
		}
	})
	defer cancelSub()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sys.Root.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	healthURL := "http://" + ln.Addr().String() + "/health"
	if o.Layout == system.Ultimate {
		p.say("  ultimate: webhook alerts to %s, state in %s, health endpoint %s", alerts.URL, cfg.State.Dir, healthURL)
	}

	runCtx, stopRun := context.WithCancel(ctx)
	runDone, watchDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(runDone); _ = sys.Root.Run(runCtx) }()
	go func() { defer close(watchDone); _ = sys.Watch(runCtx) }() // PM2 events, with the native client
	defer func() { stopRun(); <-runDone; <-watchDone }()

	end := p.start.Add(o.Duration)
	if !waitFor(ctx, time.Now().Add(60*time.Second), func() bool { return sys.Status().Status == redundancy.StatusHealthy && checkedAll(sys) },
		func(waited time.Duration) {
			p.say("waiting   %.0fs for the baseline: %s", waited.Seconds(), sys.Status().Status)
		}) {
		system.Render(o.Out, sys.Status())
		return fmt.Errorf("demo: the environment did not come up healthy: %w", ErrNotRecovered)
	}
	p.say("baseline: every system healthy")
	system.Render(o.Out, sys.Status())
	injectAt := p.start.Add(o.Duration / 6)
	if !sleepUntil(ctx, injectAt) {
		return ctx.Err()
	}

	p.say("injecting faults")
	what, err := pm.KillWorker(ctx)
	if err != nil {
		return fmt.Errorf("demo: inject pm2 fault: %w", err)
	}
	tl.fault("pm2", time.Now())
	p.say("fault     pm2: %s", what)
	tl.fault("github", time.Now())
	p.say("fault     github: %s", gh.Break())
	tl.fault("netlify", time.Now())
	p.say("fault     netlify: %s", nf.Break())
	close(faulted)
	injected := time.Now()

	checks := []struct {
		name string
		ok   func() bool
	}{
		{"pm2", func() bool { return pm.Recovered(ctx) }},
		{"github", gh.Recovered},
		{"netlify", func() bool { return nf.Recovered(ctx) }},
	}
	done := map[string]time.Duration{}
	allDone := waitFor(ctx, end.Add(o.Grace), func() bool {
		for _, c := range checks {
			if _, ok := done[c.name]; !ok && c.ok() {
				done[c.name] = time.Since(injected)
				p.say("verified  %s: fault repaired %.1fs after injection", c.name, done[c.name].Seconds())
			}
		}
		return len(done) == len(checks) && sys.Status().Status == redundancy.StatusHealthy
	}, func(waited time.Duration) {
		p.say("waiting   %.0fs after the faults: %s", waited.Seconds(), tl.progress())
	})
	if allDone {
		p.say("all faults recovered %.1fs after injection; watching until the end", time.Since(injected).Seconds())
		sleepUntil(ctx, end)
	}
	stopRun()
	<-runDone

	p.say("final dashboard")
	final := sys.Status()
	system.Render(o.Out, final)
	tl.render(o.Out)
	code, ctype, hstatus := probeHealth(healthURL)
	p.say("health endpoint: GET %s → %d %s, status %q", healthURL, code, ctype, hstatus)
	if o.Layout == system.Ultimate {
		deadline, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = sys.Close(deadline)
		cancel()
		states, _ := filepath.Glob(filepath.Join(cfg.State.Dir, "state-*.json"))
		escalations, _ := filepath.Glob(filepath.Join(sys.EscalationDir, "*.json"))
		p.say("ultimate: %d webhook alerts delivered, %d state files persisted, %d escalation reports", alerts.n.Load(), len(states), len(escalations))
	}
	var missing []string
	for _, c := range checks {
		if _, ok := done[c.name]; !ok {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 || final.Status != redundancy.StatusHealthy {
		p.say("RESULT: FAILED (not recovered: %s; final status %s)", strings.Join(missing, ", "), final.Status)
		return ErrNotRecovered
	}
	p.say("RESULT: every fault recovered (pm2 %.1fs, github %.1fs, netlify %.1fs); total %.1fs",
		done["pm2"].Seconds(), done["github"].Seconds(), done["netlify"].Seconds(), time.Since(p.start).Seconds())
	return nil
}

func checkedAll(sys *system.System) bool {
	for _, ss := range sys.Status().Parts {
		for _, t := range ss.Targets {
			if t.LastCheck.IsZero() {
				return false
			}
		}
	}
	return true
}

func probeHealth(url string) (int, string, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error(), ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body.Status
}

// beatEvery is how often the demo says it is still waiting.
const beatEvery = 5 * time.Second

// waitFor polls cond until it holds or the deadline passes, calling beat
// with the time waited every beatEvery meanwhile.
func waitFor(ctx context.Context, deadline time.Time, cond func() bool, beat func(waited time.Duration)) bool {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	start, lastBeat := time.Now(), time.Now()
	for {
		if cond() {
			return true
		}
		if time.Since(lastBeat) >= beatEvery {
			lastBeat = time.Now()
			beat(time.Since(start))
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func mustLevel(cfg *config.Config) slog.Level {
	l, _ := cfg.Logs.Level.Parse()
	return l
}

var configTemplate = template.Must(template.New("demo").Parse(`
logs: {dir: {{.Dir}}/logs, level: debug}
state: {dir: {{.Dir}}/state}
policy:
  interval: 1s
  timeout: 20s
  failure_threshold: 1
  success_threshold: 1
  retries: 1
  retry_delay: 200ms
  action_timeout: 60s
  backoff: {base: 1s, max: 5s, jitter: 0}
  budget: {max: 5, window: 1m}
pm2:
{{- if .PM2Home}}
  home: {{.PM2Home}}
  binary: {{.PM2Bin}}
{{- end}}
  client: auto
  apps: [{name: web}, {name: worker}]
  limits: {min_free_mb: -1}
github:
  api_url: {{.GitHubURL}}
  token_env: URAS_DEMO_GITHUB_TOKEN
  repos:
    - {owner: demo, name: app, branch: main, max_reruns: 2}
netlify:
  site_id: demo-site
  site_url: {{.SiteURL}}
  api_url: {{.NetlifyAPI}}
  token_env: URAS_DEMO_NETLIFY_TOKEN
  functions_dir: {{.FunctionsDir}}
  manifest: {{.Manifest}}
  probes: [{name: hello, body_contains: hello}]
alerts:
  webhooks: [{url_env: URAS_DEMO_WEBHOOK}]
`))

// demoConfig writes the environment's configuration as YAML and loads it
// the way a user's file is loaded.
func demoConfig(dir string, pm *pm2Env, gh *githubEnv, nf *netlifyEnv, alertURL string) (*config.Config, error) {
	var b strings.Builder
	data := map[string]string{"Dir": dir, "GitHubURL": gh.Srv.URL(), "SiteURL": nf.Srv.URL(), "NetlifyAPI": nf.Srv.APIURL(),
		"FunctionsDir": nf.FunctionsDir, "Manifest": nf.Manifest}
	if pm.Real {
		data["PM2Home"], data["PM2Bin"] = pm.Home, pm.Bin
	}
	if err := configTemplate.Execute(&b, data); err != nil {
		return nil, err
	}
	env := map[string]string{
		"URAS_DEMO_GITHUB_TOKEN":  "ghp_demoToken0123456789abcdefghij",
		"URAS_DEMO_NETLIFY_TOKEN": netlifytest.DefaultToken,
		"URAS_DEMO_WEBHOOK":       alertURL + "/alerts?token=demo-webhook-secret",
	}
	return config.Parse(filepath.Join(dir, "demo.yaml"), []byte(b.String()), func(k string) string { return env[k] })
}
