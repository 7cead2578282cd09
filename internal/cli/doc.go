// Package cli adapts the example commands' YAML configuration
// (internal/config) and composition (internal/system) to the public
// launcher, redundancy/launch: Load turns a configuration file into the
// launcher's Settings, Build composes a layout's orchestrators. The verbs,
// PID file, monitor and logs are the launcher's.
package cli
