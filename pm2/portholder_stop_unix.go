//go:build unix

package pm2

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// How long stopHolder waits after SIGTERM, then after SIGKILL.
const (
	holderTermWait = 5 * time.Second
	holderKillWait = 2 * time.Second
)

// stopHolder stops h, a process outside PM2 declared ours holding port:
// SIGTERM, then SIGKILL if it is still there after holderTermWait. Before
// each signal it proves the process is still h (same pid and start time),
// still matches own and still listens on port; a holder that is gone (or
// let the port go) is done, nothing is signalled.
func stopHolder(ctx context.Context, h PortHolder, port int, own []string) error {
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, holderTermWait}, {syscall.SIGKILL, holderKillWait}} {
		same, err := stillHolds(h, port, own)
		if err != nil {
			return err
		}
		if !same {
			return nil
		}
		if err := syscall.Kill(h.PID, step.sig); err != nil {
			return fmt.Errorf("pm2: stop port holder %d: %w", h.PID, err)
		}
		if gone, err := waitGone(ctx, h, step.wait); err != nil || gone {
			return err
		}
	}
	return fmt.Errorf("pm2: port holder %s still runs after SIGKILL", h)
}

// stillHolds proves the process is still h and still holds port. false
// with no error: it is gone, or is another process now, or let the port go.
func stillHolds(h PortHolder, port int, own []string) (bool, error) {
	st, err := readProcStat(h.PID)
	if err != nil || st.start != h.start || st.state == 'Z' {
		return false, nil
	}
	if !matchesAny(procCmdline(h.PID), own) {
		return false, fmt.Errorf("pm2: port holder %d no longer matches the declared command lines: not signalled", h.PID)
	}
	inodes, err := listenInodes(port)
	if err != nil {
		return false, err
	}
	return slices.Contains(socketOwners(inodes), h.PID), nil
}

// waitGone waits up to d for h to end.
func waitGone(ctx context.Context, h PortHolder, d time.Duration) (bool, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := readProcStat(h.PID); err != nil || st.start != h.start || st.state == 'Z' {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline.C:
			return false, nil
		case <-tick.C:
		}
	}
}
