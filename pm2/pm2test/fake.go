// Package pm2test helps test code that uses package pm2: FakeClient is an
// in-memory PM2 with scripted faults, StartDaemon runs a real PM2 daemon in
// a temporary PM2_HOME, and TestClient is a conformance suite that any
// pm2.Client (the fake included) should pass.
package pm2test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/uras-dev/uras/pm2"
)

// Call is one method call a FakeClient received.
type Call struct {
	Method string   // "List", "Restart", ...
	Args   []string // the name, or file and --only names
}

// FakeClient is an in-memory PM2 implementing pm2.Client. It behaves like
// the daemon in the ways the checkers and recoverer rely on (a stopped
// daemon forgets its processes until Resurrect; Save refuses an empty
// list; unknown names give pm2.ErrProcessNotFound) and can be told to
// fail: a process crashes, the daemon dies, a method fails, calls are slow.
// It records every call. It is safe for concurrent use.
type FakeClient struct {
	mu         sync.Mutex
	procs      []pm2.Process
	nextID     int
	nextPID    int
	daemonUp   bool
	dump       []pm2.Process
	ecosystems map[string][]pm2.Process
	failNext   map[string][]error
	failAlways map[string]error
	delay      time.Duration
	now        func() time.Time
	calls      []Call
}

var _ pm2.Client = (*FakeClient)(nil)

// NewFakeClient returns a fake with a running daemon managing procs. IDs
// and PIDs left zero are assigned; an empty Status is online.
func NewFakeClient(procs ...pm2.Process) *FakeClient {
	f := &FakeClient{
		daemonUp:   true,
		nextPID:    1000,
		ecosystems: map[string][]pm2.Process{},
		failNext:   map[string][]error{},
		failAlways: map[string]error{},
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

// DefineEcosystem declares what StartEcosystem(file) starts.
func (f *FakeClient) DefineEcosystem(file string, apps ...pm2.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ecosystems[file] = slices.Clone(apps)
}

// Crash makes every process named name crash past its max_restarts: it is
// errored, with no pid, one more restart and exit code 1.
func (f *FakeClient) Crash(name string) {
	f.update(name, func(p *pm2.Process) {
		p.Status, p.PID, p.Restarts, p.ExitCode = pm2.StatusErrored, 0, p.Restarts+1, ptr(1)
	})
}

// SetStatus sets the status of every process named name.
func (f *FakeClient) SetStatus(name string, st pm2.ProcessStatus) {
	f.update(name, func(p *pm2.Process) { p.Status = st })
}

// Update applies fn to every process named name (to set memory, CPU,
// restarts, ...).
func (f *FakeClient) Update(name string, fn func(p *pm2.Process)) { f.update(name, fn) }

func (f *FakeClient) update(name string, fn func(p *pm2.Process)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.procs {
		if f.procs[i].Name == name {
			fn(&f.procs[i])
		}
	}
}

// KillDaemon makes the daemon die: calls that need it fail with
// pm2.ErrDaemonDown and its processes are gone until Resurrect or
// StartEcosystem.
func (f *FakeClient) KillDaemon() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.daemonUp = false
	f.procs = nil
}

// DaemonUp reports whether the fake daemon runs.
func (f *FakeClient) DaemonUp() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.daemonUp
}

// FailNext makes the next call of method ("Restart", "List", ...) return
// err; several calls queue several errors.
func (f *FakeClient) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method] = append(f.failNext[method], err)
}

// FailAlways makes every call of method return err; a nil err clears it.
func (f *FakeClient) FailAlways(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failAlways, method)
		return
	}
	f.failAlways[method] = err
}

// SetDelay makes every call take d, or until its context ends (it then
// returns the context's error).
func (f *FakeClient) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Calls returns the calls received so far.
func (f *FakeClient) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallCount returns how many times method was called.
func (f *FakeClient) CallCount(method string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// Processes returns the processes the daemon manages now.
func (f *FakeClient) Processes() []pm2.Process {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs)
}

// Dump returns the names of the processes saved by the last Save.
func (f *FakeClient) Dump() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, len(f.dump))
	for i, p := range f.dump {
		names[i] = p.Name
	}
	return names
}

