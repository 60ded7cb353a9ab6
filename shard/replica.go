package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/armon/go-metrics"
	"github.com/hashicorp/raft"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
	"github.com/raftvec/raftvec/raftnode"
	"github.com/raftvec/raftvec/telemetry"
)

// Level is a read's consistency level.
type Level int

const (
	Strong Level = iota + 1
	Bounded
	Session
	Eventual
)

func (l Level) String() string {
	switch l {
	case Strong:
		return "STRONG"
	case Bounded:
		return "BOUNDED"
	case Session:
		return "SESSION"
	case Eventual:
		return "EVENTUAL"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// DefaultMaxStaleness bounds a BOUNDED read that names no bound.
const DefaultMaxStaleness = 5 * time.Second

// ReadOptions say how fresh a read must be.
type ReadOptions struct {
	Level        Level
	MaxStaleness time.Duration // BOUNDED
	SessionToken uint64        // SESSION: the highest ts the client has seen
	AsOf         uint64        // if set, read the state as of this ts
}

// ReplicaConfig configures one shard replica.
type ReplicaConfig struct {
	ShardID    uint64
	ShardIndex int // position among the collection's shards
	ShardCount int
	Collection *fsmpb.Schema
	// SealRows is the growing segment's threshold, fixed in the log by the
	// first leader.
	SealRows     uint32
	TickInterval time.Duration
	Limits       fsm.Limits
	Raft         raftnode.Config // NodeID, Dir and Bootstrap set by the host
	Logger       *slog.Logger
	Clock        *Clock
	// Fatal is called when the replica's state machine cannot go on.
	Fatal func(error)
	// Unsafe switches off guarantees for negative controls.
	Unsafe Unsafe
	// Builder builds indexes of sealed segments; Builds bounds how many
	// builds run at once on the node (a token per build).
	Builder index.Builder
	Builds  chan struct{}
	// Compaction is the leader's automatic compaction policy, checked every
	// CompactInterval (0 turns automatic compaction off).
	Compaction      fsm.CompactionPolicy
	CompactInterval time.Duration
	// Oracle stamps the leader's ops (the host's timestamp oracle client);
	// nil stamps them from Clock alone, for a replica without a cluster.
	Oracle *tsSource
	// LeaderReadIndex asks the shard's leader, on node leaderID, for a read
	// index (Group.ReadIndex there), so that a follower can serve a STRONG
	// read; nil leaves STRONG reads to the leader.
	LeaderReadIndex func(ctx context.Context, leaderID string, shardID uint64) (uint64, error)
}

// Replica is one replica of a shard.
type Replica struct {
	cfg   ReplicaConfig
	name  string
	group *raftnode.Group
	fsm   *fsm.Shard
	log   *slog.Logger
	clock *Clock

	// leaderIndex shares this follower's read-index calls to the leader
	// among the reads waiting for one.
	leaderIndex raftnode.Rounds

	propMu      sync.Mutex
	lastTs      uint64
	term        uint64
	lastPropose time.Time
	tickWanted  atomic.Uint64 // highest ts an on-demand tick was proposed for

	done chan struct{}
	wg   sync.WaitGroup
}

// GroupName is the Raft group name of a shard.
func GroupName(shardID uint64) string { return fmt.Sprintf("shard-%d", shardID) }

// OpenReplica opens the replica's state in dir and joins its Raft group.
func OpenReplica(cfg ReplicaConfig, dir string, mux *raftnode.Mux) (*Replica, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = NewClock(nil)
	}
	if cfg.TickInterval <= 0 {
		return nil, fmt.Errorf("tick_interval (%v) must be positive", cfg.TickInterval)
	}
	name := GroupName(cfg.ShardID)
	r := &Replica{cfg: cfg, name: name, log: cfg.Logger.With("group", name), clock: cfg.Clock, done: make(chan struct{})}
	r.leaderIndex.Call = r.askLeader
	fo := fsm.DefaultOptions()
	fo.Dir = filepath.Join(dir, "fsm")
	fo.UnsafeSkipDedup = cfg.Unsafe.SkipDedup
	fo.Logger = r.log
	fo.Fatal = func(err error) {
		r.log.Error("replica stopped: state machine cannot go on", "err", err)
		if cfg.Fatal != nil {
			cfg.Fatal(err)
		}
		panic(err)
	}
	s, err := fsm.Open(fo)
	if err != nil {
		return nil, err
	}
	r.fsm = s
	rc := cfg.Raft
	rc.Group = name
	rc.Dir = filepath.Join(dir, "raft")
	g, err := raftnode.New(rc, s, mux)
	if err != nil {
		s.Close()
		return nil, err
	}
	r.group = g
	r.wg.Add(1)
	go r.tickLoop()
	if cfg.Builder != nil && cfg.Builds != nil {
		r.wg.Add(1)
		go r.indexLoop()
	}
	return r, nil
}

// indexLoop builds the indexes of sealed segments in the background, off
// the apply path, one node-wide token per build.
func (r *Replica) indexLoop() {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-r.done; cancel() }()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		for _, job := range r.fsm.IndexJobs() {
			select {
			case r.cfg.Builds <- struct{}{}:
			case <-r.done:
				return
			}
			err := job.Run(ctx, r.cfg.Builder)
			<-r.cfg.Builds
			if err != nil && ctx.Err() == nil {
				r.log.Warn("index build failed; will retry", "segment", job.Segment(), "err", err)
			}
		}
		select {
		case <-r.done:
			return
		case <-r.fsm.IndexKick():
		case <-t.C:
		}
	}
}

