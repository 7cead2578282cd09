package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd/etcdtest"
	"github.com/uras-dev/uras/redundancy/launch"
	"github.com/uras-dev/uras/redundancy/metrics"
)

// clusterWait bounds the conditions of TestClusterRepairsOnce; it never
// sleeps.
const clusterWait = 30 * time.Second

// reruns counts the re-runs GitHub accepted.
func reruns(gh *ghtest.Server) int {
	n := 0
	for _, c := range gh.Calls() {
		if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/rerun-failed-jobs") && c.Effect {
			n++
		}
	}
	return n
}

// monitor is one replica of the example, composed as the monitor verb
// composes it, running until stop.
type monitor struct {
	sys  *launch.System
	stop context.CancelFunc
	done chan struct{}
}

func startMonitor(t *testing.T, yaml string) *monitor {
	t.Helper()
	cfg, set, err := launch.ParseYAML[Config]("f.yaml", []byte(yaml), env())
	require.NoError(t, err)
	sys, err := launch.Compose(context.Background(), command, cfg, set, launch.Build{
		Logger:   func(string) *slog.Logger { return slog.New(slog.DiscardHandler) },
		Redactor: redundancy.NewRedactor(), Getenv: env("GITHUB_TOKEN", ghtest.DefaultToken), Metrics: metrics.New(),
	})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	m := &monitor{sys: sys, stop: stop, done: make(chan struct{})}
	go func() { defer close(m.done); _ = sys.Root.Run(ctx) }()
	t.Cleanup(m.close)
	return m
}

// close stops the replica as the monitor does: Run returns (resigning),
// then the System closes (leaving etcd).
func (m *monitor) close() {
	m.stop()
	<-m.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.sys.Close(ctx)
}

// github returns the replica's GitHub orchestrator's view of its group.
func (m *monitor) github() redundancy.Snapshot {
	for _, p := range m.sys.Parts {
		if p.Name == "github" {
			return p.Orch.Snapshot()
		}
	}
	return redundancy.Snapshot{}
}

// Three monitors with one cluster section (an embedded etcd) watch one
// repository: all of them check it, one re-runs its failed run. When that
// one stops, another takes the next decision.
func TestClusterRepairsOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs an etcd server and three monitors")
	}
	srv, err := etcdtest.New(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	gh := ghtest.NewServer()
	t.Cleanup(gh.Close)
	wf := gh.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	run := gh.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})

	ids := []string{"web-1", "web-2", "web-3"}
	monitors := map[string]*monitor{}
	for _, id := range ids {
		monitors[id] = startMonitor(t, `
state: {dir: `+t.TempDir()+`}
policy: {interval: 1s, failure_threshold: 1, backoff: {base: 1s, max: 1s}}
cluster: {name: web, id: `+id+`, lease_ttl: 2s, etcd: {endpoints: [`+srv.Endpoints()[0]+`]}}
github:
  api_url: `+gh.URL()+`
  repos: [{owner: octo, name: app}]
`)
	}

	require.Eventually(t, func() bool { return reruns(gh) >= 1 }, clusterWait, 10*time.Millisecond, "the failed run is re-run")
	since := time.Now()
	// Every replica has checked the repository since the re-run, and all
	// agree on one leader: each had its chance to act.
	var leader string
	require.Eventually(t, func() bool {
		leaders := map[string]bool{}
		for _, id := range ids {
			snap := monitors[id].github()
			if snap.Election == nil || snap.Election.Leader == "" || len(snap.Targets) != 1 || !snap.Targets[0].LastCheck.After(since) {
				return false
			}
			leaders[snap.Election.Leader] = true
			if snap.Election.Leading {
				leader = id
			}
		}
		return len(leaders) == 1 && leader != ""
	}, clusterWait, 10*time.Millisecond)
	assert.Equal(t, 1, reruns(gh), "one re-run for one decision, by the leader %s", leader)
	for _, id := range ids {
		snap := monitors[id].github()
		assert.Equal(t, id == leader, snap.Election.Leading, "%s", id)
		assert.True(t, snap.Targets[0].Shared, "a repository is a shared target")
	}

	// The leader stops (it resigns); the run fails again: another replica
	// re-runs it, once.
	monitors[leader].close()
	require.True(t, gh.CompleteRun(run, ghactions.ConclusionFailure))
	require.Eventually(t, func() bool { return reruns(gh) >= 2 }, clusterWait, 10*time.Millisecond, "a successor re-runs the new failure")
	since = time.Now()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			if id == leader {
				continue
			}
			if snap := monitors[id].github(); len(snap.Targets) != 1 || !snap.Targets[0].LastCheck.After(since) {
				return false
			}
		}
		return true
	}, clusterWait, 10*time.Millisecond)
	assert.Equal(t, 2, reruns(gh), "one re-run per decision across the takeover")
}

// A cluster section is validated with the file; the etcd password never
// comes from it.
func TestClusterConfig(t *testing.T) {
	t.Parallel()
	cfg, _, err := launch.ParseYAML[Config]("f.yaml", []byte(`
cluster:
  name: web
  lease_ttl: 5s
  etcd: {endpoints: ["https://etcd-1:2379"], username: uras}
github: {optional: true}
`), env())
	require.NoError(t, err)
	require.NotNil(t, cfg.Cluster)
	assert.Equal(t, "web", cfg.Cluster.Name)
	assert.Equal(t, 5*time.Second, cfg.Cluster.LeaseTTL)
	assert.Equal(t, "URAS_ETCD_PASSWORD", cfg.Cluster.Etcd.PasswordVar())
	assert.Empty(t, cfg.Cluster.Etcd.Password)

	for _, tc := range []struct{ yaml, want string }{
		{"cluster: {name: web}\ngithub: {optional: true}\n", "etcd.endpoints is empty"},
		{"cluster: {name: 'a/b', etcd: {endpoints: ['http://127.0.0.1:2379']}}\ngithub: {optional: true}\n", `cluster.name "a/b"`},
		{"cluster: {name: web, lease_ttl: 1s, etcd: {endpoints: ['http://127.0.0.1:2379']}}\ngithub: {optional: true}\n", "cluster.lease_ttl 1s: at least 2s"},
		{"cluster: {name: web, etcd: {endpoints: ['http://127.0.0.1:2379']}, leader: me}\ngithub: {optional: true}\n", "cluster.leader: unknown key"},
	} {
		_, _, err := launch.ParseYAML[Config]("f.yaml", []byte(tc.yaml), env())
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want)
	}
}
