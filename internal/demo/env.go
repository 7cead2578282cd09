package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// The demo environment's names.
const (
	appWeb     = "web"
	appWorker  = "worker" // autorestart off: PM2 leaves it down when it dies
	ghOwner    = "demo"
	ghRepo     = "app"
	siteID     = "demo-site"
	fnHello    = "hello"
	deployOld  = "deploy-1"
	deployLive = "deploy-2"
	deployBad  = "deploy-3"
)

const upJS = `// A demo app: stays online until stopped.
setInterval(() => {}, 1 << 30);
process.on('SIGINT', () => process.exit(0));
`

// pm2Env is the PM2 part: a real daemon or the fake.
type pm2Env struct {
	Real bool
	Why  string // why the fake is used
	Bin  string
	Home string
	Fake *pm2test.FakeClient
	cli  *pm2.CLI
	dir  string
	mu   sync.Mutex
	pids map[int]bool
}

// startPM2 starts a real PM2 daemon in dir/h with the demo apps, or the
// fake when pm2 or node is missing (or forceFake).
func startPM2(ctx context.Context, dir string, forceFake bool) (*pm2Env, error) {
	e := &pm2Env{dir: dir, pids: map[int]bool{}}
	bin, err := pm2test.LookPM2()
	if err == nil {
		if _, nerr := exec.LookPath("node"); nerr != nil {
			err = errors.New("node is not on PATH")
		}
	}
	switch {
	case forceFake:
		e.Why = "asked for with -fake-pm2"
	case err != nil:
		e.Why = err.Error()
	}
	if e.Why != "" {
		e.Fake = pm2test.NewFakeClient(pm2.Process{Name: appWeb, Autorestart: true}, pm2.Process{Name: appWorker})
		return e, nil
	}
	e.Real, e.Bin, e.Home = true, bin, filepath.Join(dir, "h")
	if err := os.MkdirAll(e.Home, 0o755); err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "up.js")
	if err := os.WriteFile(script, []byte(upJS), 0o644); err != nil {
		return nil, err
	}
	no := false
	eco, err := json.MarshalIndent(map[string]any{"apps": []map[string]any{
		{"name": appWeb, "script": script},
		{"name": appWorker, "script": script, "autorestart": &no},
	}}, "", "  ")
	if err != nil {
		return nil, err
	}
	ecoPath := filepath.Join(dir, "ecosystem.json")
	if err := os.WriteFile(ecoPath, eco, 0o644); err != nil {
		return nil, err
	}
	e.cli = pm2.NewCLI(pm2.WithBinary(bin), pm2.WithHome(e.Home), pm2.WithTimeout(60*time.Second))
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := e.cli.StartEcosystem(sctx, ecoPath); err != nil {
		e.Close()
		return nil, fmt.Errorf("start the PM2 daemon: %w", err)
	}
	// Saved twice, as a daemon that has run a while is: PM2 keeps the
	// previous list as dump.pm2.bak on the second save, so the baseline
	// has a complete backup and nothing to repair.
	for range 2 {
		if err := e.cli.Save(sctx); err != nil {
			e.Close()
			return nil, fmt.Errorf("pm2 save: %w", err)
		}
	}
	e.remember(sctx)
	return e, nil
}

// Client is the client the demo's own checks use.
func (e *pm2Env) Client() pm2.Client {
	if e.Fake != nil {
		return e.Fake
	}
	return e.cli
}

func (e *pm2Env) remember(ctx context.Context) {
	procs, err := e.Client().List(ctx)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range procs {
		if p.PID > 0 {
			e.pids[p.PID] = true
		}
	}
}

// Version returns the daemon's version, if known.
func (e *pm2Env) Version(ctx context.Context) string {
	if e.Fake != nil {
		return ""
	}
	info, err := e.cli.Ping(ctx)
	if err != nil {
		return ""
	}
	return info.Version
}

// KillWorker kills the worker app as a crash would.
func (e *pm2Env) KillWorker(ctx context.Context) (string, error) {
	if e.Fake != nil {
		e.Fake.Crash(appWorker)
		return "worker crashed past its restart limit (fake PM2: status errored)", nil
	}
	procs, err := e.cli.List(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range procs {
		if p.Name == appWorker && p.PID > 0 {
			if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
				return "", fmt.Errorf("kill worker (pid %d): %w", p.PID, err)
			}
			return fmt.Sprintf("killed worker (pid %d) with SIGKILL; its autorestart is off, so PM2 leaves it down", p.PID), nil
		}
	}
	return "", errors.New("worker has no pid")
}

// Recovered reports whether every demo app is online.
func (e *pm2Env) Recovered(ctx context.Context) bool {
	procs, err := e.Client().List(ctx)
	if err != nil {
		return false
	}
	online := 0
	for _, p := range procs {
		if (p.Name == appWeb || p.Name == appWorker) && p.Status == pm2.StatusOnline {
			online++
		}
	}
	e.remember(ctx)
	return online == 2
}