// CreateIndex validates an index spec and proposes it; it returns the
// op's ts.
func (r *Replica) CreateIndex(ctx context.Context, spec *fsmpb.IndexSpec, requestID string) (uint64, error) {
	if err := r.leading(ctx); err != nil {
		return 0, err
	}
	sc := r.fsm.Schema()
	if sc == nil {
		return 0, fsm.ErrNotReady
	}
	if err := sc.ValidateIndexSpec(spec); err != nil {
		return 0, err
	}
	spec.Field = sc.Vector.Name
	res, err := r.propose(ctx, &fsmpb.Op{RequestId: requestID, Kind: &fsmpb.Op_CreateIndex{CreateIndex: &fsmpb.CreateIndex{Spec: spec}}}, 0)
	if err != nil {
		return 0, err
	}
	return res.Ts, nil
}

// DropIndex proposes removing the index; it returns the op's ts.
func (r *Replica) DropIndex(ctx context.Context, requestID string) (uint64, error) {
	if r.fsm.Schema() == nil {
		return 0, fsm.ErrNotReady
	}
	res, err := r.propose(ctx, &fsmpb.Op{RequestId: requestID, Kind: &fsmpb.Op_DropIndex{DropIndex: &fsmpb.DropIndex{}}}, 0)
	if err != nil {
		return 0, err
	}
	return res.Ts, nil
}

// Close stops the replica. Its durable state stays on disk.
func (r *Replica) Close() error {
	select {
	case <-r.done:
		return nil
	default:
	}
	close(r.done)
	r.wg.Wait()
	err := r.group.Shutdown()
	if cerr := r.fsm.Close(); err == nil {
		err = cerr
	}
	return err
}

// Group is the replica's Raft group.
func (r *Replica) Group() *raftnode.Group { return r.group }

// FSM is the replica's state machine.
func (r *Replica) FSM() *fsm.Shard { return r.fsm }

// ShardID is the replica's shard.
func (r *Replica) ShardID() uint64 { return r.cfg.ShardID }

// tickLoop proposes a TimeTick when the leader has proposed nothing for a
// tick interval, so that followers' safe ts keeps advancing on an idle
// shard, and has the first leader write the collection's schema to the log.
func (r *Replica) tickLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.TickInterval)
	defer t.Stop()
	lastCompact := time.Now()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		if !r.group.IsLeader() {
			continue
		}
		if r.cfg.CompactInterval > 0 && time.Since(lastCompact) >= r.cfg.CompactInterval {
			lastCompact = time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := r.Compact(ctx, false); err != nil && !isNotLeader(err) {
				r.log.Warn("automatic compaction", "err", err)
			}
			cancel()
		}
		var op *fsmpb.Op
		switch {
		case r.fsm.Schema() == nil && r.cfg.Collection != nil:
			op = &fsmpb.Op{Kind: &fsmpb.Op_CreateCollection{CreateCollection: &fsmpb.CreateCollection{
				Schema: r.cfg.Collection, ShardId: r.cfg.ShardID, SealRows: r.cfg.SealRows,
				ShardIndex: uint32(r.cfg.ShardIndex), ShardCount: uint32(r.cfg.ShardCount)}}}
		default:
			r.propMu.Lock()
			idle := time.Since(r.lastPropose) >= r.cfg.TickInterval
			r.propMu.Unlock()
			if !idle {
				continue
			}
			op = &fsmpb.Op{Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*r.cfg.TickInterval)
		if _, err := r.propose(ctx, op, 0); err != nil && !isNotLeader(err) {
			r.log.Debug("time tick", "err", err)
		}
		cancel()
	}
}

