package pm2_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// ampFrameForTest encodes an AMP frame by hand (version 1, big-endian
// lengths), independently of the package's encoder.
func ampFrameForTest(args ...string) []byte {
	b := []byte{byte(1<<4 | len(args))}
	for _, a := range args {
		b = binary.BigEndian.AppendUint32(b, uint32(len(a)))
		b = append(b, a...)
	}
	return b
}

// readFrameForTest decodes one AMP frame by hand.
func readFrameForTest(r *bufio.Reader) ([]string, error) {
	meta, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	args := make([]string, int(meta&0xf))
	for i := range args {
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		b := make([]byte, binary.BigEndian.Uint32(l[:]))
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b)
	}
	return args, nil
}

// shortDir makes a temporary directory short enough for Unix sockets.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pm2n")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// rpcCall is a request the fake daemon received.
type rpcCall struct {
	Method string
	Arg    json.RawMessage
}

// fakeRPC is a fake daemon RPC socket: handle answers each call with the
// JSON document of the reply (or "" to stay silent).
type fakeRPC struct {
	home   string
	handle func(c rpcCall) string

	mu    sync.Mutex
	calls []rpcCall
}

func startFakeRPC(t *testing.T, handle func(c rpcCall) string) *fakeRPC {
	t.Helper()
	f := &fakeRPC{home: shortDir(t), handle: handle}
	ln, err := net.Listen("unix", filepath.Join(f.home, "rpc.sock"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(t, conn)
		}
	}()
	return f
}

func (f *fakeRPC) serve(t *testing.T, conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		args, err := readFrameForTest(r)
		if err != nil {
			return
		}
		if len(args) != 2 || !strings.HasPrefix(args[0], "j:") || !strings.HasPrefix(args[1], "s:") {
			t.Errorf("fake daemon: bad request frame %q", args)
			return
		}
		var req struct {
			Type   string            `json:"type"`
			Method string            `json:"method"`
			Args   []json.RawMessage `json:"args"`
		}
		if err := json.Unmarshal([]byte(args[0][2:]), &req); err != nil || req.Type != "call" || len(req.Args) != 1 {
			t.Errorf("fake daemon: bad request %q", args[0])
			return
		}
		c := rpcCall{Method: req.Method, Arg: req.Args[0]}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		f.mu.Unlock()
		reply := f.handle(c)
		if reply == "" {
			continue
		}
		if _, err := conn.Write(ampFrameForTest("j:"+reply, args[1])); err != nil {
			return
		}
	}
}

func (f *fakeRPC) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ms []string
	for _, c := range f.calls {
		ms = append(ms, c.Method+" "+string(c.Arg))
	}
	return ms
}

// twoApps is a getMonitorData result with environment values that must
// never surface.
const twoApps = `[` +
	`{"pid":101,"name":"web","pm_id":0,"monit":{"memory":1000,"cpu":1.5},` +
	`"pm2_env":{"status":"online","namespace":"default","restart_time":2,"exec_mode":"fork_mode","SECRET_TOKEN":"s3cr3t","env":{"API_KEY":"k3y"}}},` +
	`{"pid":0,"name":"worker","pm_id":1,"monit":{"memory":0,"cpu":0},` +
	`"pm2_env":{"status":"stopped","namespace":"jobs","restart_time":0,"exec_mode":"fork_mode"}}]`

func fakeDaemon(t *testing.T) *fakeRPC {
	return startFakeRPC(t, func(c rpcCall) string {
		switch c.Method {
		case "getMonitorData":
			return `{"args":[` + twoApps + `]}`
		case "getVersion":
			return `{"args":["7.0.4"]}`
		case "ping":
			return `{"args":[{"msg":"pong"}]}`
		case "restartProcessId", "reloadProcessId", "stopProcessId":
			return `{"args":[{}]}`
		case "notifyByProcessId":
			return `{"args":[]}`
		}
		return `{"error":"method \"` + c.Method + `\" does not exist"}`
	})
}

