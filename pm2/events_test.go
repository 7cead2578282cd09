package pm2_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

// listenPub opens a fake pub.sock in home.
func listenPub(t *testing.T, home string) net.Listener {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(home, "pub.sock"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// accept waits for the subscriber to connect.
func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	conn, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// next receives the next event, failing after a while.
func next(t *testing.T, ch <-chan pm2.Event) pm2.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		require.True(t, ok, "event channel closed")
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
		return pm2.Event{}
	}
}

// nextKind receives events until one of kind k arrives.
func nextKind(t *testing.T, ch <-chan pm2.Event, k pm2.EventKind, name string) pm2.Event {
	t.Helper()
	for {
		e := next(t, ch)
		if e.Kind == k && (name == "" || e.Name == name) {
			return e
		}
	}
}

func TestEventsDecodesTopics(t *testing.T) {
	t.Parallel()
	home := shortDir(t)
	ln := listenPub(t, home)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := pm2.NewNative(pm2.NativeOptions{Home: home}).Events(ctx)
	require.NoError(t, err)
	conn := accept(t, ln)
	assert.Equal(t, pm2.EventConnected, next(t, ch).Kind)

	frames := [][]string{
		{"s:log:out", `j:{"process":{"pm_id":0,"name":"web"},"at":1764210000000,"data":"password=hunter2\n"}`},
		{"s:process:event", `j:{"event":"exit","manually":false,"at":1764210000001,"process":{"name":"web","pm_id":3,"namespace":"default","status":"stopped","exit_code":1,"restart_time":2,"SECRET_TOKEN":"s3cr3t","env":{"K":"k3y"}}}`},
		{"s:process:event", `j:{"event":"restart","manually":true,"at":1764210000002,"process":{"name":"web","pm_id":3,"status":"online","restart_time":3}}`},
		{"s:process:event", `j:{"event":"restart overlimit","manually":false,"at":1764210000003,"process":{"name":"bad","pm_id":4,"status":"errored"}}`},
		{"s:process:exception", `j:{"at":1764210000004,"data":{"message":"boom","stack":"at x.js:1"},"process":{"pm_id":3,"name":"web","namespace":"default"}}`},
		{"s:process:event", `j:not json`},
		{"s:process:event", `j:{"manually":false}`},
		{"j:{}", `j:{}`},
		{"s:process:event"},
		{"s:pm2:kill", `j:{"status":"killed","msg":"pm2 has been killed via CLI"}`},
	}
	for _, f := range frames {
		_, err := conn.Write(ampFrameForTest(f...))
		require.NoError(t, err)
	}

	exit := next(t, ch)
	assert.Equal(t, pm2.EventExit, exit.Kind)
	assert.Equal(t, 3, exit.ID)
	assert.Equal(t, "web", exit.Name)
	assert.Equal(t, "default", exit.Namespace)
	assert.Equal(t, pm2.StatusStopped, exit.Status)
	require.NotNil(t, exit.ExitCode)
	assert.Equal(t, 1, *exit.ExitCode)
	assert.Equal(t, 2, exit.Restarts)
	assert.False(t, exit.Manual)
	assert.Equal(t, time.UnixMilli(1764210000001), exit.Time)
	assert.True(t, exit.IsProcess())

	restart := next(t, ch)
	assert.Equal(t, pm2.EventRestart, restart.Kind)
	assert.True(t, restart.Manual)
	assert.Nil(t, restart.ExitCode)

	over := next(t, ch)
	assert.Equal(t, pm2.EventRestartOverlimit, over.Kind)
	assert.Equal(t, pm2.StatusErrored, over.Status)

	exc := next(t, ch)
	assert.Equal(t, pm2.EventException, exc.Kind)
	assert.Equal(t, "boom", exc.Message)
	assert.Equal(t, "web", exc.Name)

	kill := next(t, ch)
	assert.Equal(t, pm2.EventDaemonKilled, kill.Kind)
	assert.False(t, kill.IsProcess())

	all := fmt.Sprintf("%+v %+v %+v %+v %+v %s", exit, restart, over, exc, kill, exit)
	for _, secret := range []string{"s3cr3t", "k3y", "hunter2", "x.js"} {
		assert.NotContains(t, all, secret)
	}
	assert.Equal(t, "exit web(3) stopped exit=1", exit.String())

	cancel()
	for range ch { // drain until closed
	}
}