func isNotLeader(err error) bool {
	var nl *NotLeaderError
	return errors.As(err, &nl)
}

func (r *Replica) notLeader() error {
	id, _ := r.group.LeaderHint()
	return &NotLeaderError{Group: r.name, LeaderID: id}
}

// stamp gives op its ts and returns with propMu held, so that ops are
// proposed in ts order. With an oracle the ts comes from a range the
// oracle handed out after the op got here (clientTs needs no care then: a
// token the cluster issued is below such a range); without one, from the
// leader's clock, above what the client has seen.
func (r *Replica) stamp(ctx context.Context, term uint64, op *fsmpb.Op, clientTs uint64) error {
	for {
		var rng TsRange
		if r.cfg.Oracle != nil {
			var err error
			if rng, err = r.cfg.Oracle.next(ctx); err != nil {
				return err
			}
		}
		r.propMu.Lock()
		if r.term != term {
			// A new term: everything committed before it is applied, so
			// the applied ts is the floor for this leader's timestamps.
			if _, ats := r.group.Applied(); ats > r.lastTs {
				r.lastTs = ats
			}
			r.term = term
		}
		if r.cfg.Oracle == nil {
			op.Ts = NextTs(r.clock.Physical(), r.lastTs, clientTs)
			r.lastTs = op.Ts
			return nil
		}
		if ts, ok := r.cfg.Oracle.stamp(rng, r.lastTs); ok {
			op.Ts, r.lastTs = ts, ts
			return nil
		}
		r.propMu.Unlock() // the range is used up by ops that came later
	}
}

// propose stamps op with a ts and proposes it; it waits for the result.
// A traced request gets a shard.propose span: the wait for a ts from the
// oracle (until the "stamped" event), then raft.propose.
func (r *Replica) propose(ctx context.Context, op *fsmpb.Op, clientTs uint64) (out *fsmpb.Result, err error) {
	ctx, span := telemetry.Start(ctx, "shard.propose")
	defer func() {
		if span.IsRecording() {
			span.SetAttributes(attribute.Int64("raftvec.shard", int64(r.cfg.ShardID)), attribute.Int64("raftvec.ts", int64(op.Ts)))
		}
		telemetry.End(span, err)
	}()
	return r.proposeOp(ctx, span, op, clientTs)
}

func (r *Replica) proposeOp(ctx context.Context, span trace.Span, op *fsmpb.Op, clientTs uint64) (*fsmpb.Result, error) {
	t, err := r.group.WaitLeader(ctx)
	if err != nil {
		if errors.Is(err, raftnode.ErrNotLeader) {
			return nil, r.notLeader()
		}
		return nil, err
	}
	if op.RequestId != "" && op.Fingerprint == nil {
		op.Fingerprint = fsm.Fingerprint(op)
	}
	if err := r.stamp(ctx, t.Term, op, clientTs); err != nil {
		return nil, err
	}
	b, err := fsm.EncodeOp(op)
	if err != nil {
		r.propMu.Unlock()
		return nil, err
	}
	span.AddEvent("stamped")
	f := r.group.Propose(ctx, b)
	r.lastPropose = time.Now()
	r.propMu.Unlock()

	res, _, err := f.Wait(ctx)
	switch {
	case err == nil:
	case errors.Is(err, raftnode.ErrNotLeader):
		return nil, r.notLeader()
	case errors.Is(err, raftnode.ErrUnknownOutcome), errors.Is(err, raftnode.ErrShutdown):
		return nil, fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
	default:
		return nil, err
	}
	out, ok := res.(*fsmpb.Result)
	if !ok {
		return nil, fmt.Errorf("%w: no result from apply", ErrUnknownOutcome)
	}
	if out.Code != fsm.CodeOK {
		return out, fsm.ResultError(out)
	}
	return out, nil
}

