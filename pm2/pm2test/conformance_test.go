package pm2test_test

import (
	"path/filepath"
	"testing"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/pm2/pm2test"
)

func TestFakeClientConformance(t *testing.T) {
	t.Parallel()
	pm2test.TestClient(t, func(t *testing.T) pm2test.Harness {
		f := pm2test.NewFakeClient()
		f.SetHome(t.TempDir())
		f.DefineEcosystem("ecosystem.json", pm2.Process{Name: "conf-a"}, pm2.Process{Name: "conf-b"})
		return pm2test.Harness{Client: f, Ecosystem: "ecosystem.json", KillDaemon: func(testing.TB) { f.KillDaemon() }, Home: f.Home()}
	})
}

func TestCLIConformance(t *testing.T) {
	t.Parallel()
	pm2test.TestClient(t, func(t *testing.T) pm2test.Harness {
		d := pm2test.StartDaemon(t)
		eco := filepath.Join(d.Dir, "conformance.json")
		if err := d.WriteEcosystem(eco, pm2test.ConformanceApps...); err != nil {
			t.Fatal(err)
		}
		return pm2test.Harness{Client: d.Client, Ecosystem: eco, KillDaemon: d.KillDaemon, Home: d.Home}
	})
}

func TestNativeConformance(t *testing.T) {
	t.Parallel()
	pm2test.TestClient(t, func(t *testing.T) pm2test.Harness {
		d := pm2test.StartDaemon(t)
		eco := filepath.Join(d.Dir, "conformance.json")
		if err := d.WriteEcosystem(eco, pm2test.ConformanceApps...); err != nil {
			t.Fatal(err)
		}
		n := pm2.NewNative(pm2.NativeOptions{Home: d.Home, Fallback: d.Client})
		return pm2test.Harness{Client: n, Ecosystem: eco, KillDaemon: d.KillDaemon, Home: d.Home}
	})
}
