package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/raftnode"
)

// The timestamp oracle. Every op a shard leader proposes (writes, time
// ticks, schema and index changes) is stamped with a ts that the oracle,
// on the metadata leader, handed out after the op reached the leader. So
// if a write w1 on one shard is acknowledged before a write w2 on another
// is sent, ts(w1) < ts(w2) whatever the nodes' clocks say, and a read of
// several shards as of one oracle ts is a linearizable cut
// (docs/consistency.md, "Reads and writes across shards").

// TsWindow is how far above what it hands out the oracle persists its
// bound in the metadata group, so that it writes to the log about once per
// window and a new oracle leader starts above anything handed out. Each
// change of oracle leader moves timestamps up to a window ahead of the
// clock, so it is kept short.
const TsWindow = 500 * time.Millisecond

// MaxTsRange is the most timestamps one AllocateTs hands out.
const MaxTsRange = 1 << 16

// ErrNoOracle is returned when no timestamp could be had from the oracle
// (the metadata group has no reachable leader): the op was not proposed.
var ErrNoOracle = errors.New("timestamp oracle unavailable")

// TsRange is a range of timestamps, First to Last inclusive.
type TsRange struct{ First, Last uint64 }

// oracle is the metadata leader's allocator.
type oracle struct {
	mu    sync.Mutex
	term  uint64 // the metadata term last is from
	last  uint64 // highest ts handed out
	limit uint64 // the persisted bound this leader knows is committed
	// raising is set while a raise of the bound runs in the background.
	raising bool
}

// AllocateTs hands out count timestamps, all above every ts handed out
// before the call and at or above the oracle leader's clock and physical
// (up to MaxClientAhead past that clock).
// It runs on the metadata leader only (a NotLeaderError otherwise). The
// range is returned once the metadata group has confirmed, by its read
// lease or a quorum round, that this node still leads it: a deposed leader
// that hands out a range after its successor handed out a higher one
// cannot answer.
func (h *Host) AllocateTs(ctx context.Context, physical uint64, count int) (TsRange, error) {
	if count < 1 || count > MaxTsRange {
		return TsRange{}, fmt.Errorf("%w: count %d must be between 1 and %d", fsm.ErrInvalid, count, MaxTsRange)
	}
	t, err := h.mg.WaitLeader(ctx)
	if err != nil {
		return TsRange{}, h.metaNotLeaderOr(err)
	}
	rng, err := h.oracle.take(ctx, h, t.Term, physical, count)
	if err != nil {
		return TsRange{}, err
	}
	// Confirmed after the range is chosen, outside the lock: of two
	// allocations, the one chosen later is the higher, and a caller that
	// arrives after another was answered is chosen later.
	if !h.mg.LeaseValid(time.Now()) {
		if _, err := h.mg.ReadIndex(ctx); err != nil {
			return TsRange{}, h.metaNotLeaderOr(err)
		}
	}
	return rng, nil
}

// take chooses the next range, persisting a higher bound first when the
// range would reach the current one.
func (o *oracle) take(ctx context.Context, h *Host, term, physical uint64, count int) (TsRange, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.term != term {
		// The term's barrier has applied every committed bound: start
		// above the highest, which is above anything any leader handed out.
		o.term = term
		o.limit = h.meta.TsLimit()
		o.last = max(o.last, o.limit)
	}
	// The caller's clock counts too, so that timestamps keep up with the
	// fastest node's clock (its BOUNDED reads compare them with it), but
	// no further than MaxClientAhead past this node's: a node whose clock
	// jumped does not drag the cluster's timestamps along.
	now := h.cfg.Clock.Now()
	first := max(o.last+1, MakeTs(now), min(physical, MakeTs(now.Add(MaxClientAhead))))
	last := first + uint64(count) - 1
	window := uint64(TsWindow.Milliseconds()) << LogicalBits
	switch {
	case last >= o.limit:
		// Nothing may be handed out at or above a bound not yet committed.
		limit := last + window
		if err := h.ProposeMeta(ctx, &fsm.MetaOp{RaiseTsLimit: limit}); err != nil {
			return TsRange{}, err
		}
		o.limit = limit
	case last >= o.limit-window/2 && !o.raising:
		// Half the window used: raise the bound in the background, so
		// that allocations under load rarely wait for the metadata log.
		o.raising = true
		go o.raise(h, term, last+window)
	}
	o.last = last
	return TsRange{first, last}, nil
}