// Insert validates rows and proposes them into a partition. upsert
// replaces live rows with the same key instead of refusing the batch.
func (r *Replica) Insert(ctx context.Context, in fsm.RowsInput, partition uint32, upsert bool, requestID string, clientTs uint64) (*fsmpb.Result, error) {
	// Only the leader may judge a write against the state: a follower may
	// already have applied the first attempt of a retried request, and
	// would refuse the retry instead of answering it from the dedup table.
	if err := r.leading(ctx); err != nil {
		return nil, err
	}
	if err := r.checkClientTs("session_token", clientTs); err != nil {
		return nil, err
	}
	sc := r.fsm.Schema()
	if sc == nil {
		return nil, fsm.ErrNotReady
	}
	rows, err := sc.BuildRows(in, r.cfg.Limits)
	if err != nil {
		return nil, err
	}
	op := &fsmpb.Op{RequestId: requestID, Kind: &fsmpb.Op_Insert{Insert: &fsmpb.Insert{Rows: rows, Upsert: upsert, Partition: partition}}}
	if res, ok := r.deduped(op); ok && !r.cfg.Unsafe.SkipDedup {
		return res, fsm.ResultError(res)
	}
	if !upsert && !r.cfg.Unsafe.SkipDedup {
		if err := r.fsm.CheckAbsent(rows); err != nil {
			return nil, err
		}
	}
	return r.propose(ctx, op, clientTs)
}

// leading returns nil once this replica is a ready leader, else a
// NotLeaderError.
func (r *Replica) leading(ctx context.Context) error {
	if _, err := r.group.WaitLeader(ctx); err != nil {
		if errors.Is(err, raftnode.ErrNotLeader) {
			return r.notLeader()
		}
		return err
	}
	return nil
}

// deduped answers a retried request that this replica (a leader) has
// applied, so that the retry gets the first attempt's answer instead of
// failing validation against the state that attempt created. It sets the
// op's fingerprint, so that a different op under the same id is refused.
func (r *Replica) deduped(op *fsmpb.Op) (*fsmpb.Result, bool) {
	if op.RequestId == "" {
		return nil, false
	}
	op.Fingerprint = fsm.Fingerprint(op)
	return r.fsm.Deduped(op.RequestId, op.Fingerprint)
}

// MaxClientAhead is how far ahead of this node's clock a client may name a
// ts (a session token or an as-of ts): tokens come from other nodes'
// leaders, whose clocks may run ahead of this one, but a ts far in the
// future would move the shard's clock there (the leader stamps later ops
// above it), hide rows or wrap. It is also the clock assumption: nodes'
// clocks are within this of each other.
const MaxClientAhead = 5 * time.Second

