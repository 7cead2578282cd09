package netlify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// fileConfig is a launcher's configuration with a netlify section.
type fileConfig struct {
	launch.Config `yaml:",inline"`
	Netlify       *netlify.TargetConfig `yaml:"netlify"`
}

// The netlify section of a launcher's file decodes into TargetConfig,
// strictly, with the keys the example commands use.
func TestTargetConfigDecodesItsSection(t *testing.T) {
	t.Parallel()
	const section = `
optional: true
site_id: shop
site_url: https://shop.example
functions_dir: netlify/functions
manifest: .netlify/functions/manifest.json
build_hook_env: SHOP_HOOK
token_env: SHOP_TOKEN
api_url: https://api.example/api/v1
max_rebuilds: 2
branch: main
stuck_after: 20m
lock_restored: true
probes:
  - {name: hello, path: /hi, method: POST, expect_status: 202, body_contains: ok, timeout: 3s}
  - {name: far, url: https://elsewhere.example/x}
policy: {interval: 1m, retries: 0, backoff: {jitter: 0}, escalation_hold: 5m}
webhook_secret_env: SHOP_JWS
critical: false
alerts: {flap: {count: -1}}
`
	var c netlify.TargetConfig
	dec := yaml.NewDecoder(strings.NewReader(section))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	zero, no := 0, false
	jit := 0.0
	assert.Equal(t, netlify.TargetConfig{
		Optional: true, SiteID: "shop", SiteURL: "https://shop.example", FunctionsDir: "netlify/functions",
		Manifest: ".netlify/functions/manifest.json", BuildHookEnv: "SHOP_HOOK", TokenEnv: "SHOP_TOKEN",
		APIURL: "https://api.example/api/v1", MaxRebuilds: 2, Branch: "main", StuckAfter: 20 * time.Minute, LockRestored: true,
		Probes: []netlify.Endpoint{
			{Name: "hello", Path: "/hi", Method: "POST", ExpectStatus: 202, BodyContains: "ok", Timeout: 3 * time.Second},
			{Name: "far", URL: "https://elsewhere.example/x"},
		},
		Policy: redundancy.PolicyConfig{Interval: time.Minute, Retries: &zero, Backoff: redundancy.BackoffConfig{Jitter: &jit},
			EscalationHold: 5 * time.Minute},
		WebhookSecretEnv: "SHOP_JWS", Critical: &no, Alerts: redundancy.AlertPolicyConfig{Flap: redundancy.FlapConfig{Count: -1}},
	}, c)
	assert.Equal(t, "SHOP_JWS", c.WebhookSecretVar())
	require.NoError(t, c.Validate())
	assert.Equal(t, "SHOP_TOKEN", c.TokenVar())
	assert.Equal(t, "SHOP_HOOK", c.BuildHookVar())
	var none *netlify.TargetConfig
	assert.Equal(t, netlify.TokenEnv, none.TokenVar(), "a nil section names the default variable")
	assert.Empty(t, none.BuildHookVar())
	assert.Equal(t, netlify.WebhookSecretEnv, none.WebhookSecretVar())

	dec = yaml.NewDecoder(strings.NewReader("site_id: shop\nsiteid: typo\n"))
	dec.KnownFields(true)
	assert.ErrorContains(t, dec.Decode(&c), "field siteid not found")
}

// Validate names the key; a launcher's loader places it in the file.
func TestTargetConfigValidateNamesTheKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaml, key, msg string
	}{
		{"probes: [{path: /x}]\nsite_url: https://s.example", "probes[0].name", "required"},
		{"probes: [{name: a}]", "probes[0]", "needs url, or site_url"},
		{"site_id: s\napi_url: ftp://x", "api_url", "want an absolute http(s) URL"},
		{"site_id: s\nprobes: [{name: a, url: https://x.example, expect_status: 42}]", "probes[0].expect_status", "42 is out of range"},
		{"site_id: s\npolicy: {interval: 10ms}", "policy.interval", "10ms is below the minimum 1s"},
		{"site_id: s\nstuck_after: -1m", "stuck_after", "negative duration"},
		{"branch: main", "", "nothing to watch"},
	} {
		var c netlify.TargetConfig
		require.NoError(t, yaml.Unmarshal([]byte(tc.yaml), &c), tc.yaml)
		err := c.Validate()
		require.Error(t, err, tc.yaml)
		assert.True(t, strings.HasPrefix(err.Error(), "netlify: "), err.Error())
		var ce *redundancy.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.key, ce.Key, tc.yaml)
		assert.Contains(t, ce.Msg, tc.msg)
	}

	// In a file: the section's key and the line.
	_, _, err := launch.ParseYAML[fileConfig]("f.yaml", []byte("logs: {dir: l}\nnetlify:\n  site_url: https://s.example\n  probes:\n    - {path: /x}\n"), nil)
	require.Error(t, err)
	assert.Equal(t, "config f.yaml:5: netlify.probes[0].name: required", err.Error())
}

func shop(t *testing.T) *netlifytest.Server {
	t.Helper()
	srv := netlifytest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddSite(netlify.Site{ID: "shop", Name: "shop"})
	srv.AddDeploy("shop", netlify.Deploy{ID: "d1", CreatedAt: time.Now().Add(-time.Hour)}, true)
	srv.SetFunction("hello", netlifytest.Function{Body: "hello"})
	return srv
}

