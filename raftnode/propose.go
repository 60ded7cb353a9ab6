package raftnode

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/raftvec/raftvec/telemetry"
)

// Future is a proposal in flight.
type Future struct {
	cmd   []byte
	done  chan struct{}
	res   any
	index uint64
	err   error
	// span is the proposal's raft.propose span, from Propose until the
	// leader has applied the entry (noop when the proposer is not traced).
	span trace.Span
}

func (f *Future) finish(res any, index uint64, err error) {
	f.res, f.index, f.err = res, index, err
	if f.span.IsRecording() && index > 0 {
		f.span.SetAttributes(attribute.Int64("raft.index", int64(index)))
	}
	telemetry.End(f.span, err)
	close(f.done)
}

// Wait returns the FSM's result for the command and the index of the entry
// that carried it. If ctx ends first the outcome is unknown: the command may
// still commit.
func (f *Future) Wait(ctx context.Context) (any, uint64, error) {
	select {
	case <-f.done:
		return f.res, f.index, f.err
	case <-ctx.Done():
		return nil, 0, errors.Join(ErrUnknownOutcome, ctx.Err())
	}
}

// Propose queues cmd for the next log entry and returns at once. Commands
// proposed one after another from one goroutine (or under one lock) reach
// the log in that order, which is what lets a caller stamp commands with
// increasing timestamps under its own lock.
//
// ctx is not a deadline (Wait takes one): it carries the trace the
// proposal belongs to. A traced proposal gets a raft.propose span from here
// until the leader has applied its entry (queued, handed to Raft in a batch,
// committed by a quorum, applied), with the entry's index.
func (g *Group) Propose(ctx context.Context, cmd []byte) *Future {
	f := &Future{cmd: cmd, done: make(chan struct{})}
	_, f.span = telemetry.Start(ctx, "raft.propose")
	if f.span.IsRecording() {
		f.span.SetAttributes(attribute.String("raft.group", g.cfg.Group), attribute.Int("raft.cmd_bytes", len(cmd)))
	}
	if len(cmd) > g.cfg.MaxEntryBytes {
		f.finish(nil, 0, ErrTooLarge)
		return f
	}
	g.propMu.Lock()
	select {
	case <-g.done:
		g.propMu.Unlock()
		f.finish(nil, 0, ErrShutdown)
		return f
	default:
	}
	g.queue = append(g.queue, f)
	g.propMu.Unlock()
	select {
	case g.queueCh <- struct{}{}:
	default:
	}
	return f
}

// Apply proposes cmd and waits for its result.
func (g *Group) Apply(ctx context.Context, cmd []byte) (any, error) {
	res, _, err := g.Propose(ctx, cmd).Wait(ctx)
	return res, err
}

// proposeLoop drains the queue into log entries: everything queued while
// the previous entry was being handed to Raft goes into the next one.
func (g *Group) proposeLoop() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case <-g.queueCh:
		}
		for {
			batch := g.takeBatch()
			if len(batch) == 0 {
				break
			}
			g.submit(batch)
		}
	}
}

func (g *Group) takeBatch() []*Future {
	g.propMu.Lock()
	defer g.propMu.Unlock()
	n, bytes := 0, 0
	for n < len(g.queue) && n < g.cfg.MaxBatchCmds {
		if n > 0 && bytes+len(g.queue[n].cmd) > g.cfg.MaxBatchBytes {
			break
		}
		bytes += len(g.queue[n].cmd)
		n++
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	return batch
}

func (g *Group) submit(batch []*Future) {
	cmds := make([][]byte, len(batch))
	for i, f := range batch {
		cmds[i] = f.cmd
	}
	g.leadMu.Lock()
	l := g.lead
	g.leadMu.Unlock()
	start := time.Now()
	af := g.raft.Apply(encodeFrame(cmds), 0)
	for _, f := range batch {
		if f.span.IsRecording() {
			f.span.AddEvent("submitted", trace.WithAttributes(attribute.Int("raft.batch_cmds", len(batch))))
		}
	}
	go func() {
		err := af.Error()
		if err == nil && l != nil {
			g.extendLease(l, start)
		}
		if err != nil {
			err = classify(err)
			for _, f := range batch {
				f.finish(nil, 0, err)
			}
			return
		}
		res, _ := af.Response().([]any)
		for i, f := range batch {
			var r any
			if i < len(res) {
				r = res[i]
			}
			f.finish(r, af.Index(), nil)
		}
	}()
}

// classify maps raft's errors to this package's: a proposal that never
// reached the log is ErrNotLeader; one that reached it but whose fate is
// unknown is ErrUnknownOutcome.
func classify(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return ErrNotLeader
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout):
		return errors.Join(ErrUnknownOutcome, err)
	}
	return errors.Join(ErrUnknownOutcome, err)
}

// --- leadership ---

func (g *Group) leadershipLoop() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			g.setLeadership(nil)
			return
		case isLeader := <-g.notifyCh:
			if !isLeader {
				g.setLeadership(nil)
				continue
			}
			l := &leadership{term: g.raft.CurrentTerm(), ready: make(chan struct{}), lost: make(chan struct{})}
			g.setLeadership(l)
			go g.startTerm(l)
		}
	}
}

func (g *Group) setLeadership(l *leadership) {
	g.leadMu.Lock()
	defer g.leadMu.Unlock()
	if g.lead != nil {
		close(g.lead.lost)
	}
	g.lead = l
	g.leaderGen++
}

