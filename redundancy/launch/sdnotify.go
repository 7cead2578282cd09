package launch

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The environment systemd gives a service of Type=notify.
const (
	envNotifySocket = "NOTIFY_SOCKET"
	envWatchdogUsec = "WATCHDOG_USEC"
	envWatchdogPID  = "WATCHDOG_PID"
)

// sdNotifier speaks systemd's notify protocol (sd_notify(3)): one
// datagram per message to the unix socket NOTIFY_SOCKET names ("@..."
// is in the abstract namespace).
type sdNotifier struct {
	addr *net.UnixAddr
}

// newSDNotifier returns the notifier of env, or nil when NOTIFY_SOCKET is
// not set (not run by systemd, or not Type=notify).
func newSDNotifier(env []string) (*sdNotifier, error) {
	path := lookupEnv(env, envNotifySocket)
	if path == "" {
		return nil, nil
	}
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "@") {
		return nil, fmt.Errorf("launch: %s %q: want an absolute path or an abstract socket (@name)", envNotifySocket, path)
	}
	return &sdNotifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}, nil
}

// notify sends one message ("READY=1", "WATCHDOG=1", "STOPPING=1",
// "STATUS=..."; several joined by newlines).
func (n *sdNotifier) notify(msg string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("launch: sd_notify: %w", err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("launch: sd_notify: %w", err)
	}
	return nil
}

// watchdogEvery returns how often to send WATCHDOG=1: half of
// WATCHDOG_USEC, when it is set and WATCHDOG_PID (if set) is pid.
func watchdogEvery(env []string, pid int) (time.Duration, error) {
	usec := lookupEnv(env, envWatchdogUsec)
	if usec == "" {
		return 0, nil
	}
	if p := lookupEnv(env, envWatchdogPID); p != "" && p != strconv.Itoa(pid) {
		return 0, nil // the watchdog is another process's
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0, errors.New("launch: " + envWatchdogUsec + " is not a positive number of microseconds")
	}
	return time.Duration(n) * time.Microsecond / 2, nil
}
