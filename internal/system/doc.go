// Package system composes the example commands' orchestrators from a
// configuration: it turns the PM2, GitHub and Netlify sections into
// redundancy targets (Targets), lays them out in one of the three modes
// (Build: launcher, master, ultimate), and renders the dashboard (Render,
// Status).
//
// The three example mains differ only in the Layout they pass; everything
// else is shared here and in internal/cli.
package system
