// Package pm2test helps test code that uses package pm2: FakeClient is an
// in-memory PM2 with scripted faults (FailNext with a redundancytest.Fault,
// the method name as the pattern) that keeps dump.pm2 and dump.pm2.bak as
// PM2 does when given a home, StartDaemon runs a real PM2 daemon in a
// temporary PM2_HOME, and TestClient is a conformance suite that any
// pm2.Client (the fake included) should pass.
package pm2test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/uras-dev/uras/pm2"
	"github.com/uras-dev/uras/redundancy/redundancytest"
)

// Call is one method call a FakeClient received.
type Call struct {
	Method string   // "List", "Restart", ...
	Args   []string // the name, or file and --only names
}

// FakeClient is an in-memory PM2 implementing pm2.Client, pm2.AppRestorer
// and pm2.Deleter. It behaves like the daemon in the ways the checkers and
// recoverer rely on (a stopped daemon forgets its processes until
// Resurrect; Save keeps the old list as the backup and writes nothing for
// an empty list; unknown names give pm2.ErrProcessNotFound) and can be
// told to fail: a process crashes or is killed, the daemon dies, a method
// fails or hangs (FailNext, with the method name as the pattern), calls
// are slow. Given a home (SetHome), it reads and writes dump.pm2 and
// dump.pm2.bak there as PM2 does. It records every call. It is safe for
// concurrent use.
type FakeClient struct {
	redundancytest.Faults

	mu         sync.Mutex
	procs      []pm2.Process
	nextID     int
	nextPID    int
	daemonUp   bool
	dump       []pm2.Process
	home       string
	saved      [][]string
	ecosystems map[string][]pm2.Process
	delay      time.Duration
	now        func() time.Time
	calls      []Call
}

var (
	_ pm2.Client      = (*FakeClient)(nil)
	_ pm2.AppRestorer = (*FakeClient)(nil)
	_ pm2.Deleter     = (*FakeClient)(nil)
)

// NewFakeClient returns a fake with a running daemon managing procs. IDs
// and PIDs left zero are assigned; an empty Status is online.
func NewFakeClient(procs ...pm2.Process) *FakeClient {
	f := &FakeClient{
		daemonUp:   true,
		nextPID:    1000,
		ecosystems: map[string][]pm2.Process{},
		now:        time.Now,
	}
	for _, p := range procs {
		f.add(p)
	}
	return f
}

// SetNow sets the clock used for StartedAt and CreatedAt.
func (f *FakeClient) SetNow(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// AddProcess adds a process as if started (see NewFakeClient).
func (f *FakeClient) AddProcess(p pm2.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(p)
}

func (f *FakeClient) add(p pm2.Process) {
	if p.ID < 0 || slices.ContainsFunc(f.procs, func(q pm2.Process) bool { return q.ID == p.ID }) {
		p.ID = f.nextID
	}
	if p.ID >= f.nextID {
		f.nextID = p.ID + 1
	}
	if p.Status == "" {
		p.Status = pm2.StatusOnline
	}
	if p.ExecMode == "" {
		p.ExecMode = pm2.ExecFork
	}
	if p.Status == pm2.StatusOnline && p.PID == 0 {
		p.PID = f.pid()
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = f.now()
	}
	if p.StartedAt.IsZero() {
		p.StartedAt = p.CreatedAt
	}
	f.procs = append(f.procs, p)
}

func (f *FakeClient) pid() int {
	f.nextPID++
	return f.nextPID
}

// begin records a call, waits out the delay and applies an armed fault
// (see redundancytest.Fault: Err, Hang, After). On nil it returns with
// f.mu held, and after, when not nil, is the error to return once the
// call took effect.
func (f *FakeClient) begin(ctx context.Context, method string, args ...string) (after error, err error) {
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: method, Args: args})
	delay := f.delay
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake pm2 %s: %w", method, err)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("fake pm2 %s: %w", method, ctx.Err())
		case <-t.C:
		}
	}
	fault, ok := f.Take(method)
	if ok && fault.Hang && !fault.After {
		<-ctx.Done()
		return nil, fmt.Errorf("fake pm2 %s: %w", method, ctx.Err())
	}
	if ok && !fault.After {
		return nil, faultErr(method, fault)
	}
	f.mu.Lock()
	if ok {
		if fault.Hang {
			return errHangAfter{ctx: ctx, method: method}, nil
		}
		return faultErr(method, fault), nil
	}
	return nil, nil
}

