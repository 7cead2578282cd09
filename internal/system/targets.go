package system

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// Note is a line about a part of the configuration that is not watched
// (absent, not configured) or watched with a limitation.
type Note struct {
	System string `json:"system"`
	Text   string `json:"text"`
}

func (n Note) String() string { return n.System + ": " + n.Text }

// Group is the targets of one system.
type Group struct {
	System  string
	Targets []redundancy.Target
}

// Deps are what Targets takes besides the configuration: loggers and,
// for demos and tests, replacements of the real clients.
type Deps struct {
	// Logger returns a system's logger ("pm2", ...); nil discards.
	Logger func(system string) *slog.Logger
	// PM2Client, when set, replaces the client built from the config.
	PM2Client pm2.Client
	// OnPlan, when set, is called with every plan a recoverer makes.
	OnPlan func(target string, actions []redundancy.Action)
	// Trigger, when set, is what event sources call to have a target
	// checked at once (Build sets it to System.Trigger).
	Trigger func(target string)
	// watchers collects the event sources Targets creates (see System.Watch).
	watchers *[]func(context.Context) error
}

func (d Deps) logger(system string) *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger(system)
}

// Targets builds the targets the configuration describes, grouped by
// system (groups with no target are left out), and notes about what is
// not watched. Sections marked optional are skipped with a note when what
// they watch is absent.
func Targets(ctx context.Context, cfg *config.Config, deps Deps) ([]Group, []Note, error) {
	var groups []Group
	var notes []Note
	for _, b := range []func(context.Context, *config.Config, Deps) ([]redundancy.Target, []Note, error){pm2Targets, githubTargets, netlifyTargets} {
		ts, ns, err := b(ctx, cfg, deps)
		if err != nil {
			return nil, nil, err
		}
		notes = append(notes, ns...)
		if len(ts) > 0 {
			for i := range ts {
				if ts[i].Recoverer != nil {
					ts[i].Recoverer = planHook{name: ts[i].Name, r: ts[i].Recoverer, deps: deps}
				}
			}
			groups = append(groups, Group{System: systemOf(ts[0].Name), Targets: ts})
		}
	}
	return groups, notes, nil
}

func systemOf(target string) string {
	for _, s := range config.Systems {
		if target == s || strings.HasPrefix(target, s+"-") {
			return s
		}
	}
	return target
}

// planHook logs (and reports to Deps.OnPlan) every plan of a recoverer.
type planHook struct {
	name string
	r    redundancy.Recoverer
	deps Deps
}

func (p planHook) Plan(ctx context.Context, rep redundancy.Report) ([]redundancy.Action, error) {
	actions, err := p.r.Plan(ctx, rep)
	if len(actions) > 0 {
		steps := make([]string, len(actions))
		for i, a := range actions {
			steps[i] = a.String()
		}
		p.deps.logger(systemOf(p.name)).Info("recovery plan", "target", p.name, "actions", strings.Join(steps, "; "))
		if p.deps.OnPlan != nil {
			p.deps.OnPlan(p.name, actions)
		}
	}
	return actions, err
}

// PM2Home returns the PM2_HOME a section means: its home, else $PM2_HOME,
// else ~/.pm2.
func PM2Home(c *config.PM2) string {
	if c.Home != "" {
		return c.Home
	}
	if h := os.Getenv("PM2_HOME"); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".pm2"
	}
	return filepath.Join(home, ".pm2")
}