func TestEventsReconnects(t *testing.T) {
	t.Parallel()
	home := shortDir(t)
	ln := listenPub(t, home)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := pm2.NewNative(pm2.NativeOptions{Home: home, ReconnectMin: time.Millisecond, ReconnectMax: 10 * time.Millisecond})
	ch, err := n.Events(ctx)
	require.NoError(t, err)
	conn := accept(t, ln)
	assert.Equal(t, pm2.EventConnected, next(t, ch).Kind)

	// The daemon drops the connection: one disconnect, then back.
	require.NoError(t, conn.Close())
	d := next(t, ch)
	assert.Equal(t, pm2.EventDisconnected, d.Kind)
	require.Error(t, d.Err)
	conn = accept(t, ln)
	assert.Equal(t, pm2.EventConnected, next(t, ch).Kind)

	// The daemon dies (socket gone) for a while: many failed attempts, one event.
	require.NoError(t, ln.Close())
	_ = os.Remove(filepath.Join(home, "pub.sock"))
	require.NoError(t, conn.Close())
	d = next(t, ch)
	assert.Equal(t, pm2.EventDisconnected, d.Kind)
	select {
	case e := <-ch:
		t.Fatalf("unexpected event while the daemon is down: %v", e)
	case <-time.After(100 * time.Millisecond): // ~10 reconnection attempts
	}

	// It comes back: the subscription resumes and delivers again.
	ln = listenPub(t, home)
	conn = accept(t, ln)
	assert.Equal(t, pm2.EventConnected, next(t, ch).Kind)
	_, err = conn.Write(ampFrameForTest("s:process:event", `j:{"event":"online","process":{"name":"web","pm_id":0,"status":"online"}}`))
	require.NoError(t, err)
	assert.Equal(t, pm2.EventOnline, next(t, ch).Kind)

	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

func TestEventsStartsDisconnected(t *testing.T) {
	t.Parallel()
	home := shortDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := pm2.NewNative(pm2.NativeOptions{Home: home, ReconnectMin: time.Millisecond}).Events(ctx)
	require.NoError(t, err)
	e := next(t, ch)
	assert.Equal(t, pm2.EventDisconnected, e.Kind)
	assert.ErrorIs(t, e.Err, pm2.ErrDaemonDown)
	cancel()
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "channel closes with ctx")
}

func TestEventsBadStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := pm2.NewNative(pm2.NativeOptions{Home: shortDir(t)}).Events(ctx)
	require.ErrorIs(t, err, context.Canceled)

	_, err = pm2.NewNative(pm2.NativeOptions{Home: "/tmp/" + strings.Repeat("y", 120)}).Events(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "107-byte limit")
}

func TestEventsFromRealDaemon(t *testing.T) {
	t.Parallel()
	noRestart := false
	d := pm2test.StartDaemon(t,
		pm2test.App{Name: "victim", Script: pm2test.AppUp, Autorestart: &noRestart},
		pm2test.App{Name: "other", Script: pm2test.AppUp},
	)
	d.WaitStatus(t, "victim", pm2.StatusOnline, 20*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond})
	ch, err := n.Events(ctx)
	require.NoError(t, err)
	require.Equal(t, pm2.EventConnected, next(t, ch).Kind)

	t.Run("killed app", func(t *testing.T) {
		killed := time.Now()
		d.KillApp(t, "victim")
		e := nextKind(t, ch, pm2.EventExit, "victim")
		assert.Equal(t, pm2.StatusStopped, e.Status, "autorestart off")
		assert.False(t, e.Manual)
		assert.Less(t, time.Since(killed), 5*time.Second)
		t.Logf("exit event %s after kill -9", time.Since(killed))
	})

	t.Run("reconnects after pm2 kill and a new daemon", func(t *testing.T) {
		require.NoError(t, n.Save(context.Background()))
		d.Run(t, "kill")
		nextKind(t, ch, pm2.EventDisconnected, "")
		require.NoError(t, n.Resurrect(context.Background()))
		nextKind(t, ch, pm2.EventConnected, "")
		// Events flow from the new daemon.
		require.NoError(t, n.Restart(context.Background(), "other"))
		e := nextKind(t, ch, pm2.EventRestart, "other")
		assert.True(t, e.Manual)
	})
}

// Follow the daemon's events until ctx ends; the subscription survives
// daemon restarts.
func ExampleNative_Events() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := pm2.NewNative(pm2.NativeOptions{Home: "/srv/pm2"})
	events, err := n.Events(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for e := range events {
		switch e.Kind {
		case pm2.EventExit, pm2.EventRestartOverlimit:
			fmt.Printf("%s exited (status %s)\n", e.Name, e.Status)
		case pm2.EventDisconnected:
			fmt.Println("daemon unreachable:", e.Err)
		}
	}
}
