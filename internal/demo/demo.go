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
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// Compose loads the configuration file at path and builds the system
// from it, as a command does (its Load and Build).
type Compose func(ctx context.Context, path string, b launch.Build) (*launch.System, launch.Settings, error)

// Options configures Run.
type Options struct {
	// Name and Title name the command (its dashboard's heading).
	Name, Title string
	// Compose builds the command's system from the demo's configuration.
	Compose Compose
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

	p.say("uras demo: %s for %s against an embedded environment", o.Name, o.Duration)
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

	path, err := writeConfig(dir, pm, gh, nf, alerts.URL)
	if err != nil {
		return fmt.Errorf("demo: config: %w", err)
	}
	red := redundancy.NewRedactor()
	logs, err := launch.OpenLogs(launch.LogOptions{Path: filepath.Join(dir, "logs", o.LogFile), Level: slog.LevelDebug, Redactor: red})
	if err != nil {
		return err
	}
	defer logs.Close()
	b := launch.Build{Logger: logs.Logger, Redactor: red, Getenv: func(k string) string { return demoEnv[k] }, Metrics: metrics.New()}
	sys, set, err := o.Compose(ctx, path, b)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	red.Add(set.Secrets...)
	var closeOnce sync.Once
	closeSys := func(d time.Duration) {
		closeOnce.Do(func() {
			if sys.Close == nil {
				return
			}
			cctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			_ = sys.Close(cctx)
		})
	}
	defer closeSys(10 * time.Second)
	if pm.Fake != nil {
		if err := addFakePM2(ctx, sys, pm.Fake, b); err != nil {
			return fmt.Errorf("demo: pm2: %w", err)
		}
	}
	status := func() launch.Status {
		st := sys.Status()
		st.Mode, st.Title = o.Name, o.Title
		return st
	}

	faulted := make(chan struct{})
	tl := newTimeline([]string{"pm2", "github", "netlify"})
	systemOf := systems(sys)
	recovered := map[string]int{}
	var mu sync.Mutex
	cancelSub := subscribe(sys, func(e redundancy.Event) {
		select {
		case <-faulted:
		default:
			return
		}
		tl.event(systemOf[e.Target], e)
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
		case redundancy.EventRecoveryStarted:
			p.say("plan      %s: %s", e.Target, strings.Join(e.Plan, "; "))
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
	p.say("  %s: health endpoint %s; webhook alerts (if the command sends them) to %s; state in %s", o.Name, healthURL, alerts.URL, stateDir(dir))

	runCtx, stopRun := context.WithCancel(ctx)
	runDone, watchDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(runDone); _ = sys.Root.Run(runCtx) }()
	go func() { // event sources beside the targets' own (Target.Source), if the command has any
		defer close(watchDone)
		if sys.Watch != nil {
			_ = sys.Watch(runCtx)
		}
	}()
	defer func() { stopRun(); <-runDone; <-watchDone }()

	end := p.start.Add(o.Duration)
	if !waitFor(ctx, time.Now().Add(60*time.Second), func() bool { st := status(); return st.Status == redundancy.StatusHealthy && checkedAll(st) },
		func(waited time.Duration) {
			p.say("waiting   %.0fs for the baseline: %s", waited.Seconds(), status().Status)
		}) {
		launch.Render(o.Out, status())
		return fmt.Errorf("demo: the environment did not come up healthy: %w", ErrNotRecovered)
	}
	p.say("baseline: every system healthy")
	launch.Render(o.Out, status())
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
		// The root's own view too: a master sees its systems healthy at its next check.
		return len(done) == len(checks) && status().Status == redundancy.StatusHealthy && sys.Root.Snapshot().Status == redundancy.StatusHealthy
	}, func(waited time.Duration) {
		p.say("waiting   %.0fs after the faults: %s", waited.Seconds(), tl.progress())
	})
	if allDone {
		p.say("all faults recovered %.1fs after injection; watching until the end", time.Since(injected).Seconds())
		sleepUntil(ctx, end)
	}
	p.say("final dashboard") // while the monitor still runs: its event sources are still followed
	final := status()
	launch.Render(o.Out, final)
	tl.render(o.Out)
	code, ctype, hstatus := probeHealth(healthURL)
	p.say("health endpoint: GET %s → %d %s, status %q", healthURL, code, ctype, hstatus)
	stopRun()
	<-runDone
	closeSys(5 * time.Second) // deliver queued alerts and reports
	states, _ := filepath.Glob(filepath.Join(stateDir(dir), "state-*.json"))
	escalations, _ := filepath.Glob(filepath.Join(stateDir(dir), "escalations", "*.json"))
	if n := alerts.n.Load(); n+int64(len(states)+len(escalations)) > 0 {
		p.say("%s: %d webhook alerts delivered, %d state files persisted, %d escalation reports", o.Name, n, len(states), len(escalations))
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

func checkedAll(st launch.Status) bool {
	for _, ss := range st.Parts {
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

// demoPolicy is the policy of every demo target (the file's policy).
var demoPolicy = redundancy.PolicyConfig{
	Interval: time.Second, Timeout: 20 * time.Second, FailureThreshold: 1, SuccessThreshold: 1,
	Retries: ptr(1), RetryDelay: 200 * time.Millisecond, ActionTimeout: 60 * time.Second,
	Backoff: redundancy.BackoffConfig{Base: time.Second, Max: 5 * time.Second, Jitter: ptr(0.0)},
	Budget:  redundancy.BudgetConfig{Max: 5, Window: time.Minute},
}

func ptr[T any](v T) *T { return &v }

var configTemplate = template.Must(template.New("demo").Parse(`
logs: {dir: {{.Dir}}/logs, level: debug}
state: {dir: {{.State}}}
policy:
{{.Policy}}
{{- if .PM2Home}}
pm2:
  home: {{.PM2Home}}
  binary: {{.PM2Bin}}
  client: auto
  apps: [{name: web}, {name: worker}]
  limits: {min_free: "off"}
{{- end}}
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
  webhooks: [{url: "{{.AlertURL}}/alerts?token=demo-webhook-secret"}]
`))

// demoEnv is the environment the demo's Build reads its tokens from.
var demoEnv = map[string]string{
	"URAS_DEMO_GITHUB_TOKEN":  "ghp_demoToken0123456789abcdefghij",
	"URAS_DEMO_NETLIFY_TOKEN": netlifytest.DefaultToken,
}

func stateDir(dir string) string { return filepath.Join(dir, "state") }

// writeConfig writes the environment's configuration file, which the
// command loads as it loads a user's. With the PM2 fake there is no pm2
// section: addFakePM2 adds the PM2 target.
func writeConfig(dir string, pm *pm2Env, gh *githubEnv, nf *netlifyEnv, alertURL string) (string, error) {
	pol, err := yaml.Marshal(demoPolicy)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	data := map[string]string{"Dir": dir, "State": stateDir(dir), "Policy": "  " + strings.ReplaceAll(strings.TrimSpace(string(pol)), "\n", "\n  "),
		"GitHubURL": gh.Srv.URL(), "SiteURL": nf.Srv.URL(), "NetlifyAPI": nf.Srv.APIURL(),
		"FunctionsDir": nf.FunctionsDir, "Manifest": nf.Manifest, "AlertURL": alertURL}
	if pm.Real {
		data["PM2Home"], data["PM2Bin"] = pm.Home, pm.Bin
	}
	if err := configTemplate.Execute(&b, data); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "demo.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// addFakePM2 adds a PM2 target over the in-memory fake beside the
// command's targets, composed as the command composes its systems: its
// own orchestrator under the root when the command nests them, else in
// the root.
func addFakePM2(ctx context.Context, sys *launch.System, fake pm2.Client, b launch.Build) error {
	g, err := pm2.NewTargets(ctx, &pm2.TargetConfig{Apps: []pm2.AppConfig{{Name: appWeb}, {Name: appWorker}}, Policy: demoPolicy},
		pm2.WithClient(fake), pm2.WithLogger(b.Logger("pm2")))
	if err != nil {
		return err
	}
	nested := false
	for _, p := range sys.Parts {
		nested = nested || p.Orch != sys.Root
	}
	orch := sys.Root
	if nested {
		orch = redundancy.New(b.Options("pm2")...)
	}
	part := launch.Part{Name: g.Name, Orch: orch}
	for _, t := range g.Targets {
		if err := orch.Add(t); err != nil {
			return err
		}
		part.Targets = append(part.Targets, t.Name)
	}
	if nested {
		part.Targets = nil
		if err := sys.Root.Add(redundancy.Nest(g.Name, orch, redundancy.Policy{})); err != nil {
			return err
		}
	}
	if len(sys.Parts) > 0 || nested {
		sys.Parts = append([]launch.Part{part}, sys.Parts...)
	}
	var notes []string
	for _, n := range sys.Notes {
		if !strings.HasPrefix(n, g.Name+": ") {
			notes = append(notes, n)
		}
	}
	sys.Notes = notes
	return nil
}

// subscribe calls fn with the events of the orchestrators that hold the
// targets (the parts'; the root's when there are none), and returns the
// function that cancels it.
func subscribe(sys *launch.System, fn func(redundancy.Event)) func() {
	var orchs []*redundancy.Orchestrator
	for _, p := range sys.Parts {
		if !slices.Contains(orchs, p.Orch) {
			orchs = append(orchs, p.Orch)
		}
	}
	if len(orchs) == 0 {
		orchs = append(orchs, sys.Root)
	}
	var cancels []func()
	for _, o := range orchs {
		cancels = append(cancels, o.Subscribe(fn))
	}
	return func() {
		for _, c := range cancels {
			c()
		}
	}
}

// systems maps every target name of sys, nested orchestrators' included,
// to the system (the part) it belongs to.
func systems(sys *launch.System) map[string]string {
	out := map[string]string{}
	for _, p := range sys.Parts {
		out[p.Name] = p.Name // a master's target for the system
		names := p.Targets
		if names == nil {
			names = p.Orch.Names()
		}
		for _, n := range names {
			out[n] = p.Name
		}
	}
	return out
}
