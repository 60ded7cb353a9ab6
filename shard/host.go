package shard

import (
	"context"
	"errors"
	"fmt"
	"github.com/raftvec/raftvec/certs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/index"
	"github.com/raftvec/raftvec/raftnode"
)

// MetaGroup is the Raft group name of the cluster metadata.
const MetaGroup = "meta"

// MetaVoters is how many nodes vote in the metadata group.
const MetaVoters = 3

// HostConfig configures a node's host.
type HostConfig struct {
	NodeID  string
	DataDir string
	// RaftAddr and APIAddr are the addresses other nodes use to reach this
	// node's Raft listener and gRPC API.
	RaftAddr string
	APIAddr  string
	// Peers, when set, is the static initial membership of the metadata
	// group (every node given the same list bootstraps it). A node started
	// without peers and without Bootstrap must be added through Join.
	Peers []fsm.NodeInfo
	// Bootstrap starts a one-node metadata group when the node has no state.
	Bootstrap bool

	Raft         raftnode.Config // timings; ids and dirs are filled in
	TickInterval time.Duration
	SealRows     uint32
	Limits       fsm.Limits
	Logger       *slog.Logger
	Clock        *Clock

	// Unsafe, for the consistency suite's negative controls only.
	Unsafe Unsafe

	// IndexBuilds bounds how many index builds run at once on the node;
	// each build uses every core.
	IndexBuilds int
	// Compaction is the automatic compaction policy, checked by shard
	// leaders every CompactInterval (0 turns it off).
	Compaction      fsm.CompactionPolicy
	CompactInterval time.Duration

	// SerfAddr is the membership (gossip, TCP and UDP) address, listened on
	// and advertised; empty runs without membership, so failed nodes are
	// never replaced (single-process tests).
	SerfAddr string
	// GossipKey, when set, encrypts and authenticates Serf's gossip (an
	// AES key of 16, 24 or 32 bytes): a node without it cannot join.
	GossipKey []byte
	// TLS, when set, makes the Raft transport mutual TLS: a node accepts
	// Raft connections only from node certificates of the cluster CA.
	TLS *certs.Store
	// Placement is the scheduler's policy: how long a failed node is
	// waited for, and how many replica moves run at once.
	Placement fsm.MovePolicy
	// ScheduleInterval is how often the metadata leader's scheduler looks
	// for work, and nodes for placement steps to take.
	ScheduleInterval time.Duration
	// LeaderSpreadInterval bounds how often one node hands a shard
	// leadership to a less busy node (0 turns leader spreading off).
	LeaderSpreadInterval time.Duration
}

// Unsafe switches off guarantees so that the consistency suite can show
// that its checkers notice. Never set in production.
type Unsafe struct {
	// LocalReads answers STRONG reads from local state, with no read index.
	LocalReads bool
	// SkipDedup applies a retried request again instead of answering it
	// from the dedup table.
	SkipDedup bool
	// LowestTsCut reads every shard of a BOUNDED, SESSION or EVENTUAL read
	// across shards as of the lowest shard's ts, as raftvec once did.
	LowestTsCut bool
	// LocalTs stamps ops from the shard leader's own clock instead of the
	// timestamp oracle, as raftvec once did: a read across shards is then
	// not linearizable when leaders' clocks differ.
	LocalTs bool
	// FollowerNoWait serves a follower's STRONG read as soon as the leader
	// answered its read index, without waiting to apply up to it.
	FollowerNoWait bool
}

// DefaultHostConfig returns defaults for everything but ids and addresses.
func DefaultHostConfig() HostConfig {
	return HostConfig{
		Raft:            raftnode.DefaultConfig(),
		TickInterval:    100 * time.Millisecond,
		SealRows:        100_000,
		Limits:          fsm.DefaultLimits(),
		IndexBuilds:     1,
		Compaction:      fsm.DefaultCompactionPolicy(),
		CompactInterval: time.Minute,

		Placement:            fsm.MovePolicy{DownAfter: 30 * time.Second, MaxMoves: 2},
		ScheduleInterval:     time.Second,
		LeaderSpreadInterval: 10 * time.Second,
	}
}

