package etcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/etcd"
)

func elector(t *testing.T, group, id string, opts ...etcd.Option) *etcd.Elector {
	t.Helper()
	cli, _ := client(t)
	e, err := etcd.NewElector(cli, group, id, append([]etcd.Option{etcd.WithTTL(2 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return e
}

func TestElectorOneLeaderAtATime(t *testing.T) {
	t.Parallel()
	g := group(t, "g")
	ctx := context.Background()
	a, b := elector(t, g, "a"), elector(t, g, "b")

	ld, err := a.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{}, ld, "nobody leads yet")

	la, err := a.Campaign(ctx)
	require.NoError(t, err)
	require.NoError(t, la.Verify(ctx))
	ld, err = b.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, redundancy.Leader{ID: "a", Token: la.Token()}, ld)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = b.Campaign(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "b cannot lead while a does")

	won := make(chan redundancy.Leadership, 1)
	go func() {
		lb, err := b.Campaign(ctx)
		assert.NoError(t, err)
		won <- lb
	}()
	require.NoError(t, la.Resign(ctx))
	select {
	case <-la.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a resigned term's Done is not closed")
	}
	var lb redundancy.Leadership
	select {
	case lb = <-won:
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take over after a resigned")
	}
	assert.Greater(t, lb.Token(), la.Token(), "tokens grow with each term")
	require.ErrorIs(t, la.Verify(ctx), redundancy.ErrNotLeader)
	require.NoError(t, lb.Verify(ctx))
	ld, err = a.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", ld.ID)
	require.NoError(t, lb.Resign(ctx))
}

func TestElectorCrashedLeaderIsReplacedWithinTTL(t *testing.T) {
	t.Parallel()
	g := group(t, "g")
	ctx := context.Background()
	cliA, crash := client(t)
	a, err := etcd.NewElector(cliA, g, "a", etcd.WithTTL(2*time.Second))
	require.NoError(t, err)
	b := elector(t, g, "b")
	la, err := a.Campaign(ctx)
	require.NoError(t, err)

	crash() // a's process is gone: no resign, no keep-alive
	start := time.Now()
	lb, err := b.Campaign(ctx)
	require.NoError(t, err)
	took := time.Since(start)
	assert.Less(t, took, 2*time.Second+time.Second, "the successor waits for the lease, no longer")
	assert.Greater(t, lb.Token(), la.Token())
	require.NoError(t, lb.Resign(ctx))
}

func TestStoreIsFencedByTheTerm(t *testing.T) {
	t.Parallel()
	g := group(t, "g")
	ctx := context.Background()
	a, b := elector(t, g, "a"), elector(t, g, "b")
	sa, sb := a.Store(), b.Store()

	_, err := sa.Load(ctx, "k")
	require.ErrorIs(t, err, redundancy.ErrNoRecord)
	require.ErrorIs(t, sa.Save(ctx, "k", []byte("x")), redundancy.ErrNotLeader, "no term, no write")

	la, err := a.Campaign(ctx)
	require.NoError(t, err)
	require.NoError(t, sa.Save(ctx, "k", []byte("from a")))
	got, err := sb.Load(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "from a", string(got), "followers read the leader's records")
	require.ErrorIs(t, sb.Save(ctx, "k", []byte("from b")), redundancy.ErrNotLeader)

	// a is partitioned: its lease is gone at the server (revoked here,
	// as expiry would), and a has not noticed yet.
	admin, _ := client(t)
	_, err = admin.Revoke(ctx, leaseOf(t, ctx, admin, g, "a"))
	require.NoError(t, err)
	lb, err := b.Campaign(ctx)
	require.NoError(t, err)

	err = sa.Save(redundancy.ContextWithLeadership(ctx, la), "k", []byte("stale a"))
	require.ErrorIs(t, err, redundancy.ErrNotLeader, "the deposed leader's write fails on the revision guard")
	assert.Contains(t, err.Error(), "fenced")
	require.ErrorIs(t, la.Verify(ctx), redundancy.ErrNotLeader, "nor may it act")
	require.NoError(t, sb.Save(ctx, "k", []byte("from b")))
	got, err = sa.Load(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "from b", string(got))
	require.NoError(t, lb.Resign(ctx))
}

func TestStoreRefusesBadKeysAndHugeRecords(t *testing.T) {
	t.Parallel()
	g := group(t, "g")
	ctx := context.Background()
	a := elector(t, g, "a")
	la, err := a.Campaign(ctx)
	require.NoError(t, err)
	defer func() { _ = la.Resign(ctx) }()
	s := a.Store()
	for _, k := range []string{"", "../x", "a//b", "a b"} {
		require.ErrorIs(t, s.Save(ctx, k, nil), redundancy.ErrInvalidKey, k)
		_, err := s.Load(ctx, k)
		require.ErrorIs(t, err, redundancy.ErrInvalidKey, k)
	}
	require.ErrorIs(t, s.Save(ctx, "big", make([]byte, etcd.MaxRecordSize+1)), etcd.ErrRecordTooLarge)
}

func TestVerifyWantsTheMargin(t *testing.T) {
	t.Parallel()
	g := group(t, "g")
	ctx := context.Background()
	// A margin just under the TTL: right after a keep-alive etcd reports
	// TTL-1 whole seconds or less, under the margin.
	a := elector(t, g, "a", etcd.WithTTL(3*time.Second), etcd.WithMargin(2900*time.Millisecond))
	la, err := a.Campaign(ctx)
	require.Error(t, err, "a term without the margin is not taken")
	require.Nil(t, la)
	require.ErrorIs(t, err, redundancy.ErrNotLeader)
	assert.Contains(t, err.Error(), "margin")
}

func TestNewElectorRefusesBadInput(t *testing.T) {
	t.Parallel()
	cli, _ := client(t)
	for _, tc := range []struct {
		name, group, id string
		opts            []etcd.Option
		want            string
	}{
		{"empty group", "", "a", nil, "group"},
		{"slash in group", "a/b", "a", nil, "group"},
		{"empty id", "g", "", nil, "replica id"},
		{"padded id", "g", " a", nil, "replica id"},
		{"short ttl", "g", "a", []etcd.Option{etcd.WithTTL(time.Second)}, "at least 2s"},
		{"margin over ttl", "g", "a", []etcd.Option{etcd.WithMargin(time.Minute)}, "margin"},
		{"bad prefix", "g", "a", []etcd.Option{etcd.WithPrefix("uras")}, "prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := etcd.NewElector(cli, tc.group, tc.id, tc.opts...)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "etcd: "), err.Error())
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := etcd.NewElector(nil, "g", "a")
	require.Error(t, err)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := etcd.Cluster{Name: "web/1", LeaseTTL: time.Second, Etcd: etcd.Config{
		Endpoints: []string{"ftp://x", "https://user:pw@x:2379"},
		TLS:       etcd.TLSConfig{CertFile: "c.pem"},
	}}.Validate()
	require.Error(t, err)
	for _, want := range []string{"cluster.name", "lease_ttl", "endpoints[0]", "endpoints[1]: credentials", "cert_file and key_file"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "pw", "no credentials in errors")
	require.Error(t, etcd.Config{}.Validate(), "no endpoints")
	require.NoError(t, etcd.Cluster{Name: "web", Etcd: etcd.Config{Endpoints: []string{"http://127.0.0.1:2379"}}}.Validate())
}

// The cluster section decodes from YAML as the launcher's file holds it;
// the password is never read from the file.
func TestClusterDecodesFromYAML(t *testing.T) {
	t.Parallel()
	var doc struct {
		Cluster etcd.Cluster `yaml:"cluster"`
	}
	src := `
cluster:
  name: web
  lease_ttl: 15s
  etcd:
    endpoints: [https://etcd-1:2379, https://etcd-2:2379]
    dial_timeout: 3s
    username: uras
    password: not-here
    password_env: ETCD_PW
    tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem, server_name: etcd.internal}
`
	require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
	c := doc.Cluster
	assert.Equal(t, "web", c.Name)
	assert.Equal(t, 15*time.Second, c.LeaseTTL)
	assert.Equal(t, etcd.Config{
		Endpoints: []string{"https://etcd-1:2379", "https://etcd-2:2379"}, DialTimeout: 3 * time.Second, Username: "uras", PasswordEnv: "ETCD_PW",
		TLS: etcd.TLSConfig{CAFile: "ca.pem", CertFile: "client.pem", KeyFile: "client-key.pem", ServerName: "etcd.internal"},
	}, c.Etcd)
	require.NoError(t, c.Validate())
	_, err := c.Etcd.Client(context.Background())
	require.Error(t, err, "the CA file does not exist")
	assert.Contains(t, err.Error(), "etcd: etcd.tls.ca_file")
}

func TestOpenFromTheClusterSection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := etcd.Cluster{Name: group(t, "open"), LeaseTTL: 3 * time.Second, Etcd: server(t).Config()}
	e, err := etcd.Open(ctx, c, "web-1")
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, e.TTL())
	l, err := e.Campaign(ctx)
	require.NoError(t, err)
	ld, err := e.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "web-1", ld.ID)
	require.NoError(t, l.Resign(ctx))
	require.NoError(t, e.Close())
	_, err = e.Leader(ctx)
	require.Error(t, err, "the connection Open made is closed")

	_, err = etcd.Open(ctx, etcd.Cluster{Name: "web"}, "web-1")
	require.ErrorContains(t, err, "etcd.endpoints is empty")
}

// The parts of one elector are groups of their own on its connection: a
// replica may lead one and follow in another, and each part's Store keeps
// its records apart from the other's.
func TestPartsAreGroupsOfTheirOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := etcd.Cluster{Name: group(t, "parts"), LeaseTTL: 3 * time.Second, Etcd: server(t).Config()}
	one, err := etcd.Open(ctx, c, "web-1")
	require.NoError(t, err)
	t.Cleanup(func() { _ = one.Close() })
	two, err := etcd.Open(ctx, c, "web-2")
	require.NoError(t, err)
	t.Cleanup(func() { _ = two.Close() })

	gh1, err := one.Part("github")
	require.NoError(t, err)
	nf2, err := two.Part("netlify")
	require.NoError(t, err)
	assert.Equal(t, "web-1", gh1.ID())
	assert.Equal(t, 3*time.Second, gh1.TTL(), "a part keeps the lease of its elector")

	lgh, err := gh1.Campaign(ctx)
	require.NoError(t, err)
	lnf, err := nf2.Campaign(ctx)
	require.NoError(t, err, "web-2 leads netlify while web-1 leads github")
	ld, err := one.Leader(ctx)
	require.NoError(t, err)
	assert.Zero(t, ld, "nobody campaigned in the group itself")

	nf1, err := one.Part("netlify")
	require.NoError(t, err)
	ld, err = nf1.Leader(ctx)
	require.NoError(t, err)
	assert.Equal(t, "web-2", ld.ID, "a part sees its group's leader")

	require.NoError(t, gh1.Store().Save(redundancy.ContextWithLeadership(ctx, lgh), "targets/x", []byte("github")))
	require.NoError(t, nf2.Store().Save(redundancy.ContextWithLeadership(ctx, lnf), "targets/x", []byte("netlify")))
	got, err := nf1.Store().Load(ctx, "targets/x")
	require.NoError(t, err)
	assert.Equal(t, "netlify", string(got), "each part's records are its own")
	err = nf1.Store().Save(ctx, "targets/x", []byte("follower"))
	require.ErrorIs(t, err, redundancy.ErrNotLeader, "a follower of the part cannot write")

	require.NoError(t, gh1.Close())
	_, err = one.Leader(ctx)
	require.NoError(t, err, "closing a part leaves the connection open")
	require.NoError(t, lgh.Resign(ctx))
	require.NoError(t, lnf.Resign(ctx))

	_, err = one.Part("no/slash")
	require.ErrorContains(t, err, `part "no/slash"`)
}

func TestPasswordVar(t *testing.T) {
	t.Parallel()
	assert.Empty(t, etcd.Config{}.PasswordVar(), "no user, no password")
	assert.Equal(t, etcd.DefaultPasswordEnv, etcd.Config{Username: "uras"}.PasswordVar())
	assert.Equal(t, "ETCD_PW", etcd.Config{Username: "uras", PasswordEnv: "ETCD_PW"}.PasswordVar())
	err := etcd.Config{Endpoints: []string{"http://127.0.0.1:2379"}, PasswordEnv: "ETCD_PW"}.Validate()
	require.ErrorContains(t, err, `etcd.password_env "ETCD_PW" without etcd.username`)
}