func pm2Targets(ctx context.Context, cfg *config.Config, deps Deps) ([]redundancy.Target, []Note, error) {
	c := cfg.PM2
	if c == nil {
		return nil, []Note{{"pm2", "not configured"}}, nil
	}
	home := PM2Home(c)
	client := deps.PM2Client
	var notes []Note
	if client == nil {
		opts := []pm2.CLIOption{pm2.WithHome(home)}
		// An optional section skips a home with nothing to watch; a daemon
		// that runs, or ran and left its pid file, socket or a dump of apps
		// to bring back, is watched (a dead daemon is what uras is for).
		present := pm2.InspectHome(ctx, home).Present()
		bin := c.Binary
		if bin == "" {
			if p, err := exec.LookPath("pm2"); err == nil {
				bin = p
			} else if c.Optional && !present {
				return nil, []Note{{"pm2", "not present (pm2 is not on PATH): skipped"}}, nil
			} else if c.Optional {
				notes = append(notes, Note{"pm2", "pm2 is not on PATH: " + home + " is watched, but repairs that need the pm2 command will fail"})
			}
		}
		if bin != "" {
			opts = append(opts, pm2.WithBinary(bin))
		}
		if c.CLITimeout > 0 {
			opts = append(opts, pm2.WithTimeout(time.Duration(c.CLITimeout)))
		}
		if c.Optional && !present {
			return nil, []Note{{"pm2", fmt.Sprintf("not present (no PM2 daemon running in %s, nor a dump to bring one back from): skipped", home)}}, nil
		}
		cli := pm2.NewCLI(opts...)
		mode, err := pm2.ParseClientMode(c.Client)
		if err != nil {
			return nil, nil, err
		}
		client, err = pm2.OpenClient(ctx, mode, cli, pm2.NativeOptions{Timeout: time.Duration(c.RPCTimeout)})
		if err != nil {
			return nil, nil, fmt.Errorf("pm2: %w", err)
		}
	}
	pc := pm2.Config{
		Home:                 home,
		Ecosystem:            c.Ecosystem,
		Node:                 c.Node,
		LogDirs:              c.LogDirs,
		CrashLoopRestarts:    c.Limits.CrashLoopRestarts,
		CrashLoopWindow:      time.Duration(c.Limits.CrashLoopWindow),
		StuckAfter:           time.Duration(c.Limits.StuckAfter),
		MaxMemoryBytes:       uint64(max(c.Limits.MaxMemory.Bytes(int64(c.Limits.MaxMemoryMB)), 0)),
		MaxCPUPercent:        c.Limits.MaxCPUPercent,
		CPUChecks:            c.Limits.CPUChecks,
		LogMaxBytes:          c.Limits.LogMax.Bytes(c.Limits.LogMaxMB),
		DaemonLogMaxBytes:    c.Limits.DaemonLogMax.Bytes(0),
		MinFreeBytes:         c.Limits.MinFree.Bytes(c.Limits.MinFreeMB),
		LogKeep:              c.Limits.LogKeep,
		LogKeepFor:           time.Duration(c.Limits.LogKeepFor),
		DaemonMaxMemoryBytes: uint64(max(c.Limits.DaemonMaxMemory.Bytes(0), 0)),
	}
	if deps.PM2Client != nil && c.Home == "" {
		pc.Home = "" // a replacement client has no PM2_HOME to look at
	}
	// The known-good process list and the repair ladders outlive the
	// process, shared by the monitor and the one-shot verbs.
	if store, err := redundancy.NewFileStore(filepath.Join(cfg.State.Dir, "store")); err == nil {
		pc.Store = store
	} else {
		notes = append(notes, Note{"pm2", "the known-good process list is kept in memory only: " + err.Error()})
	}
	for _, a := range c.Apps {
		pc.Apps = append(pc.Apps, pm2.App{Name: a.Name, StopOK: a.StopOK, MaxMemoryBytes: uint64(max(a.MaxMemory.Bytes(int64(a.MaxMemoryMB)), 0)),
			MaxCPUPercent: a.MaxCPUPercent, Probe: a.Probe.Probe()})
	}
	if len(c.Apps) == 0 {
		notes = append(notes, Note{"pm2", "no apps listed: every app the daemon knows is expected online"})
	}
	var checker redundancy.Checker = pm2.NewChecker(client, pc)
	if native, ok := client.(*pm2.Native); ok && deps.Trigger != nil && deps.watchers != nil {
		// The daemon announces exits and restarts on its event socket: a
		// crash wakes the check at once; periodic checks go on as a net.
		apps := make([]string, 0, len(pc.Apps))
		for _, a := range pc.Apps {
			apps = append(apps, a.Name)
		}
		ec := pm2.NewEventChecker(checker, native, pm2.EventCheckerOptions{Target: "pm2", Trigger: deps.Trigger, Apps: apps})
		*deps.watchers = append(*deps.watchers, ec.Watch)
		checker = ec
		notes = append(notes, Note{"pm2", "native client: daemon events wake the check at once"})
	}
	t := redundancy.Target{
		Name:      "pm2",
		Checker:   checker,
		Recoverer: pm2.NewRecoverer(client, pc),
		Policy:    cfg.TargetPolicy(c.Policy),
	}
	return []redundancy.Target{t}, notes, nil
}

