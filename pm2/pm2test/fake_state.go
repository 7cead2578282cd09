package pm2test

// Scripting a FakeClient: what happens to its processes and its daemon,
// and what it was asked.

import (
	"slices"
	"time"

	"github.com/uras-dev/uras/pm2"
)

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

// KillApp kills every process named name as kill -9 would: PM2 restarts
// a process with autorestart (one more restart, a new pid) and leaves the
// others stopped.
func (f *FakeClient) KillApp(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.procs {
		p := &f.procs[i]
		if p.Name != name || p.Status != pm2.StatusOnline {
			continue
		}
		if p.Autorestart {
			f.online(p)
			p.Restarts++
		} else {
			p.Status, p.PID, p.ExitCode = pm2.StatusStopped, 0, nil
		}
	}
}

// DeleteAll forgets every process while the daemon stays up: what pm2
// kill does before the daemon exits (follow it with KillDaemon).
func (f *FakeClient) DeleteAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs = nil
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
