package ghactions_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

type fileConfig struct {
	launch.Config `yaml:",inline"`
	GitHub        *ghactions.TargetConfig `yaml:"github"`
}

// The github section of a launcher's file decodes into TargetConfig,
// strictly, with the keys the example commands use; a repository's branch
// may be left out (the default branch).
func TestTargetConfigDecodesItsSection(t *testing.T) {
	t.Parallel()
	const section = `
optional: true
checkout: .
backup_dir: .uras/workflow-backup
token_env: MY_GH_TOKEN
api_url: https://ghe.example/api/v3/
lint_ignore: ['label ".+" is unknown']
repos:
  - {owner: octo, name: app, branch: main, workflows: [ci.yml], backup_workflow: backup.yml, max_reruns: 0, enable_manually_disabled: true}
  - {owner: octo, name: lib}
policy: {failure_threshold: 2, unknown_is_failing: true}
webhook_secret_env: MY_HOOK_SECRET
critical: false
alerts: {page_repairs: true, renotify: 1h}
`
	var c ghactions.TargetConfig
	dec := yaml.NewDecoder(strings.NewReader(section))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	zero, yes, no := 0, true, false
	assert.Equal(t, ghactions.TargetConfig{
		Optional: true, Checkout: ".", BackupDir: ".uras/workflow-backup", TokenEnv: "MY_GH_TOKEN",
		APIURL: "https://ghe.example/api/v3/", LintIgnore: []string{`label ".+" is unknown`},
		Repos: []ghactions.RepoConfig{
			{Repo: ghactions.Repo{Owner: "octo", Name: "app", Branch: "main", Workflows: []string{"ci.yml"}},
				BackupWorkflow: "backup.yml", MaxReruns: &zero, EnableManuallyDisabled: true},
			{Repo: ghactions.Repo{Owner: "octo", Name: "lib"}},
		},
		Policy:           redundancy.PolicyConfig{FailureThreshold: 2, UnknownIsFailing: &yes},
		WebhookSecretEnv: "MY_HOOK_SECRET", Critical: &no,
		Alerts: redundancy.AlertPolicyConfig{PageRepairs: &yes, Renotify: time.Hour},
	}, c)
	require.NoError(t, c.Validate())
	assert.Equal(t, "MY_GH_TOKEN", c.TokenVar())
	assert.Equal(t, "MY_HOOK_SECRET", c.WebhookSecretVar())
	var none *ghactions.TargetConfig
	assert.Equal(t, ghactions.DefaultTokenEnv, none.TokenVar())
	assert.Equal(t, ghactions.DefaultWebhookSecretEnv, none.WebhookSecretVar())
}

func TestTargetConfigValidateNamesTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, key, msg string }{
		{"repos: [{name: app}]", "repos[0].owner", "required"},
		{"repos: [{owner: o, name: a}, {owner: o, name: a}]", "repos[1]", "duplicate repository o/a"},
		{"repos: [{owner: o, name: a, max_reruns: -1}]", "repos[0].max_reruns", "may not be negative"},
		{"repos: [{owner: o, name: 'a b'}]", "repos[0]", `Repo.Name "a b" is not valid`},
		{"checkout: .\napi_url: x", "api_url", "want an absolute http(s) URL"},
		{"checkout: .\npolicy: {backoff: {jitter: 1.5}}", "policy.backoff.jitter", "want a fraction"},
		{"api_url: https://x.example/", "", "nothing to watch"},
	} {
		var c ghactions.TargetConfig
		require.NoError(t, yaml.Unmarshal([]byte(tc.yaml), &c), tc.yaml)
		err := c.Validate()
		require.Error(t, err, tc.yaml)
		assert.True(t, strings.HasPrefix(err.Error(), "ghactions: "), err.Error())
		var ce *redundancy.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.key, ce.Key, tc.yaml)
		assert.Contains(t, ce.Msg, tc.msg, tc.yaml)
	}
	_, _, err := launch.ParseYAML[fileConfig]("f.yaml", []byte("github:\n  repos:\n    - owner: o\n      name: a\n      max_reruns: -1\n"), nil)
	require.Error(t, err)
	assert.Equal(t, "config f.yaml:5: github.repos[0].max_reruns: may not be negative", err.Error())
}

// checkout makes a directory with one valid workflow file.
func checkout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	require.NoError(t, os.MkdirAll(wf, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(wf, "ci.yml"), []byte("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"), 0o644))
	return dir
}

