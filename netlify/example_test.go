package netlify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uras-dev/uras/netlify"
	"github.com/uras-dev/uras/netlify/netlifytest"
	"github.com/uras-dev/uras/redundancy"
)

// A site whose newest deploy broke its function: the orchestrator restores
// the deploy before it and probes again.
func Example() {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "shop", Name: "shop"})
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv.AddDeploy(site, netlify.Deploy{ID: "good", CreatedAt: base}, false)
	srv.AddDeploy(site, netlify.Deploy{ID: "broken", CreatedAt: base.Add(time.Hour)}, true)
	srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	srv.SetDeployFunction("broken", "hello", netlifytest.Function{Status: 500})

	client := srv.Client() // in production: netlify.NewAPIClient()
	probes := &netlify.ProbeChecker{SiteURL: srv.URL, Endpoints: []netlify.Endpoint{{Name: "hello"}}}
	o := redundancy.New()
	err := o.Add(redundancy.Target{
		Name: "shop",
		Checker: &netlify.SiteChecker{
			Deploys: &netlify.DeployChecker{Client: client, SiteID: site},
			Probes:  probes,
		},
		Recoverer: &netlify.Recoverer{Client: client, SiteID: site, Probes: probes},
		Policy:    redundancy.Policy{FailureThreshold: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	snap := o.Tick(context.Background())
	for _, r := range snap.Targets[0].History {
		fmt.Println(r.Verb, r.Subject, r.OK())
	}
	fmt.Println("published:", srv.Published(site))
	// Output:
	// netlify.restore-deploy good true
	// netlify.verify-endpoints hello true
	// published: good
}

func ExampleAPIClient_ListDeploys() {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "d1"}, true)
	srv.AddDeploy(site, netlify.Deploy{ID: "d2", State: netlify.DeployError, ErrorMessage: "Build script returned non-zero exit code: 2"}, false)

	client := srv.Client() // in production: netlify.NewAPIClient(netlify.WithToken(token))
	prod := true
	deploys, err := client.ListDeploys(context.Background(), site, netlify.ListDeploysOptions{Production: &prod, PerPage: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range deploys {
		fmt.Println(d.ID, d.State, d.ErrorMessage)
	}
	// Output:
	// d2 error Build script returned non-zero exit code: 2
	// d1 ready
}

func ExampleRegenerateManifest() {
	root, err := os.MkdirTemp("", "site")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	fns := filepath.Join(root, "netlify", "functions")
	_ = os.MkdirAll(filepath.Join(fns, "import-background"), 0o755)
	_ = os.WriteFile(filepath.Join(fns, "hello.mts"), []byte("export default () => new Response('hi')"), 0o644)
	_ = os.WriteFile(filepath.Join(fns, "import-background", "index.js"), []byte("exports.handler = async () => {}"), 0o644)

	manifest := filepath.Join(root, netlify.DefaultManifestPath)
	m, err := netlify.RegenerateManifest(fns, manifest, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range m.Functions {
		fmt.Println(f.Name, f.Runtime, f.Background())
	}
	// Output:
	// hello js false
	// import-background js true
}

func ExampleProbeChecker() {
	srv := netlifytest.NewServer()
	defer srv.Close()
	srv.SetFunction("hello", netlifytest.Function{Body: "hello world"})
	srv.SetFunction("report-background", netlifytest.Function{Status: 202})

	pc := &netlify.ProbeChecker{
		SiteURL: srv.URL,
		Endpoints: []netlify.Endpoint{
			{Name: "hello", BodyContains: "world"},
			{Name: "report-background"}, // background: 202 expected
			{Name: "missing"},
		},
		Timeout: 5 * time.Second,
	}
	rep := pc.Check(context.Background())
	fmt.Println(rep.Status)
	for _, f := range rep.Findings {
		fmt.Println(f)
	}
	// Output:
	// unhealthy
	// missing: netlify.endpoint-down (unhealthy): GET /.netlify/functions/missing: status 404, want 200
}