// Validate checks the config.
func (c HostConfig) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("node_id must be set")
	case c.DataDir == "":
		return errors.New("data_dir must be set")
	case c.RaftAddr == "" || c.APIAddr == "":
		return errors.New("raft_addr and api_addr must be set")
	case c.TickInterval < time.Millisecond || c.TickInterval > time.Minute:
		return fmt.Errorf("tick_interval (%v) must be between 1ms and 1m", c.TickInterval)
	case c.SealRows < 1 || c.SealRows > 10_000_000:
		return fmt.Errorf("seal_rows (%d) must be between 1 and 10000000", c.SealRows)
	case c.Limits.MaxBatchRows < 1:
		return fmt.Errorf("max_batch_rows (%d) must be at least 1", c.Limits.MaxBatchRows)
	case c.IndexBuilds < 1 || c.IndexBuilds > 64:
		return fmt.Errorf("index_builds (%d) must be between 1 and 64", c.IndexBuilds)
	case c.Placement.DownAfter < time.Second || c.Placement.DownAfter > 24*time.Hour:
		return fmt.Errorf("down_after (%v) must be between 1s and 24h", c.Placement.DownAfter)
	case c.Placement.MaxMoves < 1 || c.Placement.MaxMoves > 64:
		return fmt.Errorf("max_moves (%d) must be between 1 and 64", c.Placement.MaxMoves)
	case c.ScheduleInterval < 10*time.Millisecond || c.ScheduleInterval > time.Minute:
		return fmt.Errorf("schedule_interval (%v) must be between 10ms and 1m", c.ScheduleInterval)
	case c.LeaderSpreadInterval < 0:
		return fmt.Errorf("leader_spread_interval (%v) must not be negative", c.LeaderSpreadInterval)
	}
	return nil
}

// Host owns a node's Raft listener, the metadata group and every local
// shard replica. It starts and stops replicas as the metadata says.
type Host struct {
	cfg  HostConfig
	log  *slog.Logger
	mux  *raftnode.Mux
	meta *fsm.Meta
	mg   *raftnode.Group

	mu       sync.Mutex
	replicas map[uint64]*Replica
	closed   bool

	applyDelay time.Duration // guarded by mu

	builder index.Builder
	builds  chan struct{}

	metaCaughtUp atomic.Bool
	// orphansSwept is set once the data directories left from before this
	// process started have been checked (reconcile loop only): later, a
	// replica this node stops has its directory deleted then and there.
	orphansSwept bool

	members *membership // nil without SerfAddr
	// forward sends a metadata op to the metadata leader from a node that
	// is not it (set by the API server, which knows how to reach it).
	forward    func(context.Context, *fsm.MetaOp) error // guarded by mu
	lastSpread time.Time                                // placement loop only

	// The timestamp oracle: served here while this node leads the
	// metadata group; ts batches this node's requests to it.
	oracle    oracle
	tsForward func(ctx context.Context, physical uint64, count int) (TsRange, error)     // guarded by mu
	readIndex func(ctx context.Context, leaderID string, shardID uint64) (uint64, error) // guarded by mu
	ts        *tsSource

	changed chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

// NewHost starts a host serving Raft traffic on ln.
func NewHost(cfg HostConfig, ln net.Listener) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = NewClock(nil)
	}
	b, err := index.NewBuilder(index.DefaultBuildOptions())
	if err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), replicas: map[uint64]*Replica{},
		builder: b, builds: make(chan struct{}, cfg.IndexBuilds),
		changed: make(chan struct{}, 1), done: make(chan struct{})}
	h.ts = &tsSource{alloc: h.allocate}
	// Accept Raft connections at once (they wait in the mux for their
	// group), so that peers dialling now do not time out and back off.
	var mt *raftnode.MuxTLS
	if cfg.TLS != nil {
		mt = &raftnode.MuxTLS{Server: cfg.TLS.ServerConfig(true), Client: cfg.TLS.ClientConfig}
	}
	h.mux = raftnode.NewMux(ln, cfg.RaftAddr, mt)
	if cfg.SerfAddr != "" {
		if h.members, err = startMembership(cfg, h.log); err != nil {
			h.mux.Close()
			return nil, err
		}
	}
	// A follower that acknowledged a leader just before this node stopped
	// promised not to vote for anyone else for a heartbeat timeout; that
	// promise is what the leader's read lease rests on, and hashicorp/raft
	// keeps it only in memory. Waiting out one heartbeat timeout before
	// taking part in any group keeps it across a fast restart.
	time.Sleep(cfg.Raft.HeartbeatTimeout)
	h.meta = fsm.NewMeta(h.poke)
	mc := cfg.Raft
	mc.NodeID, mc.Group, mc.Dir, mc.RestoreOnStart = cfg.NodeID, MetaGroup, filepath.Join(cfg.DataDir, "meta"), true
	switch {
	case len(cfg.Peers) > 0:
		// The first MetaVoters peers by id vote in the metadata group and
		// the others learn it, so that its quorum does not grow with the
		// cluster. Sorted, so every node bootstraps the same configuration
		// whatever order its peer list is in.
		peers := slices.Clone(cfg.Peers)
		slices.SortFunc(peers, func(a, b fsm.NodeInfo) int { return strings.Compare(a.ID, b.ID) })
		for i, p := range peers {
			suffrage := raft.Voter
			if i >= MetaVoters {
				suffrage = raft.Nonvoter
			}
			mc.Bootstrap = append(mc.Bootstrap, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr), Suffrage: suffrage})
		}
		// Only voters bootstrap; a non-voter learns the configuration from
		// the leader, which replicates to it from the start.
		if i := slices.IndexFunc(peers, func(p fsm.NodeInfo) bool { return p.ID == cfg.NodeID }); i >= MetaVoters {
			mc.Bootstrap = nil
		}
	case cfg.Bootstrap:
		mc.Bootstrap = []raft.Server{{ID: raft.ServerID(cfg.NodeID), Address: raft.ServerAddress(cfg.RaftAddr), Suffrage: raft.Voter}}
	}
	mg, err := raftnode.New(mc, h.meta, h.mux)
	if err != nil {
		if h.members != nil {
			h.members.close()
		}
		h.mux.Close()
		return nil, err
	}
	h.mg = mg
	h.wg.Add(3)
	go h.reconcileLoop()
	go h.registerLoop()
	go h.placementLoop()
	return h, nil
}

