package redundancytest

import (
	"net/http"
	"path"
	"slices"
	"sync"
)

// Fault is an injected failure. It is the one shape every fake of this
// module takes through FailNext: pm2test.FakeClient (in memory), ghtest.Server
// and netlifytest.Server (HTTP).
type Fault struct {
	// Err is what an in-memory fake's call returns. For an HTTP fake, Err
	// with a zero Status drops the connection without an answer.
	Err error
	// Status, Header and Body are what an HTTP fake answers. A zero Status
	// (and no Err) means 500; an empty Body means the body the service
	// itself sends with that status (which for a gateway error is HTML).
	Status int
	Header http.Header
	Body   string
	// After makes the call take effect first and fail afterwards, as a
	// gateway's 502 that arrives after the build already started.
	After bool
	// Hang makes the call answer nothing until the caller gives up (its
	// context ends) or the fake closes; with After, the effect happens first.
	Hang bool
	// Times is how many matching calls the fault hits: 0 means once, a
	// negative number every call until ClearFaults.
	Times int
}

// Faults holds injected faults and matches them against calls. The fakes
// embed it, so FailNext and ClearFaults are methods of every fake. The zero
// value is ready to use; it is safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	faults []*armed
}

type armed struct {
	pattern string
	fault   Fault
	left    int // < 0: forever
}

// FailNext arms f for the calls that match pattern. The pattern is matched
// with path.Match against the call's name: the method for an in-memory fake
// ("Restart", "List"), "METHOD /path" for an HTTP fake, without the query
// ("POST /repos/o/r/actions/runs/*/rerun-failed-jobs"). A "*" matches within
// one path segment; the empty pattern matches every call. When several
// faults match a call, the one armed first fires.
func (fs *Faults) FailNext(pattern string, f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &armed{pattern: pattern, fault: f, left: left})
}

// ClearFaults disarms every fault.
func (fs *Faults) ClearFaults() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

// Take returns the first armed fault matching call and spends one of its
// hits. Fakes call it once per call.
func (fs *Faults) Take(call string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, a := range fs.faults {
		if !MatchCall(a.pattern, call) {
			continue
		}
		if a.left > 0 {
			a.left--
			if a.left == 0 {
				fs.faults = slices.Delete(fs.faults, i, i+1)
			}
		}
		return a.fault, true
	}
	return Fault{}, false
}

// MatchCall reports whether call matches pattern as FailNext describes. A
// malformed pattern matches nothing.
func MatchCall(pattern, call string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, call)
	return err == nil && ok
}
