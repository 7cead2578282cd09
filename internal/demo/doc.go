// Package demo runs an example command's orchestrators against an
// embedded environment and breaks it on purpose: a PM2 daemon in a
// temporary PM2_HOME (the real pm2 when it is installed, otherwise the
// in-memory pm2test fake, said plainly), a fake GitHub (ghtest) and a fake
// Netlify (netlifytest). It injects a fault in each system, prints the
// detection, the plan, the recovery and the final dashboard, cleans up
// everything it started, and reports whether every fault was recovered.
package demo