func (h *Host) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// Close stops every replica and the metadata group.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	close(h.done)
	h.wg.Wait()
	h.mu.Lock()
	var wg sync.WaitGroup
	for _, r := range h.replicas {
		wg.Add(1)
		go func(r *Replica) { defer wg.Done(); r.Close() }(r)
	}
	h.mu.Unlock()
	wg.Wait()
	err := h.mg.Shutdown()
	if h.members != nil {
		h.members.close()
	}
	h.mux.Close()
	return err
}

// IndexBuilder names the backend that builds indexes, e.g. "cpu (avx2)".
func (h *Host) IndexBuilder() string { return h.builder.Name() }

// NodeID is this node's id.
// Limits are the request limits this node's replicas validate writes with.
func (h *Host) Limits() fsm.Limits { return h.cfg.Limits }

func (h *Host) NodeID() string { return h.cfg.NodeID }

// Config returns the host's config.
func (h *Host) Config() HostConfig { return h.cfg }

// Mux is the node's Raft listener (for fault injection).
func (h *Host) Mux() *raftnode.Mux { return h.mux }

// Clock is the node's clock.
func (h *Host) Clock() *Clock { return h.cfg.Clock }

// MetaGroup is the metadata Raft group.
func (h *Host) MetaGroup() *raftnode.Group { return h.mg }

// MetaCaughtUp reports whether this node's metadata has caught up with the
// cluster since it started: it has heard from a metadata leader and applied
// everything that leader said was committed. Before that (right after a
// restart the metadata state machine is empty until the log is replayed)
// an unknown collection may simply not be loaded yet.
func (h *Host) MetaCaughtUp() bool {
	if h.metaCaughtUp.Load() {
		return true
	}
	ra := h.mg.Raft()
	leader, _ := ra.LeaderWithID()
	applied, _ := h.mg.Applied()
	if leader != "" && ra.CommitIndex() > 0 && applied >= ra.CommitIndex() {
		h.metaCaughtUp.Store(true)
		return true
	}
	return false
}

// Meta returns a copy of the cluster metadata as this node has applied it.
func (h *Host) Meta() fsm.MetaState { return h.meta.State() }

