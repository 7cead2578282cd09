package pm2_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// A PM2 target under an orchestrator: the app crashed past max_restarts,
// the first cycle finds it errored and restarts it, then saves the dump.
// The fake client stands in for pm2.NewCLI() here.
func Example() {
	client := pm2test.NewFakeClient(pm2.Process{Name: "web"})
	client.Crash("web")

	cfg := pm2.Config{Apps: []pm2.App{{Name: "web"}}, LogMaxBytes: -1, MinFreeBytes: -1}
	o := redundancy.New(redundancy.WithClock(redundancytest.NewFakeClock(time.Unix(0, 0))))
	err := o.Add(redundancy.Target{
		Name:      "pm2",
		Checker:   pm2.NewChecker(client, cfg),
		Recoverer: pm2.NewRecoverer(client, cfg),
		Policy:    redundancy.Policy{FailureThreshold: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	st := o.Tick(context.Background()).Targets[0]
	fmt.Println(st.Report.Summary)
	for _, a := range st.History {
		fmt.Println(a.Verb, a.Subject)
	}
	fmt.Println("web is", client.Processes()[0].Status)
	// Output:
	// 1 process (1 errored); 1 finding: pm2.errored web
	// pm2.restart web
	// pm2.save dump.pm2
	// web is online
}

// Checking PM2 once, without an orchestrator.
func ExampleChecker() {
	client := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "worker", Status: pm2.StatusStopped})
	checker := pm2.NewChecker(client, pm2.Config{
		Apps:         []pm2.App{{Name: "web"}, {Name: "worker"}, {Name: "cron"}},
		LogMaxBytes:  -1,
		MinFreeBytes: -1,
	})
	r := checker.Check(context.Background())
	fmt.Println(r.Status)
	for _, f := range r.Findings {
		fmt.Println(f.Subject, f.Problem)
	}
	// Output:
	// unhealthy
	// worker pm2.stopped
	// cron pm2.missing
}

// The CLI client runs the pm2 binary; a daemon that is not running is an
// error you can test for, and pm2 is never left to start an empty one.
func ExampleNewCLI() {
	home, _ := os.MkdirTemp("", "pm2-home-")
	defer os.RemoveAll(home)
	client := pm2.NewCLI(pm2.WithHome(home), pm2.WithTimeout(10*time.Second))
	_, err := client.List(context.Background())
	fmt.Println(errors.Is(err, pm2.ErrDaemonDown))
	// Output: true
}

// Rotating a log keeps the file in place and every line in the archive.
func ExampleRotateLog() {
	dir, _ := os.MkdirTemp("", "logs-")
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "web-out.log")
	_ = os.WriteFile(log, []byte("hello\n"), 0o644)

	archive, err := pm2.RotateLog(log, pm2.RotateOptions{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Keep: 30})
	if err != nil {
		fmt.Println(err)
		return
	}
	fi, _ := os.Stat(log)
	fmt.Println(filepath.Base(archive), fi.Size())
	// Output: web-out.log.20260102T030405.000Z.gz 0
}

// Reading the apps of an ecosystem file; only names, scripts and exec
// settings are read, never env blocks.
func ExampleLoadEcosystem() {
	eco, err := pm2.LoadEcosystem(context.Background(), "testdata/ecosystem/ecosystem.yaml", "node", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(eco.Names())
	// Output: [web api]
}

// The guard: the known-good list is kept in a Store the checker and the
// recoverer share. An app deleted by hand is missing; the dry run (Plan
// alone) shows the rung the ladder is on: restore it alone from its
// dump.pm2 entry, then the guarded save.
func ExampleKnownGoodList() {
	home, err := os.MkdirTemp("", "pm2-home-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)
	ctx := context.Background()
	client := pm2test.NewFakeClient(pm2.Process{Name: "web"}, pm2.Process{Name: "worker"})
	client.SetHome(home) // the fake writes dump.pm2 there, as pm2 save does
	_ = client.Save(ctx)
	_ = client.Save(ctx)

	store := redundancy.NewMemoryStore() // redundancy.NewFileStore(dir) to outlive the process
	cfg := pm2.Config{Home: home, Store: store, LogMaxBytes: -1, MinFreeBytes: -1}
	checker, recoverer := pm2.NewChecker(client, cfg), pm2.NewRecoverer(client, cfg)
	checker.Check(ctx) // healthy: the list is recorded
	k, _ := pm2.NewKnownGoodList(store, home, 0).Latest(ctx)
	fmt.Println("known good:", k.Names())

	_ = client.Delete(ctx, "worker")
	plan, _ := recoverer.Plan(ctx, checker.Check(ctx))
	for _, a := range plan {
		fmt.Println(a.Verb, a.Subject)
	}
	// Output:
	// known good: [web worker]
	// pm2.restore-app worker
	// pm2.save dump.pm2
}
