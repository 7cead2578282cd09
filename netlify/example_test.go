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
// the last deploy that passed its probes while it was published, and probes
// again.
func Example() {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "shop", Name: "shop"})
	srv.AddDeploy(site, netlify.Deploy{ID: "good"}, true)
	srv.SetFunction("hello", netlifytest.Function{Body: "hi"})
	srv.SetDeployFunction("broken", "hello", netlifytest.Function{Status: 500})

	dir, err := os.MkdirTemp("", "uras-state")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	store, err := redundancy.NewFileStore(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The deploys that passed the probes while published, kept across
	// restarts: the only ones a restore may bring back.
	known := &netlify.KnownGood{Store: store}

	client := srv.Client() // in production: netlify.NewAPIClient(netlify.WithToken(token))
	probes := &netlify.ProbeChecker{SiteURL: srv.URL(), Endpoints: []netlify.Endpoint{{Name: "hello"}}}
	o := redundancy.New()
	err = o.Add(redundancy.Target{
		Name: "shop",
		Checker: &netlify.SiteChecker{
			Deploys:   &netlify.DeployChecker{Client: client, SiteID: site},
			Probes:    probes,
			KnownGood: known,
		},
		Recoverer: &netlify.Recoverer{Client: client, SiteID: site, Probes: probes, KnownGood: known},
		Policy:    redundancy.Policy{FailureThreshold: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	o.Tick(ctx) // "good" passes its probes: it is remembered

	srv.AddDeploy(site, netlify.Deploy{ID: "broken"}, true) // a new deploy breaks hello
	o.Trigger("shop")
	snap := o.Tick(ctx)
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
	deploys, page, err := client.ListDeploys(context.Background(), site, netlify.ListDeploysOptions{Production: &prod, PerPage: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range deploys {
		fmt.Println(d.ID, d.State, d.ErrorMessage != "")
	}
	fmt.Println("more pages:", page.More())
	// Output:
	// d2 error true
	// d1 ready false
	// more pages: false
}

// Every deploy of a site, across pages, newest first.
func ExampleAllDeploys() {
	srv := netlifytest.NewServer()
	defer srv.Close()
	site := srv.AddSite(netlify.Site{ID: "shop"})
	for i := range 250 {
		srv.AddDeploy(site, netlify.Deploy{ID: fmt.Sprintf("d%03d", i)}, false)
	}
	n := 0
	for d, err := range netlify.AllDeploys(context.Background(), srv.Client(), site, netlify.ListDeploysOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if n == 0 {
			fmt.Println("newest:", d.ID)
		}
		n++
	}
	fmt.Println("deploys:", n, "requests:", srv.CallCount("GET /api/v1/sites/shop/deploys"))
	// Output:
	// newest: d249
	// deploys: 250 requests: 3
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
		SiteURL: srv.URL(),
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
