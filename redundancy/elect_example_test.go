package redundancy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uras-dev/uras/redundancy"
)

// Two monitors on one host share a state directory: a FileLock elects the
// one that repairs the shared target; both check it. (Across hosts, use
// the etcd elector of package redundancy/etcd the same way.)
func ExampleWithElection() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "uras-example-")
	defer os.RemoveAll(dir)
	shared, _ := redundancy.NewFileStore(filepath.Join(dir, "shared"))
	lockPath := filepath.Join(dir, "leader.lock")

	// The other monitor, web-1, leads: it holds the lock for as long as
	// it runs (Run campaigns; here it is taken by hand).
	web1, _ := redundancy.NewFileLock(lockPath, "web-1")
	term, _ := web1.Campaign(ctx)

	lock, _ := redundancy.NewFileLock(lockPath, "web-2")
	o := redundancy.New(redundancy.WithElection(redundancy.Election{
		Elector: lock, Store: lock.Store(shared), CampaignWait: 100 * time.Millisecond}))
	_ = o.Add(redundancy.Target{
		Name: "site", Shared: true, Policy: redundancy.Policy{FailureThreshold: 1},
		Checker: redundancy.CheckerFunc(func(context.Context) redundancy.Report {
			return redundancy.Report{Status: redundancy.StatusUnhealthy, Summary: "502 on /"}
		}),
		Recoverer: redundancy.RecovererFunc(func(context.Context, redundancy.Report) ([]redundancy.Action, error) {
			return []redundancy.Action{{Verb: "site.restore", Subject: "shop", Do: func(context.Context) error {
				fmt.Println("web-2 restores the site")
				return nil
			}}}, nil
		}),
	})

	snap := o.Tick(ctx) // web-2 checks the site, and leaves its repair to web-1
	fmt.Println(snap.Targets[0].Status, "; leader:", snap.Election.Leader)
	_, err := o.RecoverNow(ctx, []string{"site"})
	fmt.Println(err)

	_ = term.Resign(ctx) // web-1 stops: web-2 may act
	_, err = o.RecoverNow(ctx, []string{"site"})
	fmt.Println(err)
	// Output:
	// unhealthy ; leader: web-1
	// recover "site": redundancy: not the leader: "web-1" leads the group
	// web-2 restores the site
	// <nil>
}
