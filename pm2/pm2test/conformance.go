package pm2test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/uras-dev/uras/pm2"
)

// Harness is one pm2.Client under test, with what TestClient needs
// around it.
type Harness struct {
	// Client talks to a daemon that runs and manages no app named conf-*.
	Client pm2.Client
	// Ecosystem is an ecosystem file (as Client.StartEcosystem takes it)
	// declaring two apps, "conf-a" and "conf-b", that stay online.
	Ecosystem string
	// KillDaemon kills the daemon behind Client, as a crash would.
	KillDaemon func(t testing.TB)
	// Home is the PM2_HOME whose dump.pm2 Client.Save writes; "" skips the
	// steps that read it (restoring one app from the dump).
	Home string
	// Timeout bounds each wait for a state; default 20s.
	Timeout time.Duration
}

// ConformanceApps are the apps a Harness's ecosystem declares.
var ConformanceApps = []App{{Name: "conf-a", Script: AppUp}, {Name: "conf-b", Script: AppUp}}

// TestClient checks that a pm2.Client behaves as the checkers and the
// recoverer expect: starting from an ecosystem file (with --only), stop,
// start, restart, reload by name and by id, not-found and daemon-down
// errors, save and resurrect after the daemon died, and a cancelled
// context. FakeClient and the CLI client on a real daemon both pass it,
// which keeps the fake honest. Steps run in order on one harness.
func TestClient(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	h := newHarness(t)
	if h.Timeout <= 0 {
		h.Timeout = 20 * time.Second
	}
	c := h.Client
	ctx := context.Background()

	find := func(t *testing.T, name string) (pm2.Process, bool) {
		t.Helper()
		procs, err := c.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, p := range procs {
			if p.Name == name {
				return p, true
			}
		}
		return pm2.Process{}, false
	}
	waitFor := func(t *testing.T, name string, ok func(p pm2.Process, found bool) bool, what string) pm2.Process {
		t.Helper()
		deadline := time.Now().Add(h.Timeout)
		for {
			p, found := find(t, name)
			if ok(p, found) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not reached within %s (found %v, status %q)", name, what, h.Timeout, found, p.Status)
			}
			time.Sleep(50 * time.Millisecond) // polling a daemon: no clock to inject
		}
	}
	online := func(t *testing.T, name string) pm2.Process {
		t.Helper()
		return waitFor(t, name, func(p pm2.Process, found bool) bool {
			return found && p.Status == pm2.StatusOnline && p.PID > 0
		}, "online")
	}
	step := func(name string, fn func(t *testing.T)) {
		if !t.Run(name, fn) {
			t.FailNow()
		}
	}

	step("ping", func(t *testing.T) {
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if _, found := find(t, "conf-a"); found {
			t.Fatal("conf-a exists before the test started it")
		}
	})
	step("start ecosystem only", func(t *testing.T) {
		if err := c.StartEcosystem(ctx, h.Ecosystem, "conf-a"); err != nil {
			t.Fatalf("StartEcosystem --only conf-a: %v", err)
		}
		p := online(t, "conf-a")
		if p.ExecMode != pm2.ExecFork || p.StartedAt.IsZero() {
			t.Errorf("conf-a: exec mode %q, started %v", p.ExecMode, p.StartedAt)
		}
		if _, found := find(t, "conf-b"); found {
			t.Error("conf-b started despite --only conf-a")
		}
	})
	step("stop and start", func(t *testing.T) {
		if err := c.Stop(ctx, "conf-a"); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		waitFor(t, "conf-a", func(p pm2.Process, found bool) bool { return found && p.Status == pm2.StatusStopped }, "stopped")
		if err := c.Start(ctx, "conf-a"); err != nil {
			t.Fatalf("Start: %v", err)
		}
		online(t, "conf-a")
	})
	step("restart and reload", func(t *testing.T) {
		before, _ := find(t, "conf-a")
		if err := c.Restart(ctx, "conf-a"); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		after := online(t, "conf-a")
		if after.Restarts <= before.Restarts {
			t.Errorf("restarts %d after Restart, was %d", after.Restarts, before.Restarts)
		}
		if err := c.Reload(ctx, "conf-a"); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		online(t, "conf-a")
		if err := c.Restart(ctx, strconv.Itoa(after.ID)); err != nil {
			t.Fatalf("Restart by id %d: %v", after.ID, err)
		}
		online(t, "conf-a")
	})
	step("not found", func(t *testing.T) {
		for name, err := range map[string]error{
			"Restart": c.Restart(ctx, "conf-nope"),
			"Stop":    c.Stop(ctx, "conf-nope"),
		} {
			if !errors.Is(err, pm2.ErrProcessNotFound) {
				t.Errorf("%s(conf-nope) = %v, want ErrProcessNotFound", name, err)
			}
		}
	})
	step("save, daemon dies, resurrect", func(t *testing.T) {
		if err := c.Save(ctx); err != nil {
			t.Fatalf("Save: %v", err)
		}
		h.KillDaemon(t)
		if _, err := c.List(ctx); !errors.Is(err, pm2.ErrDaemonDown) {
			t.Errorf("List with the daemon dead = %v, want ErrDaemonDown", err)
		}
		if err := c.Restart(ctx, "conf-a"); !errors.Is(err, pm2.ErrDaemonDown) {
			t.Errorf("Restart with the daemon dead = %v, want ErrDaemonDown", err)
		}
		if _, err := c.Ping(ctx); !errors.Is(err, pm2.ErrDaemonDown) {
			t.Errorf("Ping with the daemon dead = %v, want ErrDaemonDown", err)
		}
		if err := c.Resurrect(ctx); err != nil {
			t.Fatalf("Resurrect: %v", err)
		}
		online(t, "conf-a")
	})
	step("start whole ecosystem", func(t *testing.T) {
		if err := c.StartEcosystem(ctx, h.Ecosystem); err != nil {
			t.Fatalf("StartEcosystem: %v", err)
		}
		online(t, "conf-a")
		online(t, "conf-b")
	})
	step("delete and restore one app", func(t *testing.T) {
		del, ok := c.(pm2.Deleter)
		if !ok {
			t.Skip("the client does not implement pm2.Deleter")
		}
		if err := c.Save(ctx); err != nil {
			t.Fatalf("Save: %v", err)
		}
		if err := del.Delete(ctx, "conf-b"); err != nil {
			t.Fatalf("Delete conf-b: %v", err)
		}
		waitFor(t, "conf-b", func(_ pm2.Process, found bool) bool { return !found }, "deleted")
		if err := del.Delete(ctx, "conf-nope"); !errors.Is(err, pm2.ErrProcessNotFound) {
			t.Errorf("Delete(conf-nope) = %v, want ErrProcessNotFound", err)
		}
		res, ok := c.(pm2.AppRestorer)
		if !ok || h.Home == "" {
			t.Skip("the client does not implement pm2.AppRestorer, or the harness has no home")
		}
		dump := filepath.Join(h.Home, pm2.DumpFile)
		for range 2 { // the second is a retry: it must add nothing
			if err := res.RestoreApp(ctx, dump, "conf-b"); err != nil {
				t.Fatalf("RestoreApp conf-b: %v", err)
			}
			online(t, "conf-b")
		}
		procs, err := c.List(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, name := range []string{"conf-a", "conf-b"} {
			if n := count(procs, name); n != 1 {
				t.Errorf("%d processes named %s after restoring conf-b twice, want 1", n, name)
			}
		}
		if err := res.RestoreApp(ctx, dump, "conf-nope"); !errors.Is(err, pm2.ErrProcessNotFound) {
			t.Errorf("RestoreApp(conf-nope) = %v, want ErrProcessNotFound", err)
		}
	})
	step("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.List(cctx); err == nil {
			t.Error("List with a cancelled context succeeded")
		}
		if err := c.Restart(cctx, "conf-a"); err == nil {
			t.Error("Restart with a cancelled context succeeded")
		}
	})
}

func count(procs []pm2.Process, name string) int {
	n := 0
	for _, p := range procs {
		if p.Name == name {
			n++
		}
	}
	return n
}