// Accounts is the metadata state machine, for looking users and tokens up
// without copying the whole metadata.
func (h *Host) Accounts() *fsm.Meta { return h.meta }

// MetaLeader returns the metadata leader's node info, if known.
func (h *Host) MetaLeader() (fsm.NodeInfo, bool) {
	id, addr := h.mg.LeaderHint()
	if id == "" {
		return fsm.NodeInfo{}, false
	}
	if n, ok := h.meta.Node(id); ok {
		return n, true
	}
	return fsm.NodeInfo{ID: id, RaftAddr: addr}, false
}

// ProposeMeta proposes a metadata op on this node, which must be the
// metadata leader, and returns the op's result.
func (h *Host) ProposeMeta(ctx context.Context, op *fsm.MetaOp) error {
	if _, err := h.mg.WaitLeader(ctx); err != nil {
		if errors.Is(err, raftnode.ErrNotLeader) {
			id, _ := h.mg.LeaderHint()
			return &NotLeaderError{Group: MetaGroup, LeaderID: id}
		}
		return err
	}
	b, err := fsm.EncodeMetaOp(op)
	if err != nil {
		return err
	}
	res, err := h.mg.Apply(ctx, b)
	if err != nil {
		if errors.Is(err, raftnode.ErrNotLeader) {
			return &NotLeaderError{Group: MetaGroup}
		}
		return err
	}
	if e, ok := res.(error); ok && e != nil {
		return e
	}
	return nil
}

// Join adds a node to the metadata group as a voter and records it. Called
// on the metadata leader.
func (h *Host) Join(ctx context.Context, n fsm.NodeInfo) error {
	if !h.mg.IsLeader() {
		id, _ := h.mg.LeaderHint()
		return &NotLeaderError{Group: MetaGroup, LeaderID: id}
	}
	cf := h.mg.Raft().GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	member, voters := false, 0
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == n.ID {
			member = string(s.Address) == n.RaftAddr
		}
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if !member {
		// The metadata group has three voters; later nodes learn it as
		// non-voters, so that its quorum does not grow with the cluster.
		var f raft.IndexFuture
		if voters < MetaVoters {
			f = h.mg.Raft().AddVoter(raft.ServerID(n.ID), raft.ServerAddress(n.RaftAddr), 0, 10*time.Second)
		} else {
			f = h.mg.Raft().AddNonvoter(raft.ServerID(n.ID), raft.ServerAddress(n.RaftAddr), 0, 10*time.Second)
		}
		if err := f.Error(); err != nil {
			return fmt.Errorf("add %s to the metadata group: %w", n.ID, err)
		}
	}
	return h.ProposeMeta(ctx, &fsm.MetaOp{AddNode: &n})
}

// registerLoop makes sure the metadata records this node as it is now
// (addresses may change across restarts) and, on the leader, every static
// peer, retrying until it does.
func (h *Host) registerLoop() {
	defer h.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		}
		st := h.meta.State()
		self := h.self()
		leader := h.mg.IsLeader()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// A node that is not recorded yet is added by the leader (a static
		// peer) or by Join; once recorded, it keeps its own record current.
		if cur, ok := st.Nodes[self.ID]; (ok && *cur != self && h.MetaCaughtUp()) || (!ok && leader) {
			if err := h.proposeMeta(ctx, &fsm.MetaOp{AddNode: &self}); err != nil {
				h.log.Debug("register node", "err", err)
			}
		}
		if leader {
			for _, n := range h.cfg.Peers {
				if _, ok := st.Nodes[n.ID]; ok {
					continue
				}
				if err := h.ProposeMeta(ctx, &fsm.MetaOp{AddNode: &n}); err != nil {
					h.log.Debug("register peer", "node", n.ID, "err", err)
				}
			}
		}
		cancel()
	}
}

// self is this node's metadata record.
func (h *Host) self() fsm.NodeInfo {
	n := fsm.NodeInfo{ID: h.cfg.NodeID, RaftAddr: h.cfg.RaftAddr, APIAddr: h.cfg.APIAddr}
	if h.members != nil {
		n.SerfAddr = h.members.addr
	}
	return n
}