// checkClientTs refuses a client's ts that is further ahead than
// MaxClientAhead of both this node's clock and the shard's applied ts (a
// ts the shard issued itself is never refused).
func (r *Replica) checkClientTs(field string, ts uint64) error {
	if ts == 0 {
		return nil
	}
	now := r.clock.Now()
	limit := MakeTs(now.Add(MaxClientAhead))
	if _, applied := r.group.Applied(); applied > limit {
		limit = applied
	}
	if ts <= limit {
		return nil
	}
	ahead := TsTime(ts).Sub(now).Round(time.Millisecond)
	if ts > fsm.MaxTs || ahead > 100*365*24*time.Hour {
		return fmt.Errorf("%w: %s %d is not a ts this cluster issued (at most %v ahead of this node's clock, %s)",
			fsm.ErrInvalid, field, ts, MaxClientAhead, now.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Errorf("%w: %s %d is %v ahead of this node's clock; at most %v is accepted",
		fsm.ErrInvalid, field, ts, ahead, MaxClientAhead)
}

// Delete proposes the deletion of rows by primary key.
func (r *Replica) Delete(ctx context.Context, ints []int64, strs []string, requestID string, clientTs uint64) (*fsmpb.Result, error) {
	if err := r.leading(ctx); err != nil {
		return nil, err
	}
	if err := r.checkClientTs("session_token", clientTs); err != nil {
		return nil, err
	}
	sc := r.fsm.Schema()
	if sc == nil {
		return nil, fsm.ErrNotReady
	}
	op := &fsmpb.Op{RequestId: requestID, Kind: &fsmpb.Op_Delete{Delete: &fsmpb.Delete{IntPks: ints, StrPks: strs}}}
	if res, ok := r.deduped(op); ok {
		return res, fsm.ResultError(res)
	}
	if err := sc.ValidateDeleteKeys(ints, strs, r.cfg.Limits); err != nil {
		return nil, err
	}
	return r.propose(ctx, op, clientTs)
}

// Seal proposes closing the growing segment and returns the seal's ts.
func (r *Replica) Seal(ctx context.Context) (uint64, error) {
	res, err := r.propose(ctx, &fsmpb.Op{Kind: &fsmpb.Op_Seal{Seal: &fsmpb.Seal{}}}, 0)
	if err != nil {
		return 0, err
	}
	return res.Ts, nil
}

// readPlan is what a read needs before this replica may serve it.
type readPlan struct {
	readIndex bool   // confirm leadership and wait for the commit index
	waitTs    uint64 // wait until the applied ts reaches this
	asOf      uint64 // read at this ts; 0 means at the applied ts once ready
	// fresh, if set, requires that this replica heard from its leader
	// within fresh and has applied everything the leader said was
	// committed then (BOUNDED off a leasing leader).
	fresh time.Duration
}

// planRead decides, for a read with options o arriving at now, what the
// replica must wait for. leaseValid says whether this replica is a leader
// holding a read lease. A pure function: the rules of the four levels.
func planRead(o ReadOptions, now time.Time, leaseValid bool) (readPlan, error) {
	if o.AsOf > 0 {
		// A past-ts read needs every write at or below the ts applied; the
		// level does not matter any more.
		return readPlan{waitTs: o.AsOf, asOf: o.AsOf}, nil
	}
	switch o.Level {
	case Strong:
		return readPlan{readIndex: true}, nil
	case Bounded:
		if leaseValid {
			return readPlan{}, nil // the leader's state is current
		}
		stale := o.MaxStaleness
		if stale <= 0 {
			stale = DefaultMaxStaleness
		}
		// Two conditions. The replica has applied every write stamped up
		// to now - staleness; and it heard from its leader within the
		// bound, on its own clock, because a timestamp can run ahead of
		// real time (a leader's clock that jumped, or a session token from
		// the future) and a replica cut off after applying it would
		// otherwise look fresh for that long.
		return readPlan{waitTs: MakeTs(now.Add(-stale)), fresh: stale}, nil
	case Session:
		return readPlan{waitTs: o.SessionToken}, nil
	case Eventual:
		return readPlan{}, nil
	}
	return readPlan{}, fmt.Errorf("%w: consistency level %d", fsm.ErrInvalid, o.Level)
}

// followerCatchUp is how long a follower waits to apply up to a STRONG
// read's index before it sends the read to the leader; leaderIndexTimeout
// bounds its call for the index.
const (
	followerCatchUp    = 100 * time.Millisecond
	leaderIndexTimeout = time.Second
)

// readIndex is the index a STRONG read must wait to apply: the leader's
// own read index, or, on a follower (follower true), the one its leader
// answers (a quorum round the leader started after the request arrived,
// then its commit index; docs/consistency.md gives the argument). A
// follower that cannot get one answers NotLeader, so that the read goes to
// the leader.
func (r *Replica) readIndex(ctx context.Context) (idx uint64, follower bool, err error) {
	idx, err = r.group.ReadIndex(ctx)
	if err == nil || !errors.Is(err, raftnode.ErrNotLeader) {
		return idx, false, err
	}
	if r.cfg.LeaderReadIndex == nil {
		return 0, true, r.notLeader()
	}
	idx, err = r.leaderIndex.Get(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0, true, ctx.Err()
		}
		return 0, true, r.notLeader()
	}
	return idx, true, nil
}

// askLeader is one read-index call to the node this follower believes
// leads the shard (ErrNotLeader when it knows none), bounded by
// leaderIndexTimeout: a read that gets no index in time goes to the leader
// by forwarding.
//
// ctx carries the trace of the read that opened the round, which is where
// the call to the leader shows (the other reads sharing it have the index
// as an event of their shard.read_ts span).
func (r *Replica) askLeader(ctx context.Context) (uint64, error) {
	leader, _ := r.group.LeaderHint()
	if leader == "" || leader == r.cfg.Raft.NodeID {
		return 0, raftnode.ErrNotLeader
	}
	ctx, cancel := context.WithTimeout(ctx, leaderIndexTimeout)
	defer cancel()
	return r.cfg.LeaderReadIndex(ctx, leader, r.cfg.ShardID)
}

// LeaderReadIndex is this replica's read index if it leads the shard, for a
// follower's STRONG read; NotLeader otherwise.
//
// The leader's read index is the index of the round's own empty entry,
// appended after the read arrived. A follower need not apply that entry,
// only everything before it: every write acknowledged before the read
// arrived has a lower index. Followers learn that those entries committed
// from the message that carries the round's entry, but that the round's
// entry committed only from the next one (a heartbeat or tick later), so
// answering the index before it spares the follower that wait.
func (r *Replica) LeaderReadIndex(ctx context.Context) (uint64, error) {
	idx, err := r.group.ReadIndex(ctx)
	if errors.Is(err, raftnode.ErrNotLeader) {
		return 0, r.notLeader()
	}
	if err != nil {
		return 0, err
	}
	return idx - 1, nil
}

// ReadTs waits until this replica may serve a read with the given options
// and returns the ts to read at.
//
// A traced read gets a shard.read_ts span for the wait, with the level and
// the ts.
func (r *Replica) ReadTs(ctx context.Context, o ReadOptions) (ts uint64, err error) {
	start := time.Now()
	ctx, span := telemetry.Start(ctx, "shard.read_ts")
	defer func() {
		if span.IsRecording() {
			span.SetAttributes(attribute.Int64("raftvec.shard", int64(r.cfg.ShardID)), attribute.String("raftvec.level", o.Level.String()),
				attribute.Int64("raftvec.ts", int64(ts)))
		}
		telemetry.End(span, err)
	}()
	ts, err = r.readTs(ctx, o)
	// raftvec_shard_read_wait: how long reads waited to keep their level's
	// promise, by level and outcome.
	metrics.MeasureSinceWithLabels([]string{"shard", "read_wait"}, start,
		[]metrics.Label{{Name: "level", Value: o.Level.String()}, {Name: "ok", Value: strconv.FormatBool(err == nil)}})
	return ts, err
}

func (r *Replica) readTs(ctx context.Context, o ReadOptions) (uint64, error) {
	if err := r.checkClientTs("as_of_ts", o.AsOf); err != nil {
		return 0, err
	}
	if err := r.checkClientTs("session_token", o.SessionToken); err != nil {
		return 0, err
	}
	if o.Level == Strong && o.AsOf > 0 && !r.group.IsLeader() {
		// A STRONG read as of a ts (a shard's part of a read across
		// shards) goes to the leader, which can move the shard's safe ts
		// up to it at once; a follower would wait for the next tick.
		if _, applied := r.group.Applied(); applied < o.AsOf {
			return 0, r.notLeader()
		}
	}
	p, err := planRead(o, r.clock.Now(), r.group.LeaseValid(time.Now()))
	if err != nil {
		return 0, err
	}
	if p.readIndex && !r.cfg.Unsafe.LocalReads {
		idx, follower, err := r.readIndex(ctx)
		if err != nil {
			return 0, err
		}
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.AddEvent("read index", trace.WithAttributes(attribute.Int64("raft.index", int64(idx)), attribute.Bool("raftvec.from_leader", follower)))
		}
		switch {
		case !follower:
			if err := r.group.WaitApplied(ctx, idx); err != nil {
				return 0, err
			}
		case r.cfg.Unsafe.FollowerNoWait:
		default:
			// A follower that is not caught up within followerCatchUp
			// sends the read to the leader instead, which has applied the
			// index: a replica held back (slow disk, a long snapshot
			// restore) must not make STRONG reads slow.
			wctx, cancel := context.WithTimeout(ctx, followerCatchUp)
			err := r.group.WaitApplied(wctx, idx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				return 0, r.notLeader()
			}
		}
	}
	if p.waitTs > 0 {
		if err := r.waitTs(ctx, p.waitTs); err != nil {
			return 0, err
		}
	}
	if p.fresh > 0 {
		if err := r.waitFresh(ctx, p.fresh); err != nil {
			return 0, err
		}
	}
	if p.asOf > 0 {
		return p.asOf, nil
	}
	_, ts := r.group.Applied()
	return ts, nil
}

