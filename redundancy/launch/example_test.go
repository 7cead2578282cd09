package launch_test

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/uras-dev/uras/redundancy"
	"github.com/uras-dev/uras/redundancy/launch"
)

// config is this launcher's own configuration.
type config struct {
	URL string
}

// hello is a launcher with one target written as a CheckerFunc: it
// compiles outside this module, needing nothing from internal/.
var hello = launch.Command[config]{
	Name:    "hello",
	Summary: "hello keeps an eye on one URL.",
	Load: func(path string) (config, launch.Settings, error) {
		// Read path as you like (it is "" without -config); the launcher
		// needs only its Settings.
		return config{URL: "https://example.com/"}, launch.Settings{LogDir: "logs", StateDir: ".hello", Listen: "127.0.0.1:9400"}, nil
	},
	Build: func(ctx context.Context, cfg config, b launch.Build) (*launch.System, error) {
		root := redundancy.New(redundancy.WithLogger(b.Logger("")), redundancy.WithDryRun(b.DryRun))
		err := root.Add(redundancy.Target{
			Name: "site",
			Checker: redundancy.CheckerFunc(func(ctx context.Context) redundancy.Report {
				req, err := http.NewRequestWithContext(ctx, http.MethodHead, cfg.URL, nil)
				if err != nil {
					return redundancy.ErrorReport(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return redundancy.ErrorReport(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode >= 500 {
					return redundancy.NewReport("site is down", redundancy.Finding{Subject: cfg.URL, Problem: "site.down", Status: redundancy.StatusUnhealthy, Detail: resp.Status})
				}
				return redundancy.NewReport("site is up")
			}),
			Policy: redundancy.Policy{Interval: time.Minute},
		})
		if err != nil {
			return nil, err
		}
		return &launch.System{Root: root}, nil
	},
}

// A launcher is a Command and a main: `hello start`, `hello status`,
// `hello health-check`, `hello monitor` and the other verbs come with it.
func Example() {
	os.Exit(launch.Main(hello))
}
