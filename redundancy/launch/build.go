package launch

import (
	"log/slog"
	"os"

	"github.com/uras-dev/uras/redundancy"
)

// Secret returns the value of the environment variable name ("" for no
// name) and registers it with the Redactor, so that it appears in no
// output: the way a Build function reads a token to hand to a provider,
//
//	ghactions.WithToken(b.Secret(cfg.GitHub.TokenVar()))
func (b Build) Secret(name string) string {
	if name == "" {
		return ""
	}
	getenv := b.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv(name)
	if b.Redactor != nil {
		b.Redactor.Add(v)
	}
	return v
}

// Options returns the options every orchestrator of a launcher takes: the
// part's logger (b.Logger(part); "" is the general logger), the dry run of
// recover -dry-run and the Redactor.
func (b Build) Options(part string) []redundancy.Option {
	log := slog.New(slog.DiscardHandler)
	if b.Logger != nil {
		log = b.Logger(part)
	}
	return []redundancy.Option{redundancy.WithLogger(log), redundancy.WithDryRun(b.DryRun), redundancy.WithRedactor(b.Redactor)}
}
