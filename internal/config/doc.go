// Package config reads the YAML configuration of the example commands
// (examples/launcher, examples/master, examples/ultimate): what to watch
// (PM2, GitHub Actions, Netlify), how patiently (policies), where to alert
// and where to keep logs, state and the PID file.
//
// Load reads a file strictly: an unknown key, a value of the wrong type,
// a bad duration, a missing required field or an unreadable file is one
// *Error naming the file, the line and the key. Without a file, the
// embedded default (Default) watches the local PM2, the .github/workflows
// of the current directory and the Netlify functions manifest of the
// current directory, each skipped with a note when absent.
//
// Environment variables override the file: GITHUB_TOKEN and
// NETLIFY_AUTH_TOKEN (or the variables named by token_env) give the
// tokens, which never come from the file; REDUNDANCY_LOG_LEVEL sets the
// log level and PM2_REDUNDANCY_LOG_LEVEL, GITHUB_REDUNDANCY_LOG_LEVEL and
// NETLIFY_REDUNDANCY_LOG_LEVEL set one system's level.
package config
