package system_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/internal/config"
	"github.com/uras-dev/uras/internal/system"
	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	require.NoError(t, os.MkdirAll(wf, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(wf, "ci.yml"),
		[]byte("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n"), 0o644))
	cfg, err := config.Parse("test.yaml", []byte(`
state: {dir: `+filepath.Join(dir, "state")+`}
policy: {failure_threshold: 1, retries: 0}
pm2: {apps: [{name: web}]}
github: {checkout: `+dir+`}
netlify: {functions_dir: `+filepath.Join(dir, "none")+`}
`), func(string) string { return "" })
	require.NoError(t, err)
	return cfg
}

func TestLayouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		layout    system.Layout
		parts     int
		rootNames []string
	}{
		{system.Launcher, 1, []string{"pm2", "github-files"}},
		{system.Master, 2, []string{"pm2", "github"}},
		{system.Ultimate, 2, []string{"pm2", "github"}},
	} {
		t.Run(string(tc.layout), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
			sys, err := system.Build(context.Background(), cfg, tc.layout, system.BuildOptions{Deps: system.Deps{PM2Client: fake}})
			require.NoError(t, err)
			defer sys.Close(context.Background())
			assert.Len(t, sys.Parts, tc.parts)
			assert.Equal(t, tc.rootNames, sys.Root.Names())
			assert.Contains(t, notes(sys.Notes), "netlify: not present")

			st := sys.CheckNow(context.Background())
			assert.Equal(t, redundancy.StatusHealthy, st.Status)
			require.Len(t, st.Parts, 2)
			assert.Equal(t, "pm2", st.Parts[0].Name)
			assert.Equal(t, "github", st.Parts[1].Name)

			fake.Crash("web")
			st = sys.CheckNow(context.Background())
			assert.Equal(t, redundancy.StatusUnhealthy, st.Status)
			var buf bytes.Buffer
			system.Render(&buf, st)
			assert.Contains(t, buf.String(), "overall UNHEALTHY")
			assert.Regexp(t, `pm2\s+pm2\s+unhealthy\s+\S+\s+web: pm2.errored`, buf.String())

			rs, err := sys.Parts[0].Orch.RecoverNow(context.Background(), nil)
			require.NoError(t, err)
			require.NotEmpty(t, rs)
			assert.Equal(t, pm2.VerbRestart, rs[0].Verb)
			assert.Equal(t, redundancy.StatusHealthy, sys.CheckNow(context.Background()).Status)
		})
	}
}

func notes(ns []system.Note) string {
	var b bytes.Buffer
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

// An event source's Trigger reaches the orchestrator holding the target
// and, under a master, the master's entry for its system: both check it
// ahead of their schedules.
func TestTriggerReachesTheTargetThroughTheMaster(t *testing.T) {
	t.Parallel()
	for _, layout := range []system.Layout{system.Launcher, system.Master} {
		t.Run(string(layout), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			fake := pm2test.NewFakeClient(pm2.Process{Name: "web"})
			sys, err := system.Build(context.Background(), cfg, layout, system.BuildOptions{Deps: system.Deps{PM2Client: fake}})
			require.NoError(t, err)
			defer sys.Close(context.Background())
			ctx := context.Background()
			sys.Root.Tick(ctx) // everything checked; next checks are an interval away
			lists := fake.CallCount("List")
			sys.Root.Tick(ctx)
			require.Equal(t, lists, fake.CallCount("List"), "nothing is due yet")

			sys.Trigger("pm2")
			sys.Root.Tick(ctx)
			assert.Equal(t, lists+1, fake.CallCount("List"), "the triggered target was checked at once")
		})
	}
}
