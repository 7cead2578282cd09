package ghactions

import (
	"fmt"
	"path"
	"strings"
)

// Repo says which repository, branch and workflows a Checker watches.
// Its yaml keys are those of an entry of a TargetConfig's repos.
type Repo struct {
	Owner string `yaml:"owner"` // "octo"
	Name  string `yaml:"name"`  // "app"
	// Branch: runs on this branch are judged. Empty: the repository's
	// default branch, read from GitHub at every check.
	Branch string `yaml:"branch"`
	// Workflows limits the check to these workflows, each given as a file
	// name ("ci.yml"), a path (".github/workflows/ci.yml") or a workflow
	// name ("CI"). Empty: every workflow of the repository.
	Workflows []string `yaml:"workflows"`
}

// String returns "owner/name@branch" ("owner/name" when Branch is empty).
func (r Repo) String() string {
	if r.Branch == "" {
		return r.FullName()
	}
	return r.FullName() + "@" + r.Branch
}

// FullName returns "owner/name".
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

func (r Repo) validate() error {
	bad := func(field, v string) error {
		return fmt.Errorf("ghactions: Repo.%s %q is not valid", field, v)
	}
	switch {
	case r.Owner == "" || strings.ContainsAny(r.Owner, "/ \t\n"):
		return bad("Owner", r.Owner)
	case r.Name == "" || strings.ContainsAny(r.Name, "/ \t\n"):
		return bad("Name", r.Name)
	case r.Branch != "" && (strings.TrimSpace(r.Branch) != r.Branch || strings.ContainsAny(r.Branch, " \t\n")):
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