func TestNativeListDecodesTypedFieldsOnly(t *testing.T) {
	t.Parallel()
	f := fakeDaemon(t)
	n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
	procs, err := n.List(context.Background())
	require.NoError(t, err)
	require.Len(t, procs, 2)
	assert.Equal(t, "web", procs[0].Name)
	assert.Equal(t, pm2.StatusOnline, procs[0].Status)
	assert.Equal(t, 101, procs[0].PID)
	assert.Equal(t, 2, procs[0].Restarts)
	assert.Equal(t, uint64(1000), procs[0].MemoryBytes)
	assert.Equal(t, "jobs", procs[1].Namespace)
	dump := fmt.Sprintf("%+v", procs)
	assert.NotContains(t, dump, "s3cr3t")
	assert.NotContains(t, dump, "k3y")
	assert.Equal(t, []string{"getMonitorData {}"}, f.methods())
}

func TestNativeActionsResolveNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		do    func(n *pm2.Native, ctx context.Context) error
		calls []string
	}{
		{"restart by name", func(n *pm2.Native, ctx context.Context) error { return n.Restart(ctx, "web") },
			[]string{`restartProcessId {"id":0}`, `notifyByProcessId {"action_name":"restart","id":0,"manually":true}`}},
		{"restart by id", func(n *pm2.Native, ctx context.Context) error { return n.Restart(ctx, "1") },
			[]string{`restartProcessId {"id":1}`, `notifyByProcessId {"action_name":"restart","id":1,"manually":true}`}},
		{"stop by namespace", func(n *pm2.Native, ctx context.Context) error { return n.Stop(ctx, "jobs") },
			[]string{`stopProcessId 1`, `notifyByProcessId {"action_name":"stop","id":1,"manually":true}`}},
		{"reload", func(n *pm2.Native, ctx context.Context) error { return n.Reload(ctx, "web") },
			[]string{`reloadProcessId {"id":0}`, `notifyByProcessId {"action_name":"reload","id":0,"manually":true}`}},
		{"start", func(n *pm2.Native, ctx context.Context) error { return n.Start(ctx, "worker") },
			[]string{`restartProcessId {"id":1}`, `notifyByProcessId {"action_name":"restart","id":1,"manually":true}`}},
		{"all", func(n *pm2.Native, ctx context.Context) error { return n.Stop(ctx, "all") },
			[]string{`stopProcessId 0`, `notifyByProcessId {"action_name":"stop","id":0,"manually":true}`,
				`stopProcessId 1`, `notifyByProcessId {"action_name":"stop","id":1,"manually":true}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fakeDaemon(t)
			n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
			require.NoError(t, tt.do(n, context.Background()))
			got := f.methods()
			require.NotEmpty(t, got)
			assert.Equal(t, "getMonitorData {}", got[0], "names are resolved from the list")
			assert.Equal(t, tt.calls, got[1:])
		})
	}
}

func TestNativeErrors(t *testing.T) {
	t.Parallel()
	t.Run("unknown process", func(t *testing.T) {
		t.Parallel()
		f := fakeDaemon(t)
		n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
		for _, name := range []string{"nope", "7", " "} {
			err := n.Restart(context.Background(), name)
			require.ErrorIs(t, err, pm2.ErrProcessNotFound, name)
		}
		assert.NotContains(t, strings.Join(f.methods(), ","), "restartProcessId")
	})
	t.Run("daemon error", func(t *testing.T) {
		t.Parallel()
		f := startFakeRPC(t, func(c rpcCall) string {
			if c.Method == "getMonitorData" {
				return `{"args":[` + twoApps + `]}`
			}
			return `{"error":"God db process id unknown","stack":"Error: at God.js:1"}`
		})
		n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
		err := n.Restart(context.Background(), "web")
		var rpcErr *pm2.RPCError
		require.ErrorAs(t, err, &rpcErr)
		assert.Equal(t, "restartProcessId", rpcErr.Method)
		assert.Equal(t, "God db process id unknown", rpcErr.Message)
		assert.ErrorIs(t, err, pm2.ErrProcessNotFound, "a process deleted under our feet")
		assert.NotContains(t, err.Error(), "God.js", "no stack")
	})
	t.Run("malformed replies", func(t *testing.T) {
		t.Parallel()
		for _, reply := range []string{`[1,2]`, `{"args":"x"}`, `{}`, `not json`, `{"args":[{"SECRET":"s3cr3t"}]}`} {
			f := startFakeRPC(t, func(rpcCall) string { return reply })
			n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
			_, err := n.List(context.Background())
			require.Error(t, err, reply)
			assert.NotContains(t, err.Error(), "s3cr3t")
			if reply != `{"args":[{"SECRET":"s3cr3t"}]}` {
				assert.ErrorIs(t, err, pm2.ErrProtocol, reply)
			}
		}
	})
	t.Run("no daemon", func(t *testing.T) {
		t.Parallel()
		home := shortDir(t)
		n := pm2.NewNative(pm2.NativeOptions{Home: home})
		_, err := n.List(context.Background())
		require.ErrorIs(t, err, pm2.ErrDaemonDown, "no socket file")

		// A stale socket file nobody listens on.
		ln, err := net.Listen("unix", filepath.Join(home, "rpc.sock"))
		require.NoError(t, err)
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		require.NoError(t, ln.Close())
		_, err = n.Ping(context.Background())
		require.ErrorIs(t, err, pm2.ErrDaemonDown, "stale socket")
	})
	t.Run("silent daemon times out", func(t *testing.T) {
		t.Parallel()
		f := startFakeRPC(t, func(rpcCall) string { return "" })
		n := pm2.NewNative(pm2.NativeOptions{Home: f.home, Timeout: 50 * time.Millisecond})
		start := time.Now()
		_, err := n.List(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("caller cancels", func(t *testing.T) {
		t.Parallel()
		f := startFakeRPC(t, func(rpcCall) string { return "" })
		n := pm2.NewNative(pm2.NativeOptions{Home: f.home})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := n.List(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("socket path too long", func(t *testing.T) {
		t.Parallel()
		n := pm2.NewNative(pm2.NativeOptions{Home: "/tmp/" + strings.Repeat("x", 120)})
		_, err := n.List(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "107-byte limit")
	})
}

// recordingClient is a Client fallback that records what it was asked.
type recordingClient struct {
	pm2.Client // nil: any other method panics
	mu         sync.Mutex
	calls      []string
}

func (r *recordingClient) record(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
	return nil
}

func (r *recordingClient) Resurrect(context.Context) error { return r.record("resurrect") }
func (r *recordingClient) Save(context.Context) error      { return r.record("save") }
func (r *recordingClient) StartEcosystem(_ context.Context, file string, only ...string) error {
	return r.record("start " + file + " " + strings.Join(only, ","))
}

func TestNativeFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	home := shortDir(t)

	bare := pm2.NewNative(pm2.NativeOptions{Home: home})
	for name, err := range map[string]error{
		"resurrect": bare.Resurrect(ctx),
		"save":      bare.Save(ctx),
		"ecosystem": bare.StartEcosystem(ctx, "eco.json"),
	} {
		require.ErrorIs(t, err, errors.ErrUnsupported, name)
	}

	rec := &recordingClient{}
	n := pm2.NewNative(pm2.NativeOptions{Home: home, Fallback: rec})
	require.NoError(t, n.Resurrect(ctx))
	require.NoError(t, n.Save(ctx))
	require.NoError(t, n.StartEcosystem(ctx, "eco.json", "a", "b"))
	assert.Equal(t, []string{"resurrect", "save", "start eco.json a,b"}, rec.calls)
}

func TestNativePing(t *testing.T) {
	t.Parallel()
	f := fakeDaemon(t)
	require.NoError(t, os.WriteFile(filepath.Join(f.home, "pm2.pid"), []byte("4242\n"), 0o644))
	info, err := pm2.NewNative(pm2.NativeOptions{Home: f.home}).Ping(context.Background())
	require.NoError(t, err)
	assert.Equal(t, pm2.DaemonInfo{Version: "7.0.4", PID: 4242}, info)
}

// stableFields strips the fields that change between two reads of the same
// daemon (CPU and memory samples).
func stableFields(ps []pm2.Process) []pm2.Process {
	out := make([]pm2.Process, len(ps))
	for i, p := range ps {
		p.CPUPercent, p.MemoryBytes = 0, 0
		out[i] = p
	}
	return out
}

func TestNativeAgainstRealDaemon(t *testing.T) {
	t.Parallel()
	noRestart := false
	d := pm2test.StartDaemon(t,
		pm2test.App{Name: "a", Script: pm2test.AppUp},
		pm2test.App{Name: "b", Script: pm2test.AppUp, Autorestart: &noRestart},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client})
	d.WaitStatus(t, "a", pm2.StatusOnline, 20*time.Second)
	d.WaitStatus(t, "b", pm2.StatusOnline, 20*time.Second)

	t.Run("auto mode picks the native client", func(t *testing.T) {
		c, err := pm2.OpenClient(ctx, pm2.ClientAuto, d.Client, pm2.NativeOptions{})
		require.NoError(t, err)
		require.IsType(t, &pm2.Native{}, c)
		assert.Equal(t, d.Home, c.(*pm2.Native).Home())
	})

	t.Run("list equals the CLI's", func(t *testing.T) {
		native, err := n.List(ctx)
		require.NoError(t, err)
		cli, err := d.Client.List(ctx)
		require.NoError(t, err)
		require.Len(t, native, 2)
		assert.Equal(t, stableFields(cli), stableFields(native))
	})

	t.Run("ping equals the CLI's", func(t *testing.T) {
		native, err := n.Ping(ctx)
		require.NoError(t, err)
		cli, err := d.Client.Ping(ctx)
		require.NoError(t, err)
		assert.Equal(t, "7.0.4", native.Version)
		assert.Positive(t, native.PID)
		assert.Equal(t, cli.PID, native.PID)
		if cli.Version != "" {
			assert.Equal(t, cli.Version, native.Version)
		}
	})

	t.Run("restart", func(t *testing.T) {
		before := d.Process(t, "a")
		require.NoError(t, n.Restart(ctx, "a"))
		after := d.WaitStatus(t, "a", pm2.StatusOnline, 20*time.Second)
		assert.Equal(t, before.Restarts+1, after.Restarts)
		assert.NotEqual(t, before.PID, after.PID)
	})

	t.Run("stop and start", func(t *testing.T) {
		require.NoError(t, n.Stop(ctx, "b"))
		p := d.WaitStatus(t, "b", pm2.StatusStopped, 20*time.Second)
		assert.Zero(t, p.PID)
		require.NoError(t, n.Start(ctx, "b"))
		d.WaitStatus(t, "b", pm2.StatusOnline, 20*time.Second)
	})

	t.Run("unknown process as the CLI says it", func(t *testing.T) {
		err := n.Restart(ctx, "no-such-app")
		require.ErrorIs(t, err, pm2.ErrProcessNotFound)
		require.ErrorIs(t, d.Client.Restart(ctx, "no-such-app"), pm2.ErrProcessNotFound)
	})

	t.Run("save and resurrect through the CLI fallback", func(t *testing.T) {
		require.NoError(t, n.Save(ctx))
		d.KillDaemon(t)
		_, err := n.List(ctx)
		require.ErrorIs(t, err, pm2.ErrDaemonDown)
		_, err = n.Ping(ctx)
		require.ErrorIs(t, err, pm2.ErrDaemonDown)
		c, err := pm2.OpenClient(ctx, pm2.ClientAuto, d.Client, pm2.NativeOptions{})
		require.NoError(t, err)
		assert.Same(t, d.Client, c, "auto mode: the CLI while the daemon is down")
		require.NoError(t, n.Resurrect(ctx))
		procs, err := n.List(ctx)
		require.NoError(t, err)
		names := []string{}
		for _, p := range procs {
			names = append(names, p.Name)
		}
		assert.ElementsMatch(t, []string{"a", "b"}, names)
	})
}

// The native client answers in milliseconds; the CLI it falls back on
// handles resurrect, ecosystem starts and save.
func ExampleNative() {
	ctx := context.Background()
	home := "/srv/pm2" // the daemon's PM2_HOME
	n := pm2.NewNative(pm2.NativeOptions{Home: home, Fallback: pm2.NewCLI(pm2.WithHome(home))})
	procs, err := n.List(ctx)
	if err != nil {
		fmt.Println("list:", err) // errors.Is(err, pm2.ErrDaemonDown) when it is not running
		return
	}
	for _, p := range procs {
		fmt.Println(p.Name, p.Status, p.Restarts)
	}
}

// TestNativeConformance runs the suite FakeClient and the CLI client pass
// against the native client on a real daemon.
func TestNativeConformance(t *testing.T) {
	t.Parallel()
	pm2test.TestClient(t, func(t *testing.T) pm2test.Harness {
		d := pm2test.StartDaemon(t)
		eco := filepath.Join(d.Dir, "conformance.json")
		require.NoError(t, d.WriteEcosystem(eco, pm2test.ConformanceApps...))
		n := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client})
		return pm2test.Harness{Client: n, Ecosystem: eco, KillDaemon: d.KillDaemon}
	})
}
