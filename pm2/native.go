package pm2

// The native client: PM2's RPC socket.
//
// The daemon serves an axon req/rep socket at $PM2_HOME/rpc.sock with the
// pm2-axon-rpc protocol. A request is one AMP frame of two arguments,
//
//	j:{"type":"call","method":"getMonitorData","args":[{}]}
//	s:<message id>
//
// and the reply is one frame carrying the same id last:
//
//	j:{"args":[<result>...]}            on success (the callback's error dropped)
//	j:{"error":"<message>","stack":...}  on failure
//	s:<message id>
//
// The methods used here are exposed by lib/Daemon.js: getMonitorData (the
// objects `pm2 jlist` prints), restartProcessId({id}), reloadProcessId({id}),
// stopProcessId(id), notifyByProcessId({id, action_name, manually}) and
// getVersion. The daemon cannot resurrect itself, start an ecosystem file
// (the CLI evaluates it) or write the dump file (the CLI does), so those go
// to a fallback Client, normally the CLI.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultNativeTimeout bounds one RPC call when the caller's context has no
// earlier deadline.
const DefaultNativeTimeout = 10 * time.Second

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path
// holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// NativeOptions configures a Native client. The zero value is usable: it
// talks to the daemon of $PM2_HOME (or ~/.pm2, as PM2 does) and has no
// fallback.
type NativeOptions struct {
	// Home is the daemon's PM2_HOME. Default: $PM2_HOME, else $HOME/.pm2.
	Home string
	// Timeout bounds one call when ctx has no earlier deadline. Default
	// DefaultNativeTimeout.
	Timeout time.Duration
	// Fallback runs what the daemon cannot do alone: Resurrect, StartEcosystem
	// and Save. It should be a CLI client for the same Home. Nil: those
	// methods return an error wrapping errors.ErrUnsupported.
	Fallback Client
	// ReconnectMin and ReconnectMax bound the backoff of Events between
	// reconnection attempts (doubling from Min up to Max). Defaults 100ms and 5s.
	ReconnectMin, ReconnectMax time.Duration
}

// Native is a Client that talks to a running PM2 daemon over its own RPC
// socket ($PM2_HOME/rpc.sock) instead of starting the pm2 command: a list
// takes milliseconds rather than a Node start. Its Events method follows the
// daemon's event socket. Each call opens its own connection, so a Native is
// safe for concurrent use and needs no closing.
type Native struct {
	home     string
	timeout  time.Duration
	fallback Client
	rmin     time.Duration
	rmax     time.Duration
	idPrefix string
	ids      atomic.Uint64
}

var _ Client = (*Native)(nil)

// NewNative returns a native client configured by opts (see NativeOptions for
// the defaults). It does not connect: the first call does.
func NewNative(opts NativeOptions) *Native {
	n := &Native{
		home:     opts.Home,
		timeout:  opts.Timeout,
		fallback: opts.Fallback,
		rmin:     opts.ReconnectMin,
		rmax:     opts.ReconnectMax,
		idPrefix: "uras-" + strconv.Itoa(os.Getpid()) + ":",
	}
	if n.home == "" {
		n.home = pm2Home()
	}
	if n.timeout <= 0 {
		n.timeout = DefaultNativeTimeout
	}
	if n.rmin <= 0 {
		n.rmin = 100 * time.Millisecond
	}
	if n.rmax <= 0 {
		n.rmax = 5 * time.Second
	}
	if n.rmax < n.rmin {
		n.rmax = n.rmin
	}
	return n
}

// Home returns the PM2_HOME this client talks to.
func (n *Native) Home() string { return n.home }

// RPCError is an error the daemon answered a call with.
type RPCError struct {
	Method  string // the RPC method called
	Message string // the daemon's message, cut to 200 bytes
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("pm2 rpc %s: daemon answered: %s", e.Method, e.Message)
}

// Is reports ErrProcessNotFound for the daemon's unknown-id answers ("God
// db process id unknown", "PM2 ID unknown", ...), as when a process is
// deleted between the lookup of its name and the action.
func (e *RPCError) Is(target error) bool {
	if target != ErrProcessNotFound {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "id unknown") || strings.Contains(m, "unknown pm_id") ||
		strings.Contains(m, "not available") || strings.Contains(m, "not found")
}

// List returns every process the daemon knows (getMonitorData), decoded
// like `pm2 jlist`: typed fields only, never the environment.
func (n *Native) List(ctx context.Context) ([]Process, error) {
	raw, err := n.call(ctx, "getMonitorData", struct{}{})
	if err != nil {
		return nil, err
	}
	procs, err := decodeProcesses(raw)
	if err != nil {
		return nil, fmt.Errorf("pm2 rpc getMonitorData: %w", err)
	}
	return procs, nil
}

