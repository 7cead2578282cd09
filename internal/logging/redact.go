package logging

import (
	"os"

	"github.com/uras-dev/uras/redundancy"
)

// Redacted replaces a secret.
const Redacted = redundancy.Redacted

// SecretEnv are the environment variables whose values are secrets
// wherever they appear.
var SecretEnv = redundancy.SecretEnvNames

// Redactor is the core's redactor.
type Redactor = redundancy.Redactor

// NewRedactor returns a redactor of secrets and of the current values of
// the SecretEnv variables (the launcher reads the environment; the core's
// redactor never does).
func NewRedactor(secrets ...string) *Redactor {
	r := redundancy.NewRedactor(secrets...)
	for _, name := range SecretEnv {
		r.Add(os.Getenv(name))
	}
	return r
}
