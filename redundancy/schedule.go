package redundancy

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// How the scheduler works. Every idle target sits in a min-heap keyed by
// its next check (o.due). Targets that want a check now are listed: the
// triggered ones on o.urgent, the due ones on o.ready. Run's loop sleeps
// until the earliest due time (or the next throttled state save), then
// moves the due targets from the heap to o.ready and signals the workers:
// WithConcurrency goroutines that take listed targets (urgent first),
// check and recover them, and put them back in the heap. Trigger lists a
// target and signals a worker directly: it never waits for the loop. A
// worker wakes the loop only when the target it puts back is due before
// the loop's timer (or the state needs a save and no timer covers it), so
// the loop wakes once per due time, not once per check. Tick takes every
// listed target and every due one from the same structures.
//
// Work per check: a heap push and pop, O(log n); Trigger: O(1).

// scheduleSlack is the shortest sleep of Run's loop: targets falling due
// within it of each other are started together. It bounds the loop's
// wakes at one per scheduleSlack however the due times spread, at the
// price of starting a check at most that much late.
const scheduleSlack = time.Millisecond

// dueHeap orders idle targets by next check, then by the order they were
// added. It implements heap.Interface; each target knows its index.
type dueHeap []*target

func (h dueHeap) Len() int { return len(h) }

func (h dueHeap) Less(i, j int) bool {
	if !h[i].nextCheck.Equal(h[j].nextCheck) {
		return h[i].nextCheck.Before(h[j].nextCheck)
	}
	return h[i].seq < h[j].seq
}

func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h *dueHeap) Push(x any) {
	t := x.(*target)
	t.heapIdx = len(*h)
	*h = append(*h, t)
}

func (h *dueHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.heapIdx = -1
	return t
}

// fifo is a queue of listed targets. An entry is stale, and skipped, once
// its target has been listed again (moved to the urgent list) or claimed:
// its listing number no longer matches.
type fifo struct {
	items []listing
	head  int
}

type listing struct {
	t *target
	n uint64 // t.listing when it was pushed
}

func (q *fifo) push(t *target) { q.items = append(q.items, listing{t, t.listing}) }

// pop returns the next target listed here, nil when none is.
func (q *fifo) pop() *target {
	for q.head < len(q.items) {
		e := q.items[q.head]
		q.items[q.head] = listing{}
		q.head++
		switch {
		case q.head == len(q.items):
			q.items, q.head = q.items[:0], 0
		case q.head >= 1024 && q.head*2 >= len(q.items):
			n := copy(q.items, q.items[q.head:])
			clear(q.items[n:])
			q.items, q.head = q.items[:n], 0
		}
		if e.t.listed && e.t.listing == e.n {
			return e.t
		}
	}
	return nil
}

// queueLocked puts a new target in the due heap. The caller holds o.mu.
func (o *Orchestrator) queueLocked(t *target) {
	t.seq = o.nextSeq
	o.nextSeq++
	t.heapIdx = -1
	heap.Push(&o.due, t)
	if o.wakeNeededLocked(t) {
		o.poke()
	}
}

// listLocked lists t for a check now, once: triggered targets on the
// urgent list, ahead of due ones (a due target waiting on the ready list
// moves there when it is triggered). A busy target is not listed: release
// lists it if it was triggered meanwhile. The caller holds o.mu.
func (o *Orchestrator) listLocked(t *target) {
	if t.busy || t.listed && (t.urgent || !t.triggered) {
		return
	}
	t.listed, t.urgent = true, t.triggered
	t.listing++
	if t.urgent {
		o.urgent.push(t)
	} else {
		o.ready.push(t)
	}
	if o.work != nil {
		o.work.Signal()
	}
}

// popListedLocked takes the next listed target, triggered ones first; nil
// when none is listed. The caller holds o.mu.
func (o *Orchestrator) popListedLocked() *target {
	if t := o.urgent.pop(); t != nil {
		return t
	}
	return o.ready.pop()
}

// claimLocked marks t busy and takes it out of the due heap; its check
// counts as triggered when it was. The caller holds o.mu and has taken t
// off its list, if it was listed.
func (o *Orchestrator) claimLocked(t *target) {
	if t.heapIdx >= 0 {
		heap.Remove(&o.due, t.heapIdx)
	}
	t.listed, t.urgent = false, false
	t.listing++
	t.busy, t.woken, t.triggered = true, t.triggered, false
}

// listDueLocked moves the targets whose check is due at now from the due
// heap to the ready list. The caller holds o.mu.
func (o *Orchestrator) listDueLocked(now time.Time) {
	for len(o.due) > 0 && !now.Before(o.due[0].nextCheck) {
		o.listLocked(heap.Pop(&o.due).(*target)) // a triggered target is listed already
	}
}

