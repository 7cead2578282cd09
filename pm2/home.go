package pm2

import (
	"context"
	"os"
	"path/filepath"
)

// HomeState is what a PM2_HOME holds: signs that a PM2 daemon runs there
// or ran there with apps to bring back.
type HomeState struct {
	Home string
	// Dump: dump.pm2 or dump.pm2.bak lists at least one app, or does not
	// decode.
	Dump bool
	// PIDFile: pm2.pid exists (a daemon runs, or died without cleaning up).
	PIDFile bool
	// Socket: rpc.sock exists.
	Socket bool
	// Listening: a daemon accepts connections on rpc.sock.
	Listening bool
}

// InspectHome looks at home without starting anything.
func InspectHome(ctx context.Context, home string) HomeState {
	s := HomeState{Home: home}
	// A dump file that does not decode (cut short by a full disk) held
	// apps too: it is something to watch.
	for _, name := range []string{DumpFile, DumpBackup} {
		if d := ReadDump(filepath.Join(home, name)); d.Usable() || d.Err != nil {
			s.Dump = true
		}
	}
	if _, err := os.Stat(filepath.Join(home, PIDFile)); err == nil {
		s.PIDFile = true
	}
	if _, err := os.Stat(filepath.Join(home, RPCSocketFile)); err == nil {
		s.Socket = true
	}
	s.Listening = daemonListening(ctx, home) == nil
	return s
}

// Present reports whether there is something to watch: a daemon
// listening, or one that ran and left its pid file, its socket or a dump
// of apps to bring back.
func (s HomeState) Present() bool { return s.Listening || s.Dump || s.PIDFile || s.Socket }
