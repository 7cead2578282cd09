package pm2

import (
	"context"
	"errors"
)

// Client is what the PM2 checkers and recoverer need from PM2. Two
// implementations ship: CLI (runs the pm2 binary) and, later, a native client
// speaking the daemon's sockets; pm2test.FakeClient is an in-memory one.
//
// nameOrID is a process name or its numeric PM2 id as a string.
type Client interface {
	// List returns every process the daemon knows, env-free.
	List(ctx context.Context) ([]Process, error)
	// Restart restarts a process.
	Restart(ctx context.Context, nameOrID string) error
	// Reload reloads a process (zero-downtime in cluster mode).
	Reload(ctx context.Context, nameOrID string) error
	// Stop stops a process.
	Stop(ctx context.Context, nameOrID string) error
	// Start starts a stopped process already known to the daemon.
	Start(ctx context.Context, nameOrID string) error
	// StartEcosystem starts the apps of an ecosystem file; only, when given,
	// limits it to those app names (pm2 start FILE --only a,b).
	StartEcosystem(ctx context.Context, file string, only ...string) error
	// Resurrect restores the processes saved in the dump file.
	Resurrect(ctx context.Context) error
	// Save writes the current process list to the dump file.
	Save(ctx context.Context) error
	// Ping tells whether the daemon is alive and which version it runs.
	Ping(ctx context.Context) (DaemonInfo, error)
}

// DaemonInfo describes a running PM2 daemon.
type DaemonInfo struct {
	Version string
	PID     int
}

// Errors a Client returns, to be tested with errors.Is.
var (
	ErrNotInstalled    = errors.New("pm2: not installed")
	ErrDaemonDown      = errors.New("pm2: daemon not running")
	ErrProcessNotFound = errors.New("pm2: process not found")
)
