package pm2

// Events: PM2's event socket.
//
// The daemon publishes on an axon pub socket at $PM2_HOME/pub.sock. Every
// message is one AMP frame of two arguments, the topic and its data:
//
//	s:process:event      j:{"event":"exit","manually":false,"at":<ms>,"process":{<pm2_env without env>}}
//	s:process:exception  j:{"at":<ms>,"data":{"message":...},"process":{"pm_id":0,"name":"web",...}}
//	s:pm2:kill           j:{"status":"killed","msg":"..."}
//	s:log:out, s:log:err and others, which are read and dropped here
//
// (lib/Event.js, lib/God.js, lib/Daemon.js and the pm2-axon modules.) Only
// the typed fields below are decoded: the process object also carries the
// variables PM2 copies from the environment, and the log topics carry the
// apps' output; neither reaches an Event.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sethvargo/go-retry"
)

// pubSocketFile is the daemon's event socket in PM2_HOME.
const pubSocketFile = "pub.sock"

// EventKind is what happened. Process event kinds are PM2's own names
// (data.event of its process:event topic); a kind PM2 adds later is passed
// on as it comes.
type EventKind string

// The kinds of Event.
const (
	EventStart            EventKind = "start"             // a process was launched (first start, resurrect)
	EventOnline           EventKind = "online"            // a process is up
	EventExit             EventKind = "exit"              // a process exited (crashed, was killed or stopped)
	EventRestart          EventKind = "restart"           // a restart was asked for (Manual)
	EventRestartOverlimit EventKind = "restart overlimit" // too many unstable restarts: PM2 gave up, the process is errored
	EventStop             EventKind = "stop"              // a stop was asked for (Manual)
	EventDelete           EventKind = "delete"            // a process was deleted (Manual)
	EventReload           EventKind = "reload"            // a reload was asked for (Manual)
	EventException        EventKind = "exception"         // an uncaught exception in a process (process:exception)
	EventDaemonKilled     EventKind = "daemon-killed"     // the daemon is shutting down (pm2:kill)

	// EventConnected and EventDisconnected do not come from PM2: Events
	// sends them when its connection to the daemon opens and when it is
	// lost (or cannot be opened). Events may have been missed in between.
	EventConnected    EventKind = "connected"
	EventDisconnected EventKind = "disconnected"
)

// Event is something the PM2 daemon announced. It carries typed fields only.
type Event struct {
	Kind EventKind
	// Time is when the daemon emitted it (its "at"), or when this client
	// saw the connection change for EventConnected and EventDisconnected.
	Time time.Time
	// ID is the process's PM2 id, -1 when the event is about no process.
	ID        int
	Name      string
	Namespace string
	// Status is the process's status as the event left it (process events).
	Status ProcessStatus
	// ExitCode is the exit code PM2 recorded, when it has one.
	ExitCode *int
	// Restarts is the process's restart count (restart_time).
	Restarts int
	// Manual is true for actions asked for by a client (pm2 restart ...),
	// false for what the daemon did on its own (a crash and its restart).
	Manual bool
	// Message is an exception's message, cut to 200 bytes (EventException).
	Message string
	// Err says why the connection was lost (EventDisconnected).
	Err error
}

// IsProcess reports whether e is about one process.
func (e Event) IsProcess() bool { return e.ID >= 0 }

