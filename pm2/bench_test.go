package pm2_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
	"github.com/uras-dev/uras/redundancy"
)

// benchDaemon starts a real daemon with n online apps.
func benchDaemon(b *testing.B, n int) (*pm2test.Daemon, pm2.Config) {
	b.Helper()
	apps := make([]pm2test.App, n)
	cfgApps := make([]pm2.App, n)
	for i := range apps {
		apps[i] = pm2test.App{Name: fmt.Sprintf("app-%02d", i), Script: pm2test.AppUp}
		cfgApps[i] = pm2.App{Name: apps[i].Name}
	}
	d := pm2test.StartDaemon(b, apps...)
	for _, a := range apps {
		d.WaitStatus(b, a.Name, pm2.StatusOnline, time.Minute)
	}
	if err := d.Client.Save(context.Background()); err != nil {
		b.Fatal(err)
	}
	return d, pm2.Config{Apps: cfgApps, Home: d.Home}
}

func benchCheck(b *testing.B, c *pm2.Checker) {
	b.Helper()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if r := c.Check(ctx); r.Status != redundancy.StatusHealthy {
			b.Fatalf("check: %s", r.Summary)
		}
	}
}

// BenchmarkCheckCLI measures one full PM2 check (pm2 jlist through the CLI
// client, then the evaluation, dump and log checks) with 10 real processes.
func BenchmarkCheckCLI(b *testing.B) {
	d, cfg := benchDaemon(b, 10)
	benchCheck(b, pm2.NewChecker(d.Client, cfg))
}

// BenchmarkCheckNative is the same check through the native socket client.
func BenchmarkCheckNative(b *testing.B) {
	d, cfg := benchDaemon(b, 10)
	benchCheck(b, pm2.NewChecker(pm2.NewNative(pm2.NativeOptions{Home: d.Home}), cfg))
}