// SetReadIndexForwarder gives the host a way to ask a shard's leader on
// another node for a read index, so that followers serve STRONG reads.
func (h *Host) SetReadIndexForwarder(f func(ctx context.Context, leaderID string, shardID uint64) (uint64, error)) {
	h.mu.Lock()
	h.readIndex = f
	h.mu.Unlock()
}

// leaderReadIndex asks the leader leaderID of shard shardID for a read
// index through the forwarder (ErrNoReplica without one).
func (h *Host) leaderReadIndex(ctx context.Context, leaderID string, shardID uint64) (uint64, error) {
	h.mu.Lock()
	f := h.readIndex
	h.mu.Unlock()
	if f == nil {
		return 0, ErrNoReplica
	}
	return f(ctx, leaderID, shardID)
}

// SetMetaForwarder gives the host a way to reach the metadata leader from
// any node, for the placement steps a node observes on its own.
func (h *Host) SetMetaForwarder(f func(context.Context, *fsm.MetaOp) error) {
	h.mu.Lock()
	h.forward = f
	h.mu.Unlock()
}

// proposeMeta proposes a metadata op here if this node leads the metadata
// group, else through the forwarder.
func (h *Host) proposeMeta(ctx context.Context, op *fsm.MetaOp) error {
	err := h.ProposeMeta(ctx, op)
	var nl *NotLeaderError
	if !errors.As(err, &nl) {
		return err
	}
	h.mu.Lock()
	f := h.forward
	h.mu.Unlock()
	if f == nil {
		return err
	}
	return f(ctx, op)
}

// reconcileLoop starts the replicas the metadata assigns to this node and
// stops those it no longer does.
func (h *Host) reconcileLoop() {
	defer h.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		h.reconcile()
		select {
		case <-h.done:
			return
		case <-h.changed:
		case <-t.C:
		}
	}
}

func (h *Host) reconcile() {
	st := h.meta.State()
	want := map[uint64]bool{}
	names := make([]string, 0, len(st.Collections))
	for name := range st.Collections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := st.Collections[name]
		for _, sh := range c.Shards {
			if !sh.Holds(h.cfg.NodeID) {
				continue
			}
			want[sh.ID] = true
			h.mu.Lock()
			_, have := h.replicas[sh.ID]
			h.mu.Unlock()
			if have {
				h.reconcileMembership(st, sh)
				continue
			}
			if err := h.startReplica(st, c, sh); err != nil {
				h.log.Error("start replica", "shard", sh.ID, "err", err)
			}
		}
	}
	h.mu.Lock()
	var stop []*Replica
	for id, r := range h.replicas {
		if !want[id] {
			stop = append(stop, r)
			delete(h.replicas, id)
		}
	}
	h.mu.Unlock()
	for _, r := range stop {
		r.Close()
		dir := h.replicaDir(r.ShardID())
		if err := os.RemoveAll(dir); err != nil {
			h.log.Error("remove dropped replica", "dir", dir, "err", err)
		}
		h.log.Info("removed a replica no longer placed here", "shard", r.ShardID())
	}
	h.removeOrphans(st, want)
}

// removeOrphans deletes the data of replicas this node holds on disk but no
// longer runs or is placed on: a node that was down while its replicas
// were rebuilt elsewhere, or while a collection was dropped, comes back to
// such directories. It runs once, when the metadata has first caught up
// since the start, so that an old view never looks like a removal.
func (h *Host) removeOrphans(st fsm.MetaState, want map[uint64]bool) {
	if h.orphansSwept || !h.MetaCaughtUp() {
		return
	}
	h.orphansSwept = true
	entries, err := os.ReadDir(filepath.Join(h.cfg.DataDir, "shards"))
	if err != nil {
		return // none yet
	}
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || !e.IsDir() || want[id] || h.Replica(id) != nil {
			continue
		}
		if _, sh := st.Shard(id); sh != nil && sh.Holds(h.cfg.NodeID) {
			continue
		}
		dir := h.replicaDir(id)
		if err := os.RemoveAll(dir); err != nil {
			h.log.Error("remove replica no longer placed here", "dir", dir, "err", err)
			continue
		}
		h.log.Info("removed the data of a replica no longer placed here", "shard", id)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Host) replicaDir(shardID uint64) string {
	return filepath.Join(h.cfg.DataDir, "shards", fmt.Sprint(shardID))
}