// String returns a one-line description for logs.
func (e Event) String() string {
	s := string(e.Kind)
	if e.IsProcess() {
		s += fmt.Sprintf(" %s(%d)", e.Name, e.ID)
	}
	if e.Status != "" {
		s += " " + string(e.Status)
	}
	if e.ExitCode != nil {
		s += fmt.Sprintf(" exit=%d", *e.ExitCode)
	}
	if e.Manual {
		s += " manual"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// eventBuffer is how many events the channel Events returns holds.
const eventBuffer = 64

// Events follows the daemon's event socket ($PM2_HOME/pub.sock) until ctx
// ends, then closes the returned channel. It first sends EventConnected or,
// when the daemon cannot be reached, EventDisconnected; it reconnects on
// its own with a doubling backoff (NativeOptions.ReconnectMin to
// ReconnectMax, waited after failed dials and lost connections alike, and
// started over only once a connection stayed up for ReconnectMax) after the
// daemon dies or restarts, sending EventDisconnected once per outage and
// EventConnected when back. Events are not dropped: a
// reader that falls behind holds up the subscription. Events returns an
// error only when it cannot start: ctx already ended, or a socket path too
// long for a Unix socket.
func (n *Native) Events(ctx context.Context) (<-chan Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pm2 events: %w", err)
	}
	if path := filepath.Join(n.home, pubSocketFile); len(path) > maxSocketPath {
		return nil, fmt.Errorf("pm2 events: socket path %s is %d bytes, over the %d-byte limit of Unix sockets (use a shorter PM2_HOME)", path, len(path), maxSocketPath)
	}
	ch := make(chan Event, eventBuffer)
	go n.follow(ctx, ch)
	return ch, nil
}

// follow connects, reads and reconnects until ctx ends.
//
// Between two connection attempts it waits the backoff's next delay, after
// a failed dial and after a lost connection alike, so that a peer that
// accepts and then closes (or sends garbage) gets a few dials a second at
// first and then one per ReconnectMax. The backoff starts over only after a
// connection stayed up for ReconnectMax: a successful dial alone proves
// nothing.
func (n *Native) follow(ctx context.Context, ch chan<- Event) {
	defer close(ch)
	send := func(e Event) bool {
		select {
		case ch <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	wait := func(b retry.Backoff) bool {
		d, _ := b.Next()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	backoff := n.reconnectBackoff()
	down := false // an EventDisconnected was sent for the current outage
	for {
		dctx, cancel := context.WithTimeout(ctx, n.timeout)
		conn, err := n.dial(dctx, pubSocketFile)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !down {
				down = true
				if !send(Event{Kind: EventDisconnected, ID: -1, Time: time.Now(), Err: fmt.Errorf("pm2 events: %w", err)}) {
					return
				}
			}
			if !wait(backoff) {
				return
			}
			continue
		}
		down = false
		connected := time.Now()
		stop := watchConn(ctx, conn)
		ok := send(Event{Kind: EventConnected, ID: -1, Time: connected})
		if ok {
			err = readEvents(bufio.NewReaderSize(conn, ampChunk), send)
		}
		stop()
		_ = conn.Close()
		if !ok || ctx.Err() != nil {
			return
		}
		if time.Since(connected) >= n.rmax {
			backoff = n.reconnectBackoff() // it was a healthy connection: start over
		}
		down = true
		if !send(Event{Kind: EventDisconnected, ID: -1, Time: time.Now(), Err: fmt.Errorf("pm2 events: connection lost: %w", err)}) {
			return
		}
		if !wait(backoff) {
			return
		}
	}
}

// reconnectBackoff returns a fresh backoff for follow: ReconnectMin
// doubling up to ReconnectMax.
func (n *Native) reconnectBackoff() retry.Backoff {
	return retry.WithCappedDuration(n.rmax, retry.NewExponential(n.rmin))
}

// readEvents reads frames until the connection fails, sending the events
// they hold. It returns the error that ended the connection (io.EOF when
// the daemon closed it), or nil when send gave up.
func readEvents(r *bufio.Reader, send func(Event) bool) error {
	for {
		args, err := readFrame(r)
		if err != nil {
			return err
		}
		e, ok := decodeEvent(args)
		if !ok {
			continue
		}
		if !send(e) {
			return nil
		}
	}
}

// wireEvent holds the typed fields of process:event, process:exception and
// pm2:kill data.
type wireEvent struct {
	Event    string          `json:"event"`
	Manually wireBool        `json:"manually"`
	At       wireNum         `json:"at"`
	Data     json.RawMessage `json:"data"` // process:exception: the error
	Process  *struct {
		PMID        *wireNum `json:"pm_id"`
		Name        string   `json:"name"`
		Namespace   string   `json:"namespace"`
		Status      string   `json:"status"`
		ExitCode    *wireNum `json:"exit_code"`
		RestartTime wireNum  `json:"restart_time"`
	} `json:"process"`
}

// decodeEvent turns one pub frame into an Event; ok is false for topics
// this package does not follow and for malformed messages, which are
// skipped (the daemon's own subscribers skip them too).
func decodeEvent(args []ampArg) (e Event, ok bool) {
	if len(args) != 2 {
		return Event{}, false
	}
	topic, ok := args[0].str()
	if !ok {
		return Event{}, false
	}
	switch topic {
	case "process:event", "process:exception", "pm2:kill":
	default:
		return Event{}, false // log:out, log:err, process:msg, ...: never decoded
	}
	doc, ok := args[1].json()
	if !ok {
		return Event{}, false
	}
	var w wireEvent
	if json.Unmarshal(doc, &w) != nil {
		return Event{}, false
	}
	e = Event{ID: -1, Time: w.At.millis()}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	switch topic {
	case "process:event":
		if w.Event == "" {
			return Event{}, false
		}
		e.Kind = EventKind(w.Event)
		e.Manual = bool(w.Manually)
	case "process:exception":
		e.Kind = EventException
		e.Message = exceptionMessage(w.Data)
	case "pm2:kill":
		e.Kind = EventDaemonKilled
		return e, true
	}
	if p := w.Process; p != nil {
		if p.PMID != nil {
			e.ID = p.PMID.int()
		}
		e.Name = p.Name
		e.Namespace = p.Namespace
		e.Status = ProcessStatus(p.Status)
		e.Restarts = p.RestartTime.int()
		if p.ExitCode != nil {
			c := p.ExitCode.int()
			e.ExitCode = &c
		}
	}
	return e, true
}

// exceptionMessage reads the message of a process:exception's data.
func exceptionMessage(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var obj struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(raw, &obj) != nil || len(obj.Message) == 0 {
		return ""
	}
	return errorText(obj.Message)
}