func githubTargets(ctx context.Context, cfg *config.Config, deps Deps) ([]redundancy.Target, []Note, error) {
	c := cfg.GitHub
	if c == nil {
		return nil, []Note{{"github", "not configured"}}, nil
	}
	var ts []redundancy.Target
	var notes []Note
	policy := cfg.TargetPolicy(c.Policy)
	if c.Checkout != "" {
		root, err := filepath.Abs(c.Checkout)
		if err != nil {
			return nil, nil, fmt.Errorf("github.checkout: %w", err)
		}
		dir := filepath.Join(root, ghactions.WorkflowsDir)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			notes = append(notes, Note{"github", fmt.Sprintf("not present (no %s in %s): workflow files not checked", ghactions.WorkflowsDir, root)})
		} else {
			backup := c.BackupDir
			if backup == "" {
				backup = filepath.Join(cfg.State.Dir, "workflow-backup")
			}
			store, err := ghactions.OpenBackupStore(backup)
			if err != nil {
				return nil, nil, fmt.Errorf("github.backup_dir: %w", err)
			}
			files, err := ghactions.NewWorkflowFiles(root, store)
			if err != nil {
				return nil, nil, fmt.Errorf("github: %w", err)
			}
			ts = append(ts, redundancy.Target{Name: "github-files", Checker: files, Recoverer: files, Policy: policy})
		}
	}
	if len(c.Repos) > 0 {
		opts := []ghactions.Option{}
		if c.Token != "" {
			opts = append(opts, ghactions.WithToken(c.Token))
		} else {
			notes = append(notes, Note{"github", c.TokenEnv + " is not set: the API is asked without a token (60 requests an hour)"})
		}
		if c.APIURL != "" {
			u := c.APIURL
			if !strings.HasSuffix(u, "/") {
				u += "/"
			}
			opts = append(opts, ghactions.WithBaseURL(u))
		}
		client, err := ghactions.NewClient(opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("github: %w", err)
		}
		for _, r := range c.Repos {
			checker, err := ghactions.NewChecker(client, ghactions.Repo{Owner: r.Owner, Name: r.Name, Branch: r.Branch, Workflows: r.Workflows})
			if err != nil {
				return nil, nil, fmt.Errorf("github %s/%s: %w", r.Owner, r.Name, err)
			}
			var ropts []ghactions.Option
			if r.MaxReruns > 0 {
				ropts = append(ropts, ghactions.WithMaxReruns(r.MaxReruns))
			}
			if r.BackupWorkflow != "" {
				ropts = append(ropts, ghactions.WithBackupWorkflow(r.BackupWorkflow))
			}
			if r.EnableManuallyDisabled {
				ropts = append(ropts, ghactions.WithEnableManuallyDisabled(true))
			}
			rec, err := ghactions.NewRecoverer(checker, ropts...)
			if err != nil {
				return nil, nil, fmt.Errorf("github %s/%s: %w", r.Owner, r.Name, err)
			}
			ts = append(ts, redundancy.Target{Name: "github-" + safeName(r.Owner+"-"+r.Name), Checker: checker, Recoverer: rec, Policy: policy})
		}
	} else if c.Checkout == "" {
		notes = append(notes, Note{"github", "not configured (no checkout, no repos)"})
	}
	return ts, notes, nil
}

func netlifyTargets(ctx context.Context, cfg *config.Config, deps Deps) ([]redundancy.Target, []Note, error) {
	c := cfg.Netlify
	if c == nil {
		return nil, []Note{{"netlify", "not configured"}}, nil
	}
	var notes []Note
	known := &netlify.KnownGood{} // in memory: a restarted monitor restores only deploys seen passing since
	site := &netlify.SiteChecker{KnownGood: known}
	rec := &netlify.Recoverer{SiteID: c.SiteID, ManifestPath: c.Manifest, BuildHookURL: c.BuildHookURL, MaxRebuilds: c.MaxRebuilds, KnownGood: known}
	if c.FunctionsDir != "" {
		if st, err := os.Stat(c.FunctionsDir); err == nil && st.IsDir() {
			site.Manifest = &netlify.ManifestChecker{FunctionsDir: c.FunctionsDir, ManifestPath: c.Manifest}
			rec.FunctionsDir = c.FunctionsDir
		} else {
			abs, _ := filepath.Abs(c.FunctionsDir)
			notes = append(notes, Note{"netlify", fmt.Sprintf("not present (no functions directory %s): manifest not checked", abs)})
		}
	}
	if c.SiteID != "" {
		if c.Token == "" {
			notes = append(notes, Note{"netlify", c.TokenEnv + " is not set: deploys of " + c.SiteID + " not checked"})
		} else {
			opts := []netlify.Option{netlify.WithToken(c.Token)}
			if c.APIURL != "" {
				opts = append(opts, netlify.WithBaseURL(c.APIURL))
			}
			client := netlify.NewAPIClient(opts...)
			site.Deploys = &netlify.DeployChecker{Client: client, SiteID: c.SiteID}
			if site.Manifest != nil {
				site.Deploys.ManifestPath = c.Manifest
			}
			rec.Client = client
		}
	}
	if len(c.Probes) > 0 {
		pc := &netlify.ProbeChecker{SiteURL: c.SiteURL}
		for _, p := range c.Probes {
			pc.Endpoints = append(pc.Endpoints, netlify.Endpoint{Name: p.Name, Path: p.Path, URL: p.URL, Method: p.Method,
				ExpectStatus: p.ExpectStatus, BodyContains: p.BodyContains, Timeout: time.Duration(p.Timeout)})
		}
		site.Probes = pc
		rec.Probes = pc
	}
	if site.Manifest == nil && site.Deploys == nil && site.Probes == nil {
		if len(notes) == 0 {
			notes = append(notes, Note{"netlify", "not configured (no functions_dir, site_id or probes)"})
		}
		return nil, notes, nil
	}
	name := "netlify-functions"
	if c.SiteID != "" {
		name = "netlify-" + safeName(c.SiteID)
	}
	return []redundancy.Target{{Name: name, Checker: site, Recoverer: rec, Policy: cfg.TargetPolicy(c.Policy)}}, notes, nil
}

// safeName makes s usable in a target name (no "/", no spaces).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}