func (h *Host) startReplica(st fsm.MetaState, c *fsm.CollectionInfo, sh fsm.ShardPlacement) error {
	schema, err := c.SchemaProto()
	if err != nil {
		return err
	}
	rc := h.cfg.Raft
	rc.NodeID = h.cfg.NodeID
	rc.RestoreOnStart = false
	for _, id := range sh.Voters {
		n, ok := st.Nodes[id]
		if !ok {
			return fmt.Errorf("voter %s of shard %d is not a known node", id, sh.ID)
		}
		rc.Bootstrap = append(rc.Bootstrap, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(n.RaftAddr), Suffrage: raft.Voter})
	}
	if !contains(sh.Voters, h.cfg.NodeID) {
		rc.Bootstrap = nil // a non-voter is added by the shard leader
	}
	r, err := OpenReplica(ReplicaConfig{
		ShardID: sh.ID, ShardIndex: c.ShardIndex(sh.ID), ShardCount: len(c.Shards),
		Collection: schema, SealRows: h.cfg.SealRows, TickInterval: h.cfg.TickInterval,
		Limits: h.cfg.Limits, Raft: rc, Logger: h.log, Clock: h.cfg.Clock, Unsafe: h.cfg.Unsafe,
		Builder: h.builder, Builds: h.builds,
		Compaction: h.cfg.Compaction, CompactInterval: h.cfg.CompactInterval,
		Oracle: h.oracleFor(), LeaderReadIndex: h.leaderReadIndex,
	}, h.replicaDir(sh.ID), h.mux)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		r.Close()
		return ErrClosed
	}
	r.group.SetApplyDelay(h.applyDelay)
	h.replicas[sh.ID] = r
	return nil
}

// oracleFor is the ts source of this node's replicas: the oracle, unless
// a negative control stamps from local clocks.
func (h *Host) oracleFor() *tsSource {
	if h.cfg.Unsafe.LocalTs {
		return nil
	}
	return h.ts
}

// SetApplyDelay delays every apply on this node's shard replicas (fault
// injection: it holds this node's replicas behind).
func (h *Host) SetApplyDelay(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applyDelay = d
	for _, r := range h.replicas {
		r.group.SetApplyDelay(d)
	}
}

// reconcileMembership runs on a shard leader: it adds to the Raft
// configuration the non-voters the metadata places on other nodes, and
// removes non-voters it no longer places (the new replica of a cancelled
// move). Voters are changed only by the steps of a move.
func (h *Host) reconcileMembership(st fsm.MetaState, sh fsm.ShardPlacement) {
	r := h.Replica(sh.ID)
	if r == nil || !r.group.IsLeader() {
		return
	}
	cf := r.group.Raft().GetConfiguration()
	if cf.Error() != nil {
		return
	}
	have := map[string]bool{}
	for _, s := range cf.Configuration().Servers {
		have[string(s.ID)] = true
		if s.Suffrage == raft.Nonvoter && !sh.Holds(string(s.ID)) && h.MetaCaughtUp() {
			if err := r.group.Raft().RemoveServer(s.ID, 0, 10*time.Second).Error(); err != nil {
				h.log.Warn("remove non-voter no longer placed", "shard", sh.ID, "node", s.ID, "err", err)
				continue
			}
			h.log.Info("removed a non-voter no longer placed", "shard", sh.ID, "node", s.ID)
		}
	}
	for _, id := range sh.NonVoters {
		n, ok := st.Nodes[id]
		if have[id] || !ok {
			continue
		}
		if err := r.group.Raft().AddNonvoter(raft.ServerID(id), raft.ServerAddress(n.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			h.log.Warn("add non-voter", "shard", sh.ID, "node", id, "err", err)
			continue
		}
		h.log.Info("added non-voter", "shard", sh.ID, "node", id)
	}
}

// Replica returns the local replica of a shard, or nil.
func (h *Host) Replica(shardID uint64) *Replica {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.replicas[shardID]
}

// Replicas returns every local replica, by shard id.
func (h *Host) Replicas() []*Replica {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Replica, 0, len(h.replicas))
	for _, r := range h.replicas {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ShardID() < out[j].ShardID() })
	return out
}