// faultErr is the error a fault makes a call return.
func faultErr(method string, fault redundancytest.Fault) error {
	if fault.Err != nil {
		return fault.Err
	}
	return fmt.Errorf("fake pm2 %s: injected failure", method)
}

// errHangAfter marks a call that takes effect and then hangs.
type errHangAfter struct {
	ctx    context.Context
	method string
}

func (e errHangAfter) Error() string { return "fake pm2 " + e.method + ": hung" }

// end releases f.mu and returns err, or the after error of begin (waiting
// for the caller to give up first when the fault hangs).
func (f *FakeClient) end(after, err error) error {
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if h, ok := after.(errHangAfter); ok {
		<-h.ctx.Done()
		return fmt.Errorf("fake pm2 %s: %w", h.method, h.ctx.Err())
	}
	return after
}

func (f *FakeClient) needDaemon(method string) error {
	if !f.daemonUp {
		return fmt.Errorf("fake pm2 %s: %w", method, pm2.ErrDaemonDown)
	}
	return nil
}

// find returns the indexes of the processes named or numbered nameOrID.
func (f *FakeClient) find(method, nameOrID string) ([]int, error) {
	var idx []int
	id, err := strconv.Atoi(nameOrID)
	for i, p := range f.procs {
		if p.Name == nameOrID || (err == nil && p.ID == id) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("fake pm2 %s %s: %w", method, nameOrID, pm2.ErrProcessNotFound)
	}
	return idx, nil
}

// List implements pm2.Client.
func (f *FakeClient) List(ctx context.Context) ([]pm2.Process, error) {
	after, err := f.begin(ctx, "List")
	if err != nil {
		return nil, err
	}
	if err := f.needDaemon("List"); err != nil {
		return nil, f.end(nil, err)
	}
	procs := slices.Clone(f.procs)
	if err := f.end(after, nil); err != nil {
		return nil, err
	}
	return procs, nil
}

func (f *FakeClient) act(ctx context.Context, method, nameOrID string, fn func(p *pm2.Process)) error {
	after, err := f.begin(ctx, method, nameOrID)
	if err != nil {
		return err
	}
	if err := f.needDaemon(method); err != nil {
		return f.end(nil, err)
	}
	idx, err := f.find(method, nameOrID)
	if err != nil {
		return f.end(nil, err)
	}
	for _, i := range idx {
		fn(&f.procs[i])
	}
	return f.end(after, nil)
}

func (f *FakeClient) online(p *pm2.Process) {
	p.Status, p.PID, p.ExitCode, p.StartedAt = pm2.StatusOnline, f.pid(), nil, f.now()
}

// Restart implements pm2.Client.
func (f *FakeClient) Restart(ctx context.Context, nameOrID string) error {
	return f.act(ctx, "Restart", nameOrID, func(p *pm2.Process) { f.online(p); p.Restarts++ })
}

// Reload implements pm2.Client.
func (f *FakeClient) Reload(ctx context.Context, nameOrID string) error {
	return f.act(ctx, "Reload", nameOrID, func(p *pm2.Process) { f.online(p); p.Restarts++ })
}

// Stop implements pm2.Client.
func (f *FakeClient) Stop(ctx context.Context, nameOrID string) error {
	return f.act(ctx, "Stop", nameOrID, func(p *pm2.Process) { p.Status, p.PID, p.ExitCode = pm2.StatusStopped, 0, ptr(0) })
}

// Start implements pm2.Client.
func (f *FakeClient) Start(ctx context.Context, nameOrID string) error {
	return f.act(ctx, "Start", nameOrID, func(p *pm2.Process) {
		if p.Status != pm2.StatusOnline {
			f.online(p)
		}
	})
}

// Delete implements pm2.Deleter: the processes nameOrID names are stopped
// and forgotten.
func (f *FakeClient) Delete(ctx context.Context, nameOrID string) error {
	after, err := f.begin(ctx, "Delete", nameOrID)
	if err != nil {
		return err
	}
	if err := f.needDaemon("Delete"); err != nil {
		return f.end(nil, err)
	}
	idx, err := f.find("Delete", nameOrID)
	if err != nil {
		return f.end(nil, err)
	}
	for k := len(idx) - 1; k >= 0; k-- {
		f.procs = slices.Delete(f.procs, idx[k], idx[k]+1)
	}
	return f.end(after, nil)
}