// Close kills the daemon (pm2 kill on the temporary PM2_HOME) and any app
// process it left behind.
func (e *pm2Env) Close() {
	if !e.Real {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.remember(ctx)
	cmd := exec.CommandContext(ctx, e.Bin, "kill")
	cmd.Env = append(withoutPM2Home(os.Environ()), "PM2_HOME="+e.Home)
	cmd.WaitDelay = 5 * time.Second
	_ = cmd.Run()
	if b, err := os.ReadFile(filepath.Join(e.Home, pm2.PIDFile)); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && e.ours(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for pid := range e.pids {
		if e.ours(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// ours reports whether pid is alive and runs from the demo's directory,
// so that a recycled pid is never killed.
func (e *pm2Env) ours(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return err == nil && strings.Contains(string(b), e.dir)
}

func withoutPM2Home(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PM2_HOME=") {
			out = append(out, kv)
		}
	}
	return out
}

// githubEnv is the fake GitHub with one repository.
type githubEnv struct {
	Srv         *ghtest.Server
	ci, nightly int64
	failedRun   int64
	stopRunner  chan struct{}
	runnerDone  chan struct{}
}

func startGitHub() *githubEnv {
	srv := ghtest.NewServer()
	g := &githubEnv{Srv: srv, stopRunner: make(chan struct{}), runnerDone: make(chan struct{})}
	g.ci = srv.AddWorkflow(ghOwner, ghRepo, ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	g.nightly = srv.AddWorkflow(ghOwner, ghRepo, ghtest.Workflow{Name: "Nightly", Path: ".github/workflows/nightly.yml"})
	srv.AddRun(ghOwner, ghRepo, ghtest.Run{WorkflowID: g.ci, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	srv.AddRun(ghOwner, ghRepo, ghtest.Run{WorkflowID: g.nightly, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	go g.runner()
	return g
}

// runner plays GitHub's runners: a queued or running run (a re-run)
// succeeds shortly after.
func (g *githubEnv) runner() {
	defer close(g.runnerDone)
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-g.stopRunner:
			return
		case <-t.C:
		}
		for _, r := range g.Srv.Runs(ghOwner, ghRepo) {
			if r.Status == ghactions.RunQueued || r.Status == ghactions.RunInProgress {
				g.Srv.CompleteRun(r.ID, ghactions.ConclusionSuccess)
			}
		}
	}
}

// Break disables the nightly workflow and fails a CI run.
func (g *githubEnv) Break() string {
	g.Srv.SetWorkflowState(g.nightly, ghactions.WorkflowDisabledInactivity)
	g.failedRun = g.Srv.AddRun(ghOwner, ghRepo, ghtest.Run{WorkflowID: g.ci, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	return fmt.Sprintf("disabled nightly.yml (disabled_inactivity); CI run %d on main failed", g.failedRun)
}

// Recovered reports whether the workflow is active again and the failed
// run was re-run to success.
func (g *githubEnv) Recovered() bool {
	w, ok := g.Srv.Workflow(g.nightly)
	if !ok || w.State != ghactions.WorkflowActive {
		return false
	}
	r, ok := g.Srv.Run(g.failedRun)
	return ok && r.Attempt > 1 && r.Conclusion == ghactions.ConclusionSuccess
}

func (g *githubEnv) Close() {
	close(g.stopRunner)
	<-g.runnerDone
	g.Srv.Close()
}

// netlifyEnv is the fake Netlify with one site and a functions checkout.
type netlifyEnv struct {
	Srv          *netlifytest.Server
	FunctionsDir string
	Manifest     string
}

func startNetlify(dir string) (*netlifyEnv, error) {
	srv := netlifytest.NewServer()
	n := &netlifyEnv{Srv: srv, FunctionsDir: filepath.Join(dir, "site", "netlify", "functions"),
		Manifest: filepath.Join(dir, "site", netlify.DefaultManifestPath)}
	srv.AddSite(netlify.Site{ID: siteID, Name: siteID})
	base := time.Now().Add(-2 * time.Hour)
	srv.AddDeploy(siteID, netlify.Deploy{ID: deployOld, CreatedAt: base}, false)
	srv.AddDeploy(siteID, netlify.Deploy{ID: deployLive, CreatedAt: base.Add(time.Hour)}, true)
	srv.SetFunction(fnHello, netlifytest.Function{Body: "hello from the demo"})
	if err := os.MkdirAll(n.FunctionsDir, 0o755); err != nil {
		srv.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(n.FunctionsDir, fnHello+".mts"), []byte("export default () => new Response('hello from the demo')\n"), 0o644); err != nil {
		srv.Close()
		return nil, err
	}
	// The source predates the manifest (whose time has millisecond precision).
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(n.FunctionsDir, fnHello+".mts"), past, past); err != nil {
		srv.Close()
		return nil, err
	}
	if _, err := netlify.RegenerateManifest(n.FunctionsDir, n.Manifest, time.Now()); err != nil {
		srv.Close()
		return nil, err
	}
	return n, nil
}

// Break fails the newest deploy and breaks the function on the published one.
func (n *netlifyEnv) Break() string {
	n.Srv.SetDeployFunction(deployLive, fnHello, netlifytest.Function{Status: 500, Body: "boom"})
	n.Srv.AddDeploy(siteID, netlify.Deploy{ID: deployBad, State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)
	return fmt.Sprintf("deploy %s failed to build; function %s answers 500 on the published deploy %s", deployBad, fnHello, deployLive)
}

// Recovered reports whether the function answers and the newest deploy
// is ready.
func (n *netlifyEnv) Recovered(ctx context.Context) bool {
	ds := n.Srv.Deploys(siteID)
	if len(ds) == 0 || ds[0].State != netlify.DeployReady {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.Srv.URL()+"/.netlify/functions/"+fnHello, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (n *netlifyEnv) Close() { n.Srv.Close() }

// alertReceiver counts the webhook alerts it receives.
type alertReceiver struct {
	*httptest.Server
	n atomic.Int64
}

func startAlerts() *alertReceiver {
	a := &alertReceiver{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		a.n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	return a
}