// waitFresh waits until this replica heard from its leader within fresh
// and has applied what it learned was committed, in the leader's own term
// (Group.CaughtUp); a leader (without a lease) runs a read round instead.
// Together with the ts rule of planRead this keeps the bound when either
// the clocks or the network misbehave, though not both at once: the ts rule
// alone trusts the leader's clock (one running ahead by d makes stale state
// look d fresher), and commit-index catch-up alone trusts that the last
// message from the leader was sent recently. It gives up a little before
// the deadline, saying what it was waiting for.
func (r *Replica) waitFresh(ctx context.Context, fresh time.Duration) error {
	if r.group.IsLeader() {
		idx, err := r.group.ReadIndex(ctx)
		if err != nil {
			return r.notLeaderOr(err)
		}
		return r.group.WaitApplied(ctx, idx)
	}
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		deadline = deadline.Add(-min(time.Until(deadline)/10, 100*time.Millisecond))
	}
	ra := r.group.Raft()
	for {
		contact := ra.LastContact()
		age := time.Since(contact)
		heard := !contact.IsZero() && age <= fresh
		caughtUp := r.group.CaughtUp()
		if heard && caughtUp {
			return nil
		}
		if hasDeadline && time.Now().After(deadline) {
			return &StaleError{Group: r.name, Since: age, Bound: fresh, Behind: heard && !caughtUp}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (r *Replica) notLeaderOr(err error) error {
	if errors.Is(err, raftnode.ErrNotLeader) {
		return r.notLeader()
	}
	return err
}

// tickTo has the leader propose a time tick at or above ts now, rather
// than at the next idle tick, so a read waiting for ts on the leader (a
// read across shards agreeing on one ts) does not wait a tick interval.
func (r *Replica) tickTo(ts uint64) {
	for {
		cur := r.tickWanted.Load()
		if cur >= ts {
			return // a tick at least this high is on its way
		}
		if r.tickWanted.CompareAndSwap(cur, ts) {
			break
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*r.cfg.TickInterval)
		defer cancel()
		r.propose(ctx, &fsmpb.Op{Kind: &fsmpb.Op_TimeTick{TimeTick: &fsmpb.TimeTick{}}}, ts-1)
	}()
}

// waitTs waits for the applied ts to reach ts, giving up a little before
// the deadline so that the caller can say how far behind it is.
func (r *Replica) waitTs(ctx context.Context, ts uint64) error {
	if _, applied := r.group.Applied(); applied < ts && r.group.IsLeader() {
		r.tickTo(ts)
	}
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		margin := time.Until(dl) / 10
		if margin > 100*time.Millisecond {
			margin = 100 * time.Millisecond
		}
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	if err := r.group.WaitTs(wctx, ts); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			_, applied := r.group.Applied()
			return &BehindError{Group: r.name, Applied: applied, Needed: ts}
		}
		return err
	}
	return nil
}