// Restart restarts every process nameOrID names (an id, a name, a
// namespace or "all", as `pm2 restart` resolves it).
func (n *Native) Restart(ctx context.Context, nameOrID string) error {
	return n.operate(ctx, "restart", nameOrID, "restartProcessId", "restart")
}

// Reload reloads the processes nameOrID names: zero-downtime in cluster
// mode, a restart in fork mode (the daemon decides, as with `pm2 reload`).
func (n *Native) Reload(ctx context.Context, nameOrID string) error {
	return n.operate(ctx, "reload", nameOrID, "reloadProcessId", "reload")
}

// Stop stops the processes nameOrID names.
func (n *Native) Stop(ctx context.Context, nameOrID string) error {
	return n.operate(ctx, "stop", nameOrID, "stopProcessId", "stop")
}

// Start starts the processes nameOrID names. Like `pm2 start <name>` on a
// known app, it asks the daemon to restart them, which starts a stopped
// process and restarts a running one.
func (n *Native) Start(ctx context.Context, nameOrID string) error {
	return n.operate(ctx, "start", nameOrID, "restartProcessId", "restart")
}

// StartEcosystem runs on the fallback client: PM2 evaluates ecosystem files
// in the CLI, not in the daemon.
func (n *Native) StartEcosystem(ctx context.Context, file string, only ...string) error {
	if n.fallback == nil {
		return n.unsupported("start ecosystem file")
	}
	return n.fallback.StartEcosystem(ctx, file, only...)
}

// Resurrect runs on the fallback client: it must work when the daemon is
// dead, and only the CLI can launch one.
func (n *Native) Resurrect(ctx context.Context) error {
	if n.fallback == nil {
		return n.unsupported("resurrect")
	}
	return n.fallback.Resurrect(ctx)
}

// Save runs on the fallback client: the CLI writes the dump file (with the
// processes' environments, which this client never handles).
func (n *Native) Save(ctx context.Context) error {
	if n.fallback == nil {
		return n.unsupported("save")
	}
	return n.fallback.Save(ctx)
}

// Ping asks the daemon for its version (getVersion) and reads its PID from
// $PM2_HOME/pm2.pid (0 when that file is unreadable). A daemon that is not
// running gives an error wrapping ErrDaemonDown.
func (n *Native) Ping(ctx context.Context) (DaemonInfo, error) {
	raw, err := n.call(ctx, "getVersion", struct{}{})
	if err != nil {
		return DaemonInfo{}, err
	}
	var version string
	if err := json.Unmarshal(raw, &version); err != nil {
		return DaemonInfo{}, fmt.Errorf("%w: pm2 rpc getVersion: result is not a string", ErrProtocol)
	}
	info := DaemonInfo{Version: version}
	if b, err := readPIDFile(n.home); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			info.PID = pid
		}
	}
	return info, nil
}

func (n *Native) unsupported(op string) error {
	return fmt.Errorf("pm2 native client: %s needs the CLI (no fallback client configured): %w", op, errors.ErrUnsupported)
}

// operate resolves nameOrID to process ids and calls method on each, then
// tells the daemon the action was manual (as the CLI does), so that its
// event socket announces it.
func (n *Native) operate(ctx context.Context, verb, nameOrID, method, notify string) error {
	ids, err := n.resolve(ctx, nameOrID)
	if err != nil {
		return fmt.Errorf("pm2 %s %q: %w", verb, nameOrID, err)
	}
	for _, id := range ids {
		var arg any = id
		if method != "stopProcessId" {
			arg = map[string]int{"id": id}
		}
		if _, err := n.call(ctx, method, arg); err != nil {
			return fmt.Errorf("pm2 %s %q (id %d): %w", verb, nameOrID, id, err)
		}
		note := map[string]any{"id": id, "action_name": notify, "manually": true}
		if _, err := n.call(ctx, "notifyByProcessId", note); err != nil {
			return fmt.Errorf("pm2 %s %q (id %d): notify daemon: %w", verb, nameOrID, id, err)
		}
	}
	return nil
}

// resolve finds the ids nameOrID names, the way the CLI does: "all", a
// numeric id, an app name, then a namespace.
func (n *Native) resolve(ctx context.Context, nameOrID string) ([]int, error) {
	if strings.TrimSpace(nameOrID) == "" {
		return nil, fmt.Errorf("empty process name or id: %w", ErrProcessNotFound)
	}
	procs, err := n.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int
	if nameOrID == "all" {
		for _, p := range procs {
			ids = append(ids, p.ID)
		}
	} else if id, err := strconv.Atoi(nameOrID); err == nil {
		for _, p := range procs {
			if p.ID == id {
				ids = append(ids, id)
			}
		}
	} else {
		for _, p := range procs {
			if p.Name == nameOrID {
				ids = append(ids, p.ID)
			}
		}
		if len(ids) == 0 {
			for _, p := range procs {
				if p.Namespace == nameOrID {
					ids = append(ids, p.ID)
				}
			}
		}
	}
	if len(ids) == 0 {
		return nil, ErrProcessNotFound
	}
	return ids, nil
}

