package pm2

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uras-dev/uras/internal/fsutil"
)

// Files PM2 keeps in PM2_HOME.
const (
	RPCSocketFile = "rpc.sock"     // the daemon's RPC socket
	PIDFile       = "pm2.pid"      // the daemon's PID
	DumpFile      = "dump.pm2"     // the saved process list (pm2 save, pm2 resurrect)
	DumpBackup    = "dump.pm2.bak" // the previous dump, kept by pm2 save
	DaemonLog     = "pm2.log"      // the daemon's own log
)

// daemonDialTimeout bounds the connect to the RPC socket.
const daemonDialTimeout = 2 * time.Second

// daemonListening reports whether a daemon accepts connections on
// home/rpc.sock, without starting one: nil when it does, an error wrapping
// ErrDaemonDown when nothing listens there.
func daemonListening(ctx context.Context, home string) error {
	sock := filepath.Join(home, RPCSocketFile)
	ctx, cancel := context.WithTimeout(ctx, daemonDialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err == nil {
		_ = conn.Close()
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w (nothing listens on %s)", ErrDaemonDown, sock)
	}
	return fmt.Errorf("connect to %s: %w", sock, err)
}

// maxPIDFileSize bounds what is read of the daemon's pm2.pid.
const maxPIDFileSize = 64

// readPIDFile reads home's pm2.pid, bounded: a FIFO or a device there (a
// corrupt or hostile PM2 home) is refused, never read.
func readPIDFile(home string) ([]byte, error) {
	return fsutil.ReadFile(filepath.Join(home, PIDFile), maxPIDFileSize)
}

var titleVersion = regexp.MustCompile(`PM2 v([0-9A-Za-z.+-]+)`)

// daemonInfo reads the daemon's PID from home/pm2.pid and, where /proc
// shows the process title PM2 sets ("PM2 v7.0.4: God Daemon (...)"), its
// version. Missing pieces stay zero.
func daemonInfo(home string) DaemonInfo {
	var info DaemonInfo
	b, err := readPIDFile(home)
	if err != nil {
		return info
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return info
	}
	info.PID = pid
	if title, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
		if m := titleVersion.FindSubmatch(title); m != nil {
			info.Version = string(m[1])
		}
	}
	return info
}