// claimDue takes every listed target and every target due at now, marks
// them busy and returns them: Tick's share of work.
func (o *Orchestrator) claimDue(now time.Time) []*target {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*target
	for t := o.popListedLocked(); t != nil; t = o.popListedLocked() {
		o.claimLocked(t)
		due = append(due, t)
	}
	for len(o.due) > 0 && !now.Before(o.due[0].nextCheck) {
		t := o.due[0]
		o.claimLocked(t)
		due = append(due, t)
	}
	return due
}

// saveAtLocked returns when Run's loop should next save the state: zero
// when nothing waits to be saved. The caller holds o.mu.
func (o *Orchestrator) saveAtLocked() time.Time {
	if o.statePath == "" || !o.dirty || o.stateOff {
		return time.Time{}
	}
	if o.lastSave.IsZero() {
		return o.clock.Now()
	}
	return o.lastSave.Add(stateSaveInterval)
}

// wakeNeededLocked reports whether Run's loop must be woken because t,
// just put back in the heap, falls due before the loop's timer, or the
// state waits for a save no timer covers. The caller holds o.mu.
func (o *Orchestrator) wakeNeededLocked(t *target) bool {
	if !o.scheduling {
		return false
	}
	before := func(at time.Time) bool { return o.wakeAt.IsZero() || at.Before(o.wakeAt) }
	if t.heapIdx == 0 && before(t.nextCheck) {
		return true
	}
	at := o.saveAtLocked()
	return !at.IsZero() && before(at)
}

// schedule is Run's loop: until ctx ends it lists the due targets for the
// workers, saves the state when the throttle allows, and sleeps until the
// next due time, the next save or a poke.
func (o *Orchestrator) schedule(ctx context.Context) {
	var timer <-chan time.Time
	var timerAt time.Time
	defer func() {
		o.mu.Lock()
		o.scheduling, o.wakeAt = false, time.Time{}
		o.mu.Unlock()
	}()
	for ctx.Err() == nil {
		now := o.clock.Now()
		if d, pending := o.saveDue(now); pending && d <= 0 {
			o.saveState(false)
		}
		o.mu.Lock()
		o.scheduling = true
		o.listDueLocked(now) // each listing signals a worker
		at := o.saveAtLocked()
		if len(o.due) > 0 && (at.IsZero() || o.due[0].nextCheck.Before(at)) {
			at = o.due[0].nextCheck
		}
		if !at.IsZero() {
			at = later(at, now.Add(scheduleSlack))
			if timer == nil || at.Before(timerAt) {
				timer, timerAt = o.clock.After(at.Sub(now)), at
			}
		}
		o.wakeAt = time.Time{}
		if timer != nil {
			o.wakeAt = timerAt
		}
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-timer:
			timer = nil
		case <-o.wake:
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// startWorkers starts n workers that check and recover listed targets
// until ctx ends; wait waits for them to return.
func (o *Orchestrator) startWorkers(ctx context.Context, n int) (wait func()) {
	work := sync.NewCond(&o.mu)
	o.mu.Lock()
	o.work = work
	o.mu.Unlock()
	// The callback may still run after wait has cleared o.work: it keeps
	// its own reference.
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		work.Broadcast()
		o.mu.Unlock()
	})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { o.worker(ctx) })
	}
	return func() {
		wg.Wait()
		stop()
		o.mu.Lock()
		o.work = nil
		o.mu.Unlock()
	}
}

// worker takes listed targets one at a time, checks and, as the policy
// says, recovers each, then puts it back in the due heap. It returns when
// ctx ends, never starting a check after that.
func (o *Orchestrator) worker(ctx context.Context) {
	for {
		o.mu.Lock()
		var t *target
		for {
			if ctx.Err() != nil {
				o.mu.Unlock()
				return
			}
			if t = o.popListedLocked(); t != nil {
				break
			}
			o.work.Wait()
		}
		o.claimLocked(t)
		o.mu.Unlock()
		o.process(ctx, t, true)
		o.release(t)
	}
}

// release marks t idle again and puts it back in the due heap (listed
// again when it was triggered meanwhile); when its check was triggered and
// o is nested, the parent's target for o is triggered (the child's fresh
// state is there to read).
func (o *Orchestrator) release(t *target) {
	o.mu.Lock()
	t.busy = false
	woken := t.woken
	t.woken = false
	heap.Push(&o.due, t)
	if t.triggered {
		o.listLocked(t)
	}
	if o.wakeNeededLocked(t) {
		o.poke()
	}
	o.mu.Unlock()
	if l := o.parent.Load(); woken && l != nil {
		l.parent.Trigger(l.name)
	}
}
