package main

import (
	"context"
	"fmt"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy"
)

// newChecker is a minimal full PM2 check: list, then every expected app
// must be online.
func newChecker(c pm2.Client, apps []string) redundancy.Checker {
	return redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
		procs, err := c.List(ctx)
		if err != nil {
			return redundancy.ErrorReport(err)
		}
		status := map[string]pm2.ProcessStatus{}
		for _, p := range procs {
			status[p.Name] = p.Status
		}
		var fs []redundancy.Finding
		for _, a := range apps {
			if st := status[a]; st != pm2.StatusOnline {
				fs = append(fs, redundancy.Finding{Subject: a, Problem: "pm2.not-online",
					Status: redundancy.StatusUnhealthy, Detail: fmt.Sprintf("status %q", st)})
			}
		}
		return redundancy.NewReport(fmt.Sprintf("%d processes", len(procs)), fs...)
	})
}
