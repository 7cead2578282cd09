package redundancy

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// campaign is Run's election loop: it campaigns until ctx ends, holds each
// term won until it is lost, and meanwhile observes who leads. It returns
// when ctx ends, still holding a term it holds: Run resigns it once the
// actions in flight are done (resign), so that no successor acts beside
// them. The returned function waits for the loop to end.
func (o *Orchestrator) campaign(ctx context.Context) (wait func()) {
	el := o.elect
	if el == nil {
		return func() {}
	}
	el.mu.Lock()
	el.looping = true
	el.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		obsCtx, stopObs := context.WithCancel(ctx)
		obsDone := make(chan struct{})
		go func() { defer close(obsDone); o.observeLeader(obsCtx) }()
		defer func() { stopObs(); <-obsDone }()
		for ctx.Err() == nil {
			l, err := el.cfg.Elector.Campaign(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				el.setErr(err)
				o.log.Warn("election: campaign failed", "err", o.redactString(err.Error()))
				select {
				case <-ctx.Done():
					return
				case <-o.clock.After(el.cfg.RetryDelay):
				}
				continue
			}
			lost := o.gain(ctx, l, true)
			select {
			case <-l.Done():
				o.lose(l, "the term ended (lease lost or session closed)")
			case <-lost: // a fenced write was refused: clean up what is left of the term
				rctx, cancel := context.WithTimeout(ctx, el.cfg.ResignTimeout)
				_ = l.Resign(rctx)
				cancel()
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		<-done
		el.mu.Lock()
		el.looping = false
		el.mu.Unlock()
	}
}

// observeLeader reads who leads every Observe interval until ctx ends.
func (o *Orchestrator) observeLeader(ctx context.Context) {
	el := o.elect
	for {
		rctx, cancel := context.WithTimeout(ctx, sharedIOTimeout)
		ld, err := el.cfg.Elector.Leader(rctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		el.mu.Lock()
		changed := false
		if err != nil {
			el.err = err
		} else {
			changed = ld != el.leader
			el.leader, el.err = ld, nil
		}
		el.mu.Unlock()
		if changed && ld.ID != el.cfg.Elector.ID() {
			o.log.Info("election: leader observed", "leader", ld.ID, "token", ld.Token)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.clock.After(el.cfg.Observe):
		}
	}
}

func (e *election) setErr(err error) {
	e.mu.Lock()
	e.err = err
	e.mu.Unlock()
}

// gain starts a term: the shared targets' records are read (so the budget
// and escalation resume where the last leader left them), then, when wake
// is set, the shared targets are woken, so that a failure already seen is
// acted on at once. It returns a channel closed when the term is given up.
func (o *Orchestrator) gain(ctx context.Context, l Leadership, wake bool) (lost <-chan struct{}) {
	el := o.elect
	now := o.clock.Now()
	el.mu.Lock()
	el.lead, el.since, el.err = l, now, nil
	el.lost = make(chan struct{})
	lost = el.lost
	el.leader = Leader{ID: el.cfg.Elector.ID(), Token: l.Token()}
	clear(el.synced)
	el.mu.Unlock()
	o.emit(Event{Time: now, Kind: EventLeadershipGained, Action: fmt.Sprintf("token %d", l.Token())})
	for _, t := range o.sharedTargets() {
		o.syncShared(ContextWithLeadership(ctx, l), t)
		if wake {
			o.Trigger(t.spec.Name)
		}
	}
	return lost
}

// lose ends term l, if it is still the one held.
func (o *Orchestrator) lose(l Leadership, why string) {
	el := o.elect
	el.mu.Lock()
	held := el.lead == l
	if held {
		el.lead, el.since = nil, time.Time{}
		el.leader = Leader{}
		clear(el.synced)
		close(el.lost)
	}
	el.mu.Unlock()
	if !held {
		return
	}
	o.emit(Event{Time: o.clock.Now(), Kind: EventLeadershipLost, Err: fmt.Errorf("%w: %s", ErrNotLeader, why)})
}

// resign gives up the term held, if any, bounded by ResignTimeout.
func (o *Orchestrator) resign(ctx context.Context) {
	if o.elect == nil {
		return
	}
	l := o.elect.current()
	if l == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.elect.cfg.ResignTimeout)
	defer cancel()
	if err := l.Resign(rctx); err != nil {
		o.log.Warn("election: resign failed: the term ends when its lease expires", "err", o.redactString(err.Error()))
	}
	o.lose(l, "resigned")
}

// leadForCall is for Tick and RecoverNow: when some of ts is shared and no
// Run campaigns, it campaigns for at most CampaignWait so that the call
// may act on them; release resigns what it won.
func (o *Orchestrator) leadForCall(ctx context.Context, ts []*target) (release func()) {
	el := o.elect
	if el == nil {
		return func() {}
	}
	shared := false
	for _, t := range ts {
		shared = shared || t.spec.Shared
	}
	el.mu.Lock()
	skip := !shared || el.looping || el.lead != nil
	el.mu.Unlock()
	if !skip {
		cctx, cancel := context.WithTimeout(ctx, el.cfg.CampaignWait)
		l, err := el.cfg.Elector.Campaign(cctx)
		cancel()
		if err == nil {
			o.gain(ctx, l, false)
			return func() { o.resign(ctx) }
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			el.setErr(err)
		}
		rctx, cancel := context.WithTimeout(ctx, sharedIOTimeout)
		if ld, lerr := el.cfg.Elector.Leader(rctx); lerr == nil {
			el.mu.Lock()
			el.leader = ld
			el.mu.Unlock()
		}
		cancel()
		o.log.Info("election: another replica leads: shared targets are left to it", "err", o.redactString(err.Error()))
	}
	return func() {}
}

// sharedTargets returns the Shared targets, in order.
func (o *Orchestrator) sharedTargets() []*target {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*target
	for _, n := range o.order {
		if t := o.targets[n]; t.spec.Shared {
			out = append(out, t)
		}
	}
	return out
}
