//go:build !linux

package pm2

import (
	"context"
	"errors"
	"time"
)

// canKillDaemon is false where /proc cannot prove which process is the
// daemon: the ladder of a hung daemon stops at SIGCONT.
const canKillDaemon = false

func killDaemon(context.Context, string) error { return errors.ErrUnsupported }

// provenDaemonPID cannot prove here which process is the daemon: nothing
// is signalled through pm2.pid.
func provenDaemonPID(string) (int, error) { return 0, errors.ErrUnsupported }

// waitStopped cannot see a process's state here; nothing is paused (see
// provenDaemonPID).
func waitStopped(int, time.Duration) bool { return false }