// rpcReply is the object pm2-axon-rpc answers with.
type rpcReply struct {
	Args  []json.RawMessage `json:"args"`
	Error json.RawMessage   `json:"error"`
}

// call invokes method(arg) and returns the first result of its callback
// (JSON null when there is none).
func (n *Native) call(ctx context.Context, method string, arg any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()

	conn, err := n.dial(ctx, RPCSocketFile)
	if err != nil {
		return nil, fmt.Errorf("pm2 rpc %s: %w", method, err)
	}
	defer conn.Close()
	stop := watchConn(ctx, conn)
	defer stop()

	id := n.idPrefix + strconv.FormatUint(n.ids.Add(1), 10)
	req, err := ampJSON(map[string]any{"type": "call", "method": method, "args": []any{arg}})
	if err != nil {
		return nil, fmt.Errorf("pm2 rpc %s: %w", method, err)
	}
	frame, err := encodeFrame(req, ampString(id))
	if err != nil {
		return nil, fmt.Errorf("pm2 rpc %s: %w", method, err)
	}
	if _, err := conn.Write(frame); err != nil {
		return nil, fmt.Errorf("pm2 rpc %s: send: %w", method, ctxErr(ctx, err))
	}

	r := bufio.NewReaderSize(conn, ampChunk)
	for {
		args, err := readFrame(r)
		if err != nil {
			return nil, fmt.Errorf("pm2 rpc %s: read reply: %w", method, ctxErr(ctx, err))
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("%w: pm2 rpc %s: empty reply frame", ErrProtocol, method)
		}
		if got, _ := args[len(args)-1].str(); got != id {
			continue // not ours (the daemon answers on this connection only)
		}
		return decodeReply(method, args[:len(args)-1])
	}
}

func decodeReply(method string, args []ampArg) (json.RawMessage, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%w: pm2 rpc %s: reply has %d arguments, want 1", ErrProtocol, method, len(args))
	}
	doc, ok := args[0].json()
	if !ok {
		return nil, fmt.Errorf("%w: pm2 rpc %s: reply is a %s, want JSON", ErrProtocol, method, args[0].kind())
	}
	var rep rpcReply
	if err := json.Unmarshal(doc, &rep); err != nil {
		return nil, fmt.Errorf("%w: pm2 rpc %s: reply: %s", ErrProtocol, method, safeJSONError(err))
	}
	if len(rep.Error) > 0 && string(rep.Error) != "null" {
		return nil, &RPCError{Method: method, Message: errorText(rep.Error)}
	}
	if rep.Args == nil {
		return nil, fmt.Errorf("%w: pm2 rpc %s: reply has neither args nor error", ErrProtocol, method)
	}
	if len(rep.Args) == 0 {
		return json.RawMessage("null"), nil
	}
	return rep.Args[0], nil
}

// errorText renders the daemon's error value (a string, or an object with a
// message) as a sanitized excerpt of at most 200 bytes (see excerpt).
func errorText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var obj struct {
			Message string `json:"message"`
			Msg     string `json:"msg"`
		}
		if json.Unmarshal(raw, &obj) == nil {
			s = obj.Message
			if s == "" {
				s = obj.Msg
			}
		}
		if s == "" {
			s = "(an error without a message)"
		}
	}
	return excerpt(s, maxMessage)
}

// dial connects to one of the daemon's sockets. A missing socket or one
// nobody listens on gives an error wrapping ErrDaemonDown.
func (n *Native) dial(ctx context.Context, name string) (net.Conn, error) {
	path := filepath.Join(n.home, name)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, over the %d-byte limit of Unix sockets (use a shorter PM2_HOME)", path, len(path), maxSocketPath)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w: %w", ErrDaemonDown, err)
		}
		return nil, ctxErr(ctx, err)
	}
	return conn, nil
}

// watchConn makes blocking I/O on conn end when ctx does.
// The deadline is set only once ctx is done, so that ctx.Err() is already
// set when the I/O fails.
func watchConn(ctx context.Context, conn net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}

// ctxErr prefers the context's error when the context has ended, so a
// timeout reads as one rather than as a socket error.
func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("%w (%w)", ce, err)
	}
	return err
}