// The files target and one target per repository, through a client of
// NewTargets' own with the token given, with the config's policy and each
// repository's re-run limit.
func TestNewTargetsBuildsFilesAndRepos(t *testing.T) {
	t.Parallel()
	srv := ghtest.NewServer(ghtest.WithToken("ghp_targetsTest0123456789abcdefABCD"))
	t.Cleanup(srv.Close)
	ci := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	failed := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: ci, Branch: "main", Conclusion: ghactions.ConclusionFailure})
	srv.AddWorkflow("octo", "lib", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	dir := checkout(t)
	zero := 0
	cfg := &ghactions.TargetConfig{Checkout: dir, APIURL: srv.URL(), Policy: redundancy.PolicyConfig{Interval: 9 * time.Second},
		Repos: []ghactions.RepoConfig{
			{Repo: ghactions.Repo{Owner: "octo", Name: "app", Branch: "main"}, MaxReruns: &zero},
			{Repo: ghactions.Repo{Owner: "octo", Name: "lib"}},
			{Repo: ghactions.Repo{Owner: "octo", Name: "lib", Branch: "dev"}},
		}}
	backup := filepath.Join(t.TempDir(), "backup")
	g, err := ghactions.NewTargets(context.Background(), cfg, ghactions.WithToken("ghp_targetsTest0123456789abcdefABCD"),
		ghactions.WithHTTPClient(srv.HTTPClient()), ghactions.WithBackupDir(backup))
	require.NoError(t, err)
	assert.Equal(t, "github", g.Name)
	assert.Empty(t, g.Notes)
	var names []string
	for _, tg := range g.Targets {
		names = append(names, tg.Name)
		assert.Equal(t, 9*time.Second, tg.Policy.Interval)
		assert.Equal(t, tg.Name != "github-files", tg.Shared, "%s: repositories are shared among monitors, a checkout is local", tg.Name)
	}
	assert.Equal(t, []string{"github-files", "github-octo-app", "github-octo-lib-default", "github-octo-lib-dev"}, names)

	o := redundancy.New()
	for _, tg := range g.Targets {
		require.NoError(t, o.Add(tg))
	}
	snap := o.CheckNow(context.Background())
	byName := map[string]redundancy.Report{}
	for _, ts := range snap.Targets {
		byName[ts.Name] = ts.Report
	}
	assert.Equal(t, redundancy.StatusHealthy, byName["github-files"].Status, "%v", byName["github-files"].Findings)
	assert.DirExists(t, filepath.Join(backup, "files"), "the backups go to the directory given")
	app := byName["github-octo-app"]
	require.NoError(t, app.Err, "the token reached the server")
	assert.True(t, app.Has(ghactions.ProblemRunFailed), "%v", app.Findings)
	_, err = o.Plan(context.Background(), "github-octo-app")
	assert.ErrorIs(t, err, redundancy.ErrExhausted, "max_reruns: 0 leaves nothing to try for run %d", failed)
	for _, c := range srv.Calls() {
		assert.True(t, c.Authorized, "%s %s", c.Method, c.Path)
	}
}

func TestNewTargetsNotesAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := ghactions.NewTargets(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"github: not configured"}, g.Notes)

	empty := t.TempDir()
	g, err = ghactions.NewTargets(ctx, &ghactions.TargetConfig{Optional: true, Checkout: empty}, ghactions.WithName("gh"))
	require.NoError(t, err)
	assert.Empty(t, g.Targets)
	assert.Equal(t, []string{"gh: not present (no .github/workflows in " + empty + "): workflow files not checked"}, g.Notes)

	_, err = ghactions.NewTargets(ctx, &ghactions.TargetConfig{Checkout: checkout(t)})
	assert.ErrorContains(t, err, "ghactions: backup_dir: required with checkout")

	srv := ghtest.NewServer()
	t.Cleanup(srv.Close)
	g, err = ghactions.NewTargets(ctx, &ghactions.TargetConfig{APIURL: srv.URL(), TokenEnv: "MY_TOKEN",
		Repos: []ghactions.RepoConfig{{Repo: ghactions.Repo{Owner: "o", Name: "r"}}}}, ghactions.WithHTTPClient(srv.HTTPClient()))
	require.NoError(t, err)
	assert.Equal(t, []string{"github: no API token (MY_TOKEN is not set): the API is asked without one (60 requests an hour)"}, g.Notes)
	require.Len(t, g.Targets, 1)

	_, err = ghactions.NewTargets(ctx, &ghactions.TargetConfig{Optional: true}, ghactions.WithMaxReruns(1))
	assert.EqualError(t, err, "ghactions: NewTargets does not take option WithMaxReruns")
	_, err = ghactions.NewTargets(ctx, &ghactions.TargetConfig{Repos: []ghactions.RepoConfig{{}}})
	var ce *redundancy.ConfigError
	assert.ErrorAs(t, err, &ce)
}

// WithClient replaces the API client: no token note, no client built.
func TestNewTargetsWithClient(t *testing.T) {
	t.Parallel()
	srv := ghtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddWorkflow("o", "r", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	g, err := ghactions.NewTargets(context.Background(), &ghactions.TargetConfig{
		Repos: []ghactions.RepoConfig{{Repo: ghactions.Repo{Owner: "o", Name: "r"}}}}, ghactions.WithClient(srv.Client()))
	require.NoError(t, err)
	assert.Empty(t, g.Notes)
	require.Len(t, g.Targets, 1)
	rep := g.Targets[0].Checker.Check(context.Background())
	require.NoError(t, rep.Err)
	assert.Equal(t, redundancy.StatusHealthy, rep.Status)
}
