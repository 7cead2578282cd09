package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Secret returns the value of the environment variable name ("" for no
// name) and registers it with the Redactor, so that it appears in no
// output: the way a Build function reads a token to hand to a provider,
//
//	ghactions.WithToken(b.Secret(cfg.GitHub.TokenVar()))
func (b Build) Secret(name string) string {
	if name == "" {
		return ""
	}
	getenv := b.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv(name)
	if b.Redactor != nil {
		b.Redactor.Add(v)
	}
	return v
}

// Options returns the options every orchestrator of a launcher takes: the
// part's logger (b.Logger(part); "" is the general logger), the dry run of
// recover -dry-run, the Redactor, the alert notifiers (b.Alerts, b.Events)
// and, outside one-shot verbs, the state file <StateDir>/state-<part>.json
// (state-root.json for "", the root's, where the silence verb writes when
// no monitor runs). Call it once per orchestrator, with a part name of its
// own: two orchestrators on one state file would overwrite each other.
func (b Build) Options(part string) []redundancy.Option {
	log := slog.New(slog.DiscardHandler)
	if b.Logger != nil {
		log = b.Logger(part)
	}
	opts := []redundancy.Option{redundancy.WithLogger(log), redundancy.WithDryRun(b.DryRun), redundancy.WithRedactor(b.Redactor)}
	if b.StateDir != "" && !b.OneShot {
		opts = append(opts, redundancy.WithStateFile(stateFile(b.StateDir, part)))
	}
	for _, n := range b.Alerts {
		opts = append(opts, redundancy.WithAlertNotifier(n))
	}
	for _, n := range b.Events {
		opts = append(opts, redundancy.WithNotifier(n))
	}
	return opts
}

// stateFile returns the state file of part's orchestrator in dir.
func stateFile(dir, part string) string {
	if part == "" {
		part = "root"
	}
	return filepath.Join(dir, "state-"+part+".json")
}

// AddGroup adds the targets a provider built (pm2.NewTargets, ...) to orch
// and shows them on the dashboard as the part g.Name; several groups may
// share one orchestrator. It also keeps g's notes, and serves its
// Receiver, if any, at /hooks/<g.Name> (System.Receivers). A group with no
// target adds only its notes (orch may then be nil).
func (s *System) AddGroup(orch *redundancy.Orchestrator, g redundancy.Group) error {
	s.Notes = append(s.Notes, g.Notes...)
	if g.Receiver != nil {
		if _, dup := s.Receivers[g.Name]; dup {
			return fmt.Errorf("launch: AddGroup: two receivers named %q", g.Name)
		}
		if s.Receivers == nil {
			s.Receivers = map[string]http.Handler{}
		}
		s.Receivers[g.Name] = g.Receiver
	}
	if len(g.Targets) == 0 {
		return nil
	}
	if orch == nil {
		return fmt.Errorf("launch: AddGroup %q: no orchestrator for its targets", g.Name)
	}
	part := Part{Name: g.Name, Orch: orch}
	for _, t := range g.Targets {
		if err := orch.Add(t); err != nil {
			return err
		}
		part.Targets = append(part.Targets, t.Name)
	}
	s.Parts = append(s.Parts, part)
	return nil
}

// Compose builds c's system from cfg as the verbs do, with what set
// configures around c.Build:
//
//   - b.StateDir is set.StateDir (created if need be), so that b.Options
//     gives each orchestrator its state file (except in a one-shot verb);
//   - in the monitor (not b.OneShot, not b.DryRun), the alert notifiers
//     of set.Alerts are started and handed to b (Build.Alerts,
//     Build.Events) for b.Options, their queues exported on b.Metrics;
//     the System's Close closes them after its own Close, delivering
//     what they queued. One-shot verbs page nobody: without a state file
//     an alert would open again at every run;
//   - set.Alerts.Silences are set on the root, and the silences an
//     earlier file gave (IDs starting with ConfigSilencePrefix) but this
//     one does not are removed from it.
//
// Call it with the Settings c.Load returned, as a verb or the demo does.
func Compose[C any](ctx context.Context, c Command[C], cfg C, set Settings, b Build) (*System, error) {
	if c.Build == nil {
		return nil, errors.New("launch: Command.Build is nil")
	}
	b.StateDir = set.StateDir
	if b.StateDir != "" && !b.OneShot {
		if err := os.MkdirAll(b.StateDir, 0o750); err != nil { // where the state files go
			return nil, fmt.Errorf("launch: state directory: %w", err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	if b.Logger != nil {
		log = b.Logger("")
	}
	var al *alerting
	if !b.OneShot && !b.DryRun {
		env := c.Env
		if env == nil {
			env = os.Environ()
		}
		var err error
		if al, err = startAlerting(set.Alerts, b, env); err != nil {
			return nil, err
		}
		al.apply(&b, set.Alerts)
	}
	closeAlerts := func(ctx context.Context) error {
		if al == nil {
			return nil
		}
		return al.close(ctx)
	}
	sys, err := c.Build(ctx, cfg, b)
	if err == nil && (sys == nil || sys.Root == nil) {
		err = errors.New("launch: Build returned no root orchestrator")
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if sys != nil && sys.Close != nil {
			err = errors.Join(err, sys.Close(cctx))
		}
		return nil, errors.Join(err, closeAlerts(cctx))
	}
	if al != nil {
		own := sys.Close
		sys.Close = func(ctx context.Context) error {
			var err error
			if own != nil {
				err = own(ctx)
			}
			return errors.Join(err, closeAlerts(ctx))
		}
		if len(al.webhooks)+len(al.commands) == 0 {
			sys.Notes = append(sys.Notes, "alerts: no webhooks nor commands configured: alerts are logged only")
		}
	}
	setSilences(sys.Root, set.Alerts.Silences, log)
	return sys, nil
}

// setSilences sets the configured silences on root and removes those an
// earlier configuration set but this one does not give.
func setSilences(root *redundancy.Orchestrator, list []redundancy.Silence, log *slog.Logger) {
	want := map[string]bool{}
	for _, s := range list {
		want[s.ID] = true
		if _, err := root.Silence(s); err != nil {
			log.Warn("silence of the configuration not set", "id", s.ID, "err", err)
		}
	}
	for _, s := range root.Silences() {
		if strings.HasPrefix(s.ID, ConfigSilencePrefix) && !want[s.ID] {
			if err := root.RemoveSilence(s.ID); err == nil {
				log.Info("silence removed: the configuration no longer gives it", "id", s.ID)
			}
		}
	}
}