// raise commits a higher bound and, if this node still leads in the same
// term, lets allocations use it.
func (o *oracle) raise(h *Host, term, limit uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.ProposeMeta(ctx, &fsm.MetaOp{RaiseTsLimit: limit})
	o.mu.Lock()
	defer o.mu.Unlock()
	o.raising = false
	if err == nil && o.term == term && limit > o.limit {
		o.limit = limit
	}
}

func (h *Host) metaNotLeaderOr(err error) error {
	if errors.Is(err, raftnode.ErrNotLeader) {
		id, _ := h.mg.LeaderHint()
		return &NotLeaderError{Group: MetaGroup, LeaderID: id}
	}
	return err
}

// SetTsForwarder gives the host a way to reach the oracle on the metadata
// leader from any node.
func (h *Host) SetTsForwarder(f func(ctx context.Context, physical uint64, count int) (TsRange, error)) {
	h.mu.Lock()
	h.tsForward = f
	h.mu.Unlock()
}

// allocate asks the oracle for count timestamps: here if this node leads
// the metadata group, else through the forwarder.
func (h *Host) allocate(ctx context.Context, count int) (TsRange, error) {
	physical := max(MakeTs(h.cfg.Clock.Now()), h.ts.floor.Load())
	rng, err := h.AllocateTs(ctx, physical, count)
	var nl *NotLeaderError
	if !errors.As(err, &nl) {
		return rng, err
	}
	h.mu.Lock()
	f := h.tsForward
	h.mu.Unlock()
	if f == nil {
		return rng, err
	}
	return f(ctx, physical, count)
}

// Ts returns a ts from the oracle handed out after the call began: the
// ts of a STRONG read across shards.
func (h *Host) Ts(ctx context.Context) (uint64, error) {
	rng, err := h.ts.next(ctx)
	return rng.Last, err
}

// tsSource batches a node's requests for timestamps: a caller waits for
// the next request to the oracle that starts after it arrived, and every
// caller of one request shares its range (each shard takes from it what
// it needs above its own last ts; a range is only ever used after the
// calls it serves arrived, which is what the oracle's promise needs). At
// most maxTsInflight requests run at once.
type tsSource struct {
	alloc func(ctx context.Context, count int) (TsRange, error)
	hi    atomic.Uint64 // highest ts of any range handed out to this node
	// floor is the lowest ts a shard here needs next: a shard whose last ts
	// is above what the oracle hands out (written before the oracle, or by
	// a leader whose clock ran ahead) asks for ranges above it.
	floor atomic.Uint64

	mu       sync.Mutex
	inflight int
	waiting  []chan tsAnswer
}

const maxTsInflight = 2

type tsAnswer struct {
	rng TsRange
	err error
}

// next returns a range handed out after the call began.
func (s *tsSource) next(ctx context.Context) (TsRange, error) {
	ch := make(chan tsAnswer, 1)
	s.mu.Lock()
	s.waiting = append(s.waiting, ch)
	if s.inflight < maxTsInflight {
		s.startLocked()
	}
	s.mu.Unlock()
	select {
	case a := <-ch:
		return a.rng, a.err
	case <-ctx.Done():
		return TsRange{}, fmt.Errorf("%w: %v", ErrNoOracle, ctx.Err())
	}
}

func (s *tsSource) raiseHi(ts uint64) { raise(&s.hi, ts) }

// raise moves v up to ts, never down.
func raise(v *atomic.Uint64, ts uint64) {
	for {
		cur := v.Load()
		if cur >= ts || v.CompareAndSwap(cur, ts) {
			return
		}
	}
}

// stamp picks the ts of an op a shard leader proposes: above last (the
// shard's previous ts, so log order is ts order), at least rng.First
// (above everything handed out before the op arrived) and at most the
// highest ts handed out to this node (so no ts runs ahead of the oracle).
// ok is false when the range is used up (the caller asks again, and the
// next request asks the oracle for timestamps above last).
func (s *tsSource) stamp(rng TsRange, last uint64) (ts uint64, ok bool) {
	ts = max(rng.First, last+1)
	if ts > max(rng.Last, s.hi.Load()) {
		raise(&s.floor, ts)
		return ts, false
	}
	return ts, true
}

func (s *tsSource) startLocked() {
	batch := s.waiting
	s.waiting = nil
	s.inflight++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rng, err := s.alloc(ctx, min(len(batch), MaxTsRange))
		cancel()
		if err != nil {
			err = fmt.Errorf("%w: %v", ErrNoOracle, err)
		} else {
			s.raiseHi(rng.Last)
		}
		for _, ch := range batch {
			ch <- tsAnswer{rng, err}
		}
		s.mu.Lock()
		s.inflight--
		if len(s.waiting) > 0 {
			s.startLocked()
		}
		s.mu.Unlock()
	}()
}