// TestHookAfterReadTs, if set, runs after a read has picked its ts and
// before it reads: tests use it to land a compaction in between.
var TestHookAfterReadTs func(r *Replica)

// readAt picks the level's ts and runs read at it. A read of the current
// state (no as-of ts) that a compaction overtook, moving the read horizon
// above the ts it picked, runs again at the state machine's applied ts,
// which is at or above the horizon: a later state keeps every level's
// promise (it is at least as fresh, and still within the read's span).
func readAt[T any](ctx context.Context, r *Replica, o ReadOptions, read func(ts uint64) (T, error)) (T, uint64, error) {
	ts, err := r.ReadTs(ctx, o)
	if err != nil {
		var zero T
		return zero, 0, err
	}
	if h := TestHookAfterReadTs; h != nil {
		h(r)
	}
	out, err := read(ts)
	for tries := 0; o.AsOf == 0 && errors.Is(err, fsm.ErrTsTooOld) && tries < 3; tries++ {
		_, ts = r.fsm.Applied()
		out, err = read(ts)
	}
	if err == nil {
		// raftvec_shard_reads_served: reads this replica answered from its
		// own state, by level and by its role (where STRONG reads ran).
		role := "follower"
		if r.group.IsLeader() {
			role = "leader"
		}
		metrics.IncrCounterWithLabels([]string{"shard", "reads_served"}, 1,
			[]metrics.Label{{Name: "level", Value: o.Level.String()}, {Name: "role", Value: role}})
	}
	return out, ts, err
}

// Search serves a search at the level's ts.
func (r *Replica) Search(ctx context.Context, o ReadOptions, req fsm.SearchRequest) ([][]fsm.Row, uint64, error) {
	return readAt(ctx, r, o, func(ts uint64) ([][]fsm.Row, error) {
		req.Ts = ts
		return r.fsm.Search(ctx, req)
	})
}

// Query serves a query by filter at the level's ts.
func (r *Replica) Query(ctx context.Context, o ReadOptions, req fsm.QueryRequest) ([]fsm.Row, uint64, error) {
	return readAt(ctx, r, o, func(ts uint64) ([]fsm.Row, error) {
		req.Ts = ts
		return r.fsm.Query(ctx, req)
	})
}

