// Package e2e holds the end-to-end tests of the example commands: they
// build examples/launcher, examples/master and examples/ultimate and run
// the binaries.
package e2e