// StartEcosystem implements pm2.Client: it starts the daemon if needed, adds
// the file's apps (those in only, when given) that are missing and starts
// those that are not online. The file is one declared with DefineEcosystem,
// else a JSON ecosystem file on disk; anything else is an error wrapping
// fs.ErrNotExist. Like PM2, an only name the file lacks is ignored.
func (f *FakeClient) StartEcosystem(ctx context.Context, file string, only ...string) error {
	after, err := f.begin(ctx, "StartEcosystem", append([]string{file}, only...)...)
	if err != nil {
		return err
	}
	apps, ok := f.ecosystems[file]
	if !ok {
		if apps, err = readEcosystem(file); err != nil {
			return f.end(nil, fmt.Errorf("fake pm2 start %s: %w", file, err))
		}
	}
	f.daemonUp = true
	seen := map[string]int{}
	for _, a := range apps {
		if len(only) > 0 && !slices.Contains(only, a.Name) {
			continue
		}
		seen[a.Name]++
		f.ensure(a, seen[a.Name])
	}
	return f.end(after, nil)
}

// ensure makes instance n (from 1) of app a run: the daemon's processes of
// that app are started, and a new one is added when it has fewer than n.
func (f *FakeClient) ensure(a pm2.Process, n int) {
	have := 0
	for i := range f.procs {
		if f.procs[i].Name == a.Name {
			have++
			if f.procs[i].Status != pm2.StatusOnline {
				f.online(&f.procs[i])
			}
		}
	}
	if have < n {
		f.addNew(a)
	}
}

// addNew adds a as a new process, online unless a says stopped.
func (f *FakeClient) addNew(a pm2.Process) {
	st := pm2.StatusOnline
	if a.Status == pm2.StatusStopped {
		st = pm2.StatusStopped
	}
	a.ID, a.PID, a.Status, a.CreatedAt, a.StartedAt, a.ExitCode = f.nextID, 0, st, time.Time{}, time.Time{}, nil
	f.add(a)
}

// Resurrect implements pm2.Client: it starts the daemon if needed and the
// saved processes whose app it lacks. With a home, the saved processes are
// those of dump.pm2, else of dump.pm2.bak when dump.pm2 does not decode
// (PM2 then deletes dump.pm2).
func (f *FakeClient) Resurrect(ctx context.Context) error {
	after, err := f.begin(ctx, "Resurrect")
	if err != nil {
		return err
	}
	saved := f.dump
	if f.home != "" {
		saved = f.readSaved()
	}
	f.daemonUp = true
	running := map[string]bool{}
	for _, p := range f.procs {
		running[p.Name] = true
	}
	for _, p := range saved {
		if !running[p.Name] {
			f.addNew(p)
		}
	}
	return f.end(after, nil)
}

// Save implements pm2.Client. Like PM2 it writes nothing for an empty list
// (and says nothing of it); with a home it first copies dump.pm2 to
// dump.pm2.bak, then writes dump.pm2 (as PM2 does, not atomically).
func (f *FakeClient) Save(ctx context.Context) error {
	after, err := f.begin(ctx, "Save")
	if err != nil {
		return err
	}
	if err := f.needDaemon("Save"); err != nil {
		return f.end(nil, err)
	}
	if len(f.procs) > 0 {
		if f.home != "" {
			if err := f.writeSaved(f.procs); err != nil {
				return f.end(nil, err)
			}
		}
		f.dump = slices.Clone(f.procs)
		names := make([]string, len(f.procs))
		for i, p := range f.procs {
			names[i] = p.Name
		}
		f.saved = append(f.saved, names)
	}
	return f.end(after, nil)
}

// Ping implements pm2.Client.
func (f *FakeClient) Ping(ctx context.Context) (pm2.DaemonInfo, error) {
	after, err := f.begin(ctx, "Ping")
	if err != nil {
		return pm2.DaemonInfo{}, err
	}
	if err := f.needDaemon("Ping"); err != nil {
		return pm2.DaemonInfo{}, f.end(nil, err)
	}
	if err := f.end(after, nil); err != nil {
		return pm2.DaemonInfo{}, err
	}
	return pm2.DaemonInfo{Version: "fake", PID: 1}, nil
}

func ptr[T any](v T) *T { return &v }