// DeleteByFilter deletes the rows that match a filter. The leader resolves
// the filter to primary keys at its applied state and proposes their
// deletion (in chunks of the batch limit): rows inserted after that moment
// are not deleted even if they match. Each chunk is one op, applied whole;
// the chunks are not one atomic write (a read between two sees the first
// applied and not the second).
//
// A chunk's request id names its keys, not its position: a retry resolves
// the filter again, and its chunks are then new key sets that must not be
// mistaken for the first attempt's chunks. A chunk the first attempt did
// apply is answered from the dedup table if it comes out the same, and
// otherwise its rows no longer match. The retry reports the rows it deleted
// itself.
func (r *Replica) DeleteByFilter(ctx context.Context, f fsm.Filter, requestID string, clientTs uint64) (*fsmpb.Result, error) {
	if err := r.leading(ctx); err != nil {
		return nil, err
	}
	if err := r.checkClientTs("session_token", clientTs); err != nil {
		return nil, err
	}
	_, ts := r.group.Applied()
	ints, strs, err := r.fsm.MatchingKeys(ctx, f, ts)
	if err != nil {
		return nil, err
	}
	total := &fsmpb.Result{Ts: ts}
	step := r.cfg.Limits.MaxBatchRows
	for i := 0; i < len(ints)+len(strs); i += step {
		var ci []int64
		var cs []string
		if len(ints) > 0 {
			ci = ints[i:min(i+step, len(ints))]
		} else {
			cs = strs[i:min(i+step, len(strs))]
		}
		op := &fsmpb.Op{Kind: &fsmpb.Op_Delete{Delete: &fsmpb.Delete{IntPks: ci, StrPks: cs}}}
		if requestID != "" {
			op.Fingerprint = fsm.Fingerprint(op)
			op.RequestId = chunkID(requestID, op.Fingerprint)
		}
		res, err := r.propose(ctx, op, clientTs)
		if err != nil {
			return nil, err
		}
		total.Deleted += res.Deleted
		total.Ts = res.Ts
	}
	return total, nil
}

// DeleteChunkID is the request id of the chunk of a delete by filter that
// deletes the given keys: the request's id and a hash of the keys.
func DeleteChunkID(requestID string, ints []int64, strs []string) string {
	if requestID == "" {
		return ""
	}
	return chunkID(requestID, fsm.Fingerprint(&fsmpb.Op{Kind: &fsmpb.Op_Delete{Delete: &fsmpb.Delete{IntPks: ints, StrPks: strs}}}))
}

// chunkID names a chunk by its op's fingerprint (which the chunk keeps, so
// the keys are hashed once).
func chunkID(requestID string, fingerprint []byte) string {
	return fmt.Sprintf("%s/%x", requestID, fingerprint[:min(8, len(fingerprint))])
}

// Compact plans a compaction of the shard's sealed segments and proposes
// it; manual also merges segments the automatic policy would leave. It
// returns how many segments were merged (0: nothing to do).
func (r *Replica) Compact(ctx context.Context, manual bool) (int, error) {
	if err := r.leading(ctx); err != nil {
		return 0, err
	}
	segs, sealRows := r.fsm.SegmentUsage()
	plan := fsm.PlanCompaction(segs, sealRows, r.cfg.Compaction, manual)
	if len(plan) == 0 {
		return 0, nil
	}
	res, err := r.propose(ctx, &fsmpb.Op{Kind: &fsmpb.Op_Compact{Compact: &fsmpb.Compact{Segments: plan}}}, 0)
	if err != nil {
		return 0, err
	}
	return int(res.Deleted), nil
}

// Get serves a get by primary keys at the level's ts.
func (r *Replica) Get(ctx context.Context, o ReadOptions, ints []int64, strs []string, fields []string) ([]fsm.Row, uint64, error) {
	return readAt(ctx, r, o, func(ts uint64) ([]fsm.Row, error) {
		return r.fsm.Get(ctx, ints, strs, ts, fields)
	})
}

// Status describes the replica.
type Status struct {
	Group    string
	Role     string
	Suffrage string
	LeaderID string
	Term     uint64
	Applied  uint64
	Commit   uint64
	SafeTs   uint64
	Segments int
	Rows     int
	Digest   string
	Sealed   int
	Indexed  int
}

// Status returns the replica's role, progress and contents.
func (r *Replica) Status() Status {
	ra := r.group.Raft()
	id, _ := r.group.LeaderHint()
	idx, ts := r.group.Applied()
	st := r.fsm.Stats()
	sealed, indexed := r.fsm.IndexProgress()
	suffrage := "nonvoter"
	if cf := ra.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == r.cfg.Raft.NodeID && s.Suffrage == raft.Voter {
				suffrage = "voter"
			}
		}
	}
	return Status{
		Group: r.name, Role: ra.State().String(), Suffrage: suffrage, LeaderID: id, Term: ra.CurrentTerm(),
		Applied: idx, Commit: ra.CommitIndex(), SafeTs: ts,
		Segments: len(st.Segments), Rows: st.LiveRows, Digest: r.fsm.Digest(),
		Sealed: sealed, Indexed: indexed,
	}
}
