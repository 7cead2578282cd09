//go:build !linux

package pm2

import (
	"context"
	"errors"

	"github.com/uras-dev/uras/redundancy"
)

// canKillDaemon is false where /proc cannot prove which process is the
// daemon: the ladder of a hung daemon stops at SIGCONT.
const canKillDaemon = false

func killDaemon(context.Context, string, redundancy.Clock) error { return errors.ErrUnsupported }
