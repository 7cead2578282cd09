package etcd_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/uras-dev/uras/redundancy/etcd/etcdtest"
)

// One embedded etcd serves every test of the package; each test works
// under a group (key prefix) of its own.
var (
	srvOnce sync.Once
	srv     *etcdtest.Server
	srvErr  error
	srvDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if srv != nil {
		srv.Close()
	}
	if srvDir != "" {
		_ = os.RemoveAll(srvDir)
	}
	os.Exit(code)
}

// server returns the shared embedded server, starting it on first use. A
// server that cannot start fails the test: the server is compiled in, so
// nothing outside the test can be missing.
func server(t *testing.T) *etcdtest.Server {
	t.Helper()
	srvOnce.Do(func() {
		srvDir, srvErr = os.MkdirTemp("", "etcdtest-")
		if srvErr == nil {
			srv, srvErr = etcdtest.New(srvDir)
		}
	})
	require.NoError(t, srvErr, "embedded etcd")
	return srv
}

// client returns a client of the shared server that the test's end (or
// cancel) cuts off.
func client(t *testing.T) (*clientv3.Client, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cli, err := server(t).Client(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); _ = cli.Close() })
	return cli, cancel
}

// leaseOf returns the lease of replica id's campaign key in group.
func leaseOf(t *testing.T, ctx context.Context, cli *clientv3.Client, group, id string) clientv3.LeaseID {
	t.Helper()
	resp, err := cli.Get(ctx, "/uras/"+group+"/election/", clientv3.WithPrefix())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		if string(kv.Value) == id {
			return clientv3.LeaseID(kv.Lease)
		}
	}
	t.Fatalf("no campaign key of %q in group %q", id, group)
	return 0
}

var groupSeq atomic.Int64

var notName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// group returns a group name no other test (nor another -count round)
// uses, so that no test reads another's records.
func group(t *testing.T, name string) string {
	return fmt.Sprintf("%s-%s-%d", notName.ReplaceAllString(t.Name(), "_"), name, groupSeq.Add(1))
}