// SetDump sets the saved process list Resurrect restores.
func (f *FakeClient) SetDump(procs ...pm2.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dump = slices.Clone(procs)
}

// begin records a call, waits out the delay and returns a scripted error.
// On nil it returns with f.mu held.
func (f *FakeClient) begin(ctx context.Context, method string, args ...string) error {
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: method, Args: args})
	delay := f.delay
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake pm2 %s: %w", method, err)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fake pm2 %s: %w", method, ctx.Err())
		case <-t.C:
		}
	}
	f.mu.Lock()
	if q := f.failNext[method]; len(q) > 0 {
		f.failNext[method] = q[1:]
		f.mu.Unlock()
		return q[0]
	}
	if err := f.failAlways[method]; err != nil {
		f.mu.Unlock()
		return err
	}
	return nil
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
	if err := f.begin(ctx, "List"); err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if err := f.needDaemon("List"); err != nil {
		return nil, err
	}
	return slices.Clone(f.procs), nil
}

func (f *FakeClient) act(ctx context.Context, method, nameOrID string, fn func(p *pm2.Process)) error {
	if err := f.begin(ctx, method, nameOrID); err != nil {
		return err
	}
	defer f.mu.Unlock()
	if err := f.needDaemon(method); err != nil {
		return err
	}
	idx, err := f.find(method, nameOrID)
	if err != nil {
		return err
	}
	for _, i := range idx {
		fn(&f.procs[i])
	}
	return nil
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

// StartEcosystem implements pm2.Client: it starts the daemon if needed, adds
// the file's apps (those in only, when given) that are missing and starts
// those that are not online. An undefined file is an error wrapping
// fs.ErrNotExist; like PM2, an only name the file lacks is ignored.
func (f *FakeClient) StartEcosystem(ctx context.Context, file string, only ...string) error {
	if err := f.begin(ctx, "StartEcosystem", append([]string{file}, only...)...); err != nil {
		return err
	}
	defer f.mu.Unlock()
	apps, ok := f.ecosystems[file]
	if !ok {
		return fmt.Errorf("fake pm2 start %s: %w", file, fs.ErrNotExist)
	}
	f.daemonUp = true
	for _, a := range apps {
		if len(only) > 0 && !slices.Contains(only, a.Name) {
			continue
		}
		f.ensure(a)
	}
	return nil
}

// ensure starts a (adding it when the daemon lacks it).
func (f *FakeClient) ensure(a pm2.Process) {
	found := false
	for i := range f.procs {
		if f.procs[i].Name == a.Name {
			found = true
			if f.procs[i].Status != pm2.StatusOnline {
				f.online(&f.procs[i])
			}
		}
	}
	if !found {
		a.ID, a.PID, a.Status, a.CreatedAt, a.StartedAt = f.nextID, 0, pm2.StatusOnline, time.Time{}, time.Time{}
		f.add(a)
	}
}

// Resurrect implements pm2.Client: it starts the daemon if needed and the
// saved processes it lacks.
func (f *FakeClient) Resurrect(ctx context.Context) error {
	if err := f.begin(ctx, "Resurrect"); err != nil {
		return err
	}
	defer f.mu.Unlock()
	f.daemonUp = true
	for _, p := range f.dump {
		f.ensure(p)
	}
	return nil
}

// Save implements pm2.Client. Like PM2 it does not overwrite the dump with
// an empty list.
func (f *FakeClient) Save(ctx context.Context) error {
	if err := f.begin(ctx, "Save"); err != nil {
		return err
	}
	defer f.mu.Unlock()
	if err := f.needDaemon("Save"); err != nil {
		return err
	}
	if len(f.procs) > 0 {
		f.dump = slices.Clone(f.procs)
	}
	return nil
}

// Ping implements pm2.Client.
func (f *FakeClient) Ping(ctx context.Context) (pm2.DaemonInfo, error) {
	if err := f.begin(ctx, "Ping"); err != nil {
		return pm2.DaemonInfo{}, err
	}
	defer f.mu.Unlock()
	if err := f.needDaemon("Ping"); err != nil {
		return pm2.DaemonInfo{}, err
	}
	return pm2.DaemonInfo{Version: "fake", PID: 1}, nil
}

func ptr[T any](v T) *T { return &v }
