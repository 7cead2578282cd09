package ghactions

import (
	"fmt"
	"path"
	"strings"
)

// Repo says which repository, branch and workflows a Checker watches.
type Repo struct {
	Owner  string // "octo"
	Name   string // "app"
	Branch string // runs on this branch are judged; required
	// Workflows limits the check to these workflows, each given as a file
	// name ("ci.yml"), a path (".github/workflows/ci.yml") or a workflow
	// name ("CI"). Empty: every workflow of the repository.
	Workflows []string
}

// String returns "owner/name@branch".
func (r Repo) String() string { return r.Owner + "/" + r.Name + "@" + r.Branch }

func (r Repo) validate() error {
	bad := func(field, v string) error {
		return fmt.Errorf("ghactions: Repo.%s %q is not valid", field, v)
	}
	switch {
	case r.Owner == "" || strings.ContainsAny(r.Owner, "/ \t\n"):
		return bad("Owner", r.Owner)
	case r.Name == "" || strings.ContainsAny(r.Name, "/ \t\n"):
		return bad("Name", r.Name)
	case strings.TrimSpace(r.Branch) == "":
		return bad("Branch", r.Branch)
	}
	for _, w := range r.Workflows {
		if strings.TrimSpace(w) == "" {
			return fmt.Errorf("ghactions: Repo.Workflows holds an empty name")
		}
	}
	return nil
}

// matchWorkflow reports whether a workflow with path p and name n is the
// one the user named want.
func matchWorkflow(want, p, n string) bool {
	return want == p || want == path.Base(p) || want == n
}