// startTerm commits an empty entry of the new term and waits until it is
// applied. Until then the leader has not applied everything its
// predecessors committed, so it neither assigns timestamps nor serves reads.
func (g *Group) startTerm(l *leadership) {
	af := g.raft.Apply(encodeFrame(nil), 0)
	err := af.Error()
	if err == nil {
		l.startIndex = af.Index()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.lost:
			case <-g.done:
			}
			cancel()
		}()
		err = g.WaitApplied(ctx, l.startIndex)
		cancel()
	}
	if err != nil {
		l.err = classify(err)
	}
	close(l.ready)
}

// Term is a leadership this node holds, once it is ready to serve.
type Term struct {
	Term uint64
	// Lost is closed when the leadership ends.
	Lost <-chan struct{}
}

// WaitLeader waits until this node is the leader and has applied every
// entry committed before its term, and returns that term. It returns
// ErrNotLeader at once when the node is not the leader.
func (g *Group) WaitLeader(ctx context.Context) (Term, error) {
	g.leadMu.Lock()
	l := g.lead
	g.leadMu.Unlock()
	if l == nil {
		return Term{}, ErrNotLeader
	}
	select {
	case <-l.ready:
	case <-ctx.Done():
		return Term{}, ctx.Err()
	}
	if l.err != nil {
		return Term{}, ErrNotLeader
	}
	select {
	case <-l.lost:
		return Term{}, ErrNotLeader
	default:
	}
	return Term{Term: l.term, Lost: l.lost}, nil
}

// --- read index ---

// Rounds shares one call among all callers that arrive while the previous
// call is in flight (as etcd shares one leadership check among reads): a
// caller never gets the answer of a call that began before it arrived, it
// waits for the next one. A Group's read index uses one (Call is a quorum
// round); so does a follower's read index, fetched from its leader.
type Rounds struct {
	// Call makes one round. Calls run one at a time, on a goroutine of
	// their own; set Call before the first Get. Its ctx is the context of
	// the round's first caller without its deadline or cancellation (the
	// round serves callers beyond it): it carries values only, such as the
	// trace the call's spans belong to.
	Call func(ctx context.Context) (uint64, error)

	mu      sync.Mutex
	next    *round
	running bool
}

type round struct {
	ctx   context.Context
	done  chan struct{}
	index uint64
	err   error
}

// Get returns the answer of a call begun after Get was called.
func (b *Rounds) Get(ctx context.Context) (uint64, error) {
	b.mu.Lock()
	if b.next == nil {
		b.next = &round{ctx: context.WithoutCancel(ctx), done: make(chan struct{})}
	}
	r := b.next
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (b *Rounds) run() {
	for {
		b.mu.Lock()
		r := b.next
		b.next = nil
		if r == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		r.index, r.err = b.Call(r.ctx)
		close(r.done)
	}
}

// ReadIndex returns an index such that the FSM, once it has applied it,
// reflects every write committed before ReadIndex was called. It records
// the commit index, then confirms with a quorum that this node is still the
// leader; every read waiting at that moment shares the round. The leader
// must have committed an entry of its current term first.
//
// A traced read gets a raft.read_index span for its wait, with the index.
func (g *Group) ReadIndex(ctx context.Context) (idx uint64, err error) {
	if _, err := g.WaitLeader(ctx); err != nil {
		return 0, err
	}
	ctx, span := telemetry.Start(ctx, "raft.read_index")
	defer func() {
		if span.IsRecording() {
			span.SetAttributes(attribute.String("raft.group", g.cfg.Group), attribute.Int64("raft.index", int64(idx)))
		}
		telemetry.End(span, err)
	}()
	return g.reads.Get(ctx)
}

// verifyRound is one quorum round, made with an empty entry of the current
// term rather than VerifyLeader: hashicorp/raft may count a heartbeat
// answer that was sent before VerifyLeader was called, while a new entry's
// commit proves that a quorum still followed this leader after the round
// started. When it is applied, every earlier entry is; its index is the
// read index. It is an empty group-commit frame rather than a raft Barrier
// because hashicorp/raft hands barriers (and its own no-ops) to no FSM:
// followers would then see a commit index their applied index never
// reaches, and look behind (CaughtUp) until the next command. The round
// also extends the read lease from its start.
func (g *Group) verifyRound(context.Context) (uint64, error) {
	g.leadMu.Lock()
	l := g.lead
	g.leadMu.Unlock()
	if l == nil {
		return 0, ErrNotLeader
	}
	start := time.Now()
	af := g.raft.Apply(encodeFrame(nil), g.cfg.ElectionTimeout*4)
	if err := af.Error(); err != nil {
		return 0, ErrNotLeader
	}
	g.extendLease(l, start)
	return af.Index(), nil
}

// extendLease records that an entry proposed at start by leadership l has
// committed: every follower that acknowledged it heard from this leader
// after start, so none of them votes for another candidate before start +
// HeartbeatTimeout.
func (g *Group) extendLease(l *leadership, start time.Time) {
	g.leadMu.Lock()
	defer g.leadMu.Unlock()
	if g.lead != l || l.noLease {
		return
	}
	if until := start.Add(g.cfg.LeaseDuration()); until.After(l.leaseUntil) {
		l.leaseUntil = until
	}
}
