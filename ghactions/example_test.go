package ghactions_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/uras-dev/uras/ghactions"
	"github.com/uras-dev/uras/ghactions/ghtest"
	"github.com/uras-dev/uras/redundancy"
)

// A repository whose CI run failed: the checker finds it, the recoverer
// plans a re-run of the failed jobs, and the orchestrator runs it.
func Example() {
	srv := ghtest.NewServer() // a fake GitHub; use ghactions.NewClient() for the real one
	defer srv.Close()
	wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Name: "CI", Path: ".github/workflows/ci.yml"})
	run := srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionFailure})

	// For the real GitHub: ghactions.NewClient(ghactions.WithToken(token)),
	// with the token your program read and registered with its redactor.
	client := srv.Client()
	checker, err := ghactions.NewChecker(client, ghactions.Repo{Owner: "octo", Name: "app", Branch: "main"})
	if err != nil {
		log.Fatal(err)
	}
	recoverer, err := ghactions.NewRecoverer(checker, ghactions.WithMaxReruns(2))
	if err != nil {
		log.Fatal(err)
	}

	o := redundancy.New()
	if err := o.Add(redundancy.Target{Name: "octo-app", Checker: checker, Recoverer: recoverer,
		Policy: redundancy.Policy{FailureThreshold: 1}}); err != nil {
		log.Fatal(err)
	}
	st := o.Tick(context.Background()).Targets[0]
	for _, f := range st.Report.Findings {
		fmt.Println(f.Subject, f.Problem)
	}
	for _, a := range st.History {
		fmt.Println(a.Verb, a.Subject, a.OK())
	}
	r, _ := srv.Run(run)
	fmt.Println("run attempt", r.Attempt, r.Status)
	// Output:
	// .github/workflows/ci.yml github.run-failed
	// github.rerun-failed-jobs .github/workflows/ci.yml true
	// run attempt 2 queued
}

// The second check of an unchanged repository is answered with 304s and
// costs no rate limit.
func ExampleClient_Stats() {
	srv := ghtest.NewServer()
	defer srv.Close()
	for _, f := range []string{"ci.yml", "deploy.yml"} {
		wf := srv.AddWorkflow("octo", "app", ghtest.Workflow{Path: ".github/workflows/" + f})
		srv.AddRun("octo", "app", ghtest.Run{WorkflowID: wf, Branch: "main", Conclusion: ghactions.ConclusionSuccess})
	}
	client := srv.Client()
	checker, _ := ghactions.NewChecker(client, ghactions.Repo{Owner: "octo", Name: "app", Branch: "main"})

	checker.Check(context.Background())
	fmt.Println("first: ", client.Stats())
	before := client.Stats()
	checker.Check(context.Background())
	fmt.Println("steady:", client.Stats().Sub(before))
	// Output:
	// first:  requests=3 sent=3 not-modified=0 charged=3 blocked=0 writes=0 paced=0
	// steady: requests=3 sent=3 not-modified=3 charged=0 blocked=0 writes=0 paced=0
}

// A workflow file broken by a bad edit is restored from the backup store;
// the broken copy is kept beside it.
func ExampleWorkflowFiles() {
	root, _ := os.MkdirTemp("", "repo")
	defer os.RemoveAll(root)
	dir := filepath.Join(root, ".github", "workflows")
	_ = os.MkdirAll(dir, 0o755)
	good := "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n"
	_ = os.WriteFile(filepath.Join(dir, "ci.yml"), []byte(good), 0o644)

	store, err := ghactions.OpenBackupStore(filepath.Join(root, "backup"))
	if err != nil {
		log.Fatal(err)
	}
	files, err := ghactions.NewWorkflowFiles(root, store)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fmt.Println(files.Check(ctx).Status) // ci.yml is now known-good

	_ = os.WriteFile(filepath.Join(dir, "ci.yml"), []byte("on: push\njobs:\n  test:\n    needs: test\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n"), 0o644)
	rep := files.Check(ctx)
	fmt.Println(rep.Status, rep.Findings[0].Problem)
	plan, _ := files.Plan(ctx, rep)
	for _, a := range plan {
		fmt.Println(a.Verb, a.Subject, a.Do(ctx))
	}
	restored, _ := os.ReadFile(filepath.Join(dir, "ci.yml"))
	fmt.Println(string(restored) == good)
	broken, _ := filepath.Glob(filepath.Join(dir, "ci.yml.broken-*"))
	fmt.Println(len(broken), "broken copy kept")
	// Output:
	// healthy
	// unhealthy github.workflow-file-invalid
	// github.restore-workflow-file .github/workflows/ci.yml <nil>
	// true
	// 1 broken copy kept
}
