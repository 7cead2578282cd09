package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd"
)

// Without a cluster section a launcher's membership is nil, and elects
// nobody.
func TestJoinWithoutACluster(t *testing.T) {
	t.Parallel()
	m, err := etcd.Join(context.Background(), nil, nil, "github")
	require.NoError(t, err)
	assert.Nil(t, m)
	assert.Empty(t, m.Options("github"))
	assert.Nil(t, m.Part("github"))
	fb := redundancy.NewMemoryStore()
	assert.Same(t, fb, m.Store("github", fb))
	require.NoError(t, m.Close())
}

// With one, each part has an election of its own; other parts are local.
func TestJoinGivesEachPartAnElection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &etcd.Cluster{Name: group(t, "join"), ID: "web-1", LeaseTTL: 3 * time.Second, Etcd: server(t).Config()}
	var asked []string
	m, err := etcd.Join(ctx, c, func(name string) string { asked = append(asked, name); return "" }, "github", "netlify")
	require.NoError(t, err)
	assert.Empty(t, asked, "no username, no password read")
	require.NotNil(t, m.Part("github"))
	assert.Equal(t, "web-1", m.Part("github").ID())
	assert.Len(t, m.Options("github"), 1)
	assert.Empty(t, m.Options("pm2"), "a local part")
	fb := redundancy.NewMemoryStore()
	assert.Same(t, fb, m.Store("pm2", fb))
	assert.Same(t, m.Part("netlify"), storeElector(t, m.Store("netlify", fb), m), "the part's own store")

	// The part's election works: an orchestrator with it leads.
	o := redundancy.New(m.Options("github")...)
	require.NoError(t, o.Add(redundancy.Target{Name: "ci", Shared: true,
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report { return redundancy.NewReport("ok") })}))
	o.Tick(ctx)
	require.NotNil(t, o.Snapshot().Election)
	require.NoError(t, m.Close())
	_, err = m.Part("github").Leader(ctx)
	require.Error(t, err, "Close closed the connection")

	_, err = etcd.Join(ctx, c, nil, "git/hub")
	require.ErrorContains(t, err, `part "git/hub"`)
	_, err = etcd.Join(ctx, &etcd.Cluster{Name: "web", ID: " pad"}, nil)
	require.ErrorContains(t, err, "cluster.id")
}

// The password is read from the variable the section names, by the
// launcher's function, and never shows in an error.
func TestJoinReadsThePasswordThroughSecret(t *testing.T) {
	t.Parallel()
	c := &etcd.Cluster{Name: "web", ID: "web-1", Etcd: etcd.Config{Endpoints: []string{"http://127.0.0.1:1"}, Username: "uras",
		PasswordEnv: "ETCD_PW", DialTimeout: 200 * time.Millisecond}}
	var asked []string
	m, err := etcd.Join(context.Background(), c, func(name string) string { asked = append(asked, name); return "hunter2" })
	if err == nil {
		require.NoError(t, m.Close())
	} else {
		assert.NotContains(t, err.Error(), "hunter2")
	}
	assert.Equal(t, []string{"ETCD_PW"}, asked)
	assert.Empty(t, c.Etcd.Password, "the caller's section is left alone")
}

// storeElector returns the part of m whose Store s is (two Stores of one
// elector are equal).
func storeElector(t *testing.T, s redundancy.Store, m *etcd.Membership) *etcd.Elector {
	t.Helper()
	st, ok := s.(*etcd.Store)
	require.True(t, ok, "an etcd store")
	for _, name := range []string{"github", "netlify"} {
		if *st == *m.Part(name).Store() {
			return m.Part(name)
		}
	}
	return nil
}