// One target per site, every part the config gives, the policy of the
// config, and the known-good deploys in the store given.
func TestNewTargetsBuildsTheSite(t *testing.T) {
	t.Parallel()
	srv := shop(t)
	dir := t.TempDir()
	fns := filepath.Join(dir, "functions")
	require.NoError(t, os.MkdirAll(fns, 0o755))
	manifest := filepath.Join(dir, "manifest.json")
	store := redundancy.NewMemoryStore()
	cfg := &netlify.TargetConfig{SiteID: "shop", SiteURL: srv.URL(), APIURL: srv.APIURL(), FunctionsDir: fns, Manifest: manifest,
		Probes: []netlify.Endpoint{{Name: "hello", BodyContains: "hello"}}, Policy: redundancy.PolicyConfig{Interval: 7 * time.Second}}
	g, err := netlify.NewTargets(context.Background(), cfg, netlify.WithToken(netlifytest.DefaultToken), netlify.WithStore(store),
		netlify.WithHTTPClient(srv.HTTPClient()))
	require.NoError(t, err)
	assert.Equal(t, "netlify", g.Name)
	assert.Empty(t, g.Notes)
	require.Len(t, g.Targets, 1)
	tg := g.Targets[0]
	assert.Equal(t, "netlify-shop", tg.Name)
	assert.Equal(t, 7*time.Second, tg.Policy.Interval)
	assert.True(t, tg.Shared, "a site is shared among monitors")

	o := redundancy.New()
	require.NoError(t, o.Add(tg))
	rep := o.CheckNow(context.Background()).Targets[0].Report
	assert.True(t, rep.Has(netlify.ProblemManifestMissing), "the manifest part runs: %v", rep.Findings)
	assert.False(t, rep.Has(netlify.ProblemAPIUnreachable), "the deploys part reaches the API with the token: %v", rep.Findings)
	assert.False(t, rep.Has(netlify.ProblemEndpointDown), "the probes part runs: %v", rep.Findings)
	kg := &netlify.KnownGood{Store: store}
	good, err := kg.Deploys(context.Background(), "shop")
	require.NoError(t, err)
	require.Len(t, good, 1, "the deploy that passed the probes is recorded in the store")
	assert.Equal(t, "d1", good[0].ID)

	plan, err := o.Plan(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, plan)
	assert.Equal(t, netlify.VerbRegenerateManifest, plan[0].Verb)
}

func TestNewTargetsNotesAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nope")

	g, err := netlify.NewTargets(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"netlify: not configured"}, g.Notes)
	assert.Empty(t, g.Targets)

	g, err = netlify.NewTargets(ctx, &netlify.TargetConfig{Optional: true, FunctionsDir: missing, SiteID: "shop"}, netlify.WithName("shop"))
	require.NoError(t, err)
	assert.Empty(t, g.Targets, "nothing left to watch")
	assert.Equal(t, "shop", g.Name)
	require.Len(t, g.Notes, 2)
	assert.Contains(t, g.Notes[0], "shop: not present (no functions directory "+missing+")")
	assert.Equal(t, "shop: no API token (NETLIFY_AUTH_TOKEN is not set): deploys of shop not checked", g.Notes[1])

	_, err = netlify.NewTargets(ctx, &netlify.TargetConfig{SiteID: "shop", TokenEnv: "SHOP_TOKEN"})
	assert.EqualError(t, err, "netlify: site_id shop needs an API token (SHOP_TOKEN is not set; pass the token with WithToken)")

	// Not optional: a missing functions directory is watched (and found missing).
	g, err = netlify.NewTargets(ctx, &netlify.TargetConfig{FunctionsDir: missing})
	require.NoError(t, err)
	require.Len(t, g.Targets, 1)
	assert.Equal(t, "netlify-functions", g.Targets[0].Name)
	assert.False(t, g.Targets[0].Shared, "a functions directory alone is local")

	_, err = netlify.NewTargets(ctx, &netlify.TargetConfig{FunctionsDir: missing}, netlify.WithBaseURL("http://x"))
	assert.EqualError(t, err, "netlify: NewTargets does not take option WithBaseURL")

	const hook = "ftp://hooks.example/secret-hook-id"
	_, err = netlify.NewTargets(ctx, &netlify.TargetConfig{SiteID: "shop", BuildHookEnv: "HOOK"}, netlify.WithToken("t0k3n-abc"), netlify.WithBuildHookURL(hook))
	require.Error(t, err)
	assert.Equal(t, "netlify: the build hook URL (from HOOK) is not an absolute http(s) URL", err.Error())
	assert.NotContains(t, err.Error(), "secret-hook-id")

	_, err = netlify.NewTargets(ctx, &netlify.TargetConfig{Probes: []netlify.Endpoint{{Name: "x"}}})
	var ce *redundancy.ConfigError
	assert.ErrorAs(t, err, &ce, "a bad config is its Validate error")
}

// WithClient replaces the API client (a double, or a shared client).
func TestNewTargetsWithClient(t *testing.T) {
	t.Parallel()
	srv := shop(t)
	g, err := netlify.NewTargets(context.Background(), &netlify.TargetConfig{SiteID: "shop"}, netlify.WithClient(srv.Client()))
	require.NoError(t, err)
	require.Len(t, g.Targets, 1)
	rep := g.Targets[0].Checker.Check(context.Background())
	require.NoError(t, rep.Err)
	assert.Equal(t, redundancy.StatusHealthy, rep.Status, "%v", rep.Findings)
	assert.Positive(t, srv.CallCount("GET /api/v1/sites/shop"))
}

// NewAPIClient refuses an option meant for NewTargets: every call fails.
func TestNewAPIClientRefusesTargetOptions(t *testing.T) {
	t.Parallel()
	c := netlify.NewAPIClient(netlify.WithToken("x"), netlify.WithStore(redundancy.NewMemoryStore()))
	_, err := c.GetSite(context.Background(), "shop")
	require.Error(t, err)
	assert.True(t, errors.Is(err, netlify.ErrInvalidArgument), "%v", err)
	assert.Contains(t, err.Error(), "NewAPIClient does not take option WithStore")
}
