package raftnode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// FSM is the state machine a group drives. Commands are opaque bytes.
//
// ApplyBatch, Snapshot and Restore are called by the group's FSM goroutine,
// one at a time. ApplyBatch gets the commands of one log entry (group commit
// puts several proposals into one entry; an entry with no command marks the
// start of a leader's term) and must be deterministic. It returns one result
// per command and the entry's timestamp (0 if the FSM keeps none). It must
// skip entries at or below the index Applied reports, so that replaying the
// log after a restart is harmless.
type FSM interface {
	ApplyBatch(index uint64, cmds [][]byte) (results []any, ts uint64)
	Snapshot() (raft.FSMSnapshot, error)
	Restore(io.ReadCloser) error
	// Applied returns the index and timestamp of the last applied entry.
	Applied() (index, ts uint64)
}

// Group is one Raft group on this node.
type Group struct {
	cfg   Config
	fsm   FSM
	raft  *raft.Raft
	trans *raft.NetworkTransport
	logs  *raftboltdb.BoltStore
	snaps *raft.FileSnapshotStore

	wm          applied
	appliedTerm atomic.Uint64 // term of the last entry applied

	applyDelay atomic.Int64 // nanoseconds; fault injection only

	propMu  sync.Mutex
	queue   []*Future
	queueCh chan struct{}

	leadMu    sync.Mutex
	lead      *leadership // nil when not leader
	leaderGen uint64

	reads Rounds

	notifyCh chan bool
	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// leadership is one term of this node's leadership.
type leadership struct {
	term       uint64
	startIndex uint64 // index of the entry this leader proposed first
	ready      chan struct{}
	err        error // set before ready is closed when the start entry failed
	lost       chan struct{}
	leaseUntil time.Time // guarded by Group.leadMu
	// noLease is set once this leader tried to hand over leadership: the
	// target may be elected without the voting rule the lease rests on,
	// so the leadership never holds a lease again. Guarded by leadMu.
	noLease bool
}

// New starts a group. mux carries its traffic.
func New(cfg Config, fsm FSM, mux *Mux) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open raft log: %w", err)
	}
	out := cfg.LogOutput
	if out == nil {
		out = os.Stderr
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hclog.New(&hclog.LoggerOptions{Name: "snapshot", Output: out, Level: hclog.LevelFromString(cfg.LogLevel)}))
	if err != nil {
		logs.Close()
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	if !cfg.RestoreOnStart {
		if err := catchUpFromSnapshot(fsm, snaps); err != nil {
			logs.Close()
			return nil, err
		}
	}
	layer, err := mux.Layer(cfg.Group)
	if err != nil {
		logs.Close()
		return nil, err
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 5 * time.Second,
		Logger:  hclog.New(&hclog.LoggerOptions{Name: "transport", Output: out, Level: hclog.LevelFromString(cfg.LogLevel)}),
	})
	g := &Group{cfg: cfg, fsm: fsm, trans: trans, logs: logs, snaps: snaps,
		queueCh: make(chan struct{}, 1), notifyCh: make(chan bool, 16), done: make(chan struct{})}
	g.wm.init(fsm.Applied())
	g.reads.Call = g.verifyRound

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.NoSnapshotRestoreOnStart = !cfg.RestoreOnStart
	rc.NotifyCh = g.notifyCh
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft." + cfg.Group, Output: out, Level: hclog.LevelFromString(cfg.LogLevel)})
	r, err := raft.NewRaft(rc, &adapter{g: g}, logs, logs, snaps, trans)
	if err != nil {
		trans.Close()
		logs.Close()
		return nil, fmt.Errorf("start raft group %s: %w", cfg.Group, err)
	}
	g.raft = r
	if len(cfg.Bootstrap) > 0 {
		has, err := raft.HasExistingState(logs, logs, snaps)
		if err == nil && !has {
			if err := r.BootstrapCluster(raft.Configuration{Servers: cfg.Bootstrap}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
				g.Shutdown()
				return nil, fmt.Errorf("bootstrap group %s: %w", cfg.Group, err)
			}
		}
	}
	g.wg.Add(2)
	go g.proposeLoop()
	go g.leadershipLoop()
	return g, nil
}

// catchUpFromSnapshot restores the newest snapshot into an FSM whose durable
// state is behind it (its directory was lost, or it never got that far), so
// that Raft, which resumes after the snapshot's index, leaves no gap.
func catchUpFromSnapshot(fsm FSM, snaps *raft.FileSnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	applied, _ := fsm.Applied()
	if applied >= list[0].Index {
		return nil
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", list[0].ID, err)
	}
	if err := fsm.Restore(rc); err != nil {
		return fmt.Errorf("restore snapshot %s into a state machine at index %d: %w", list[0].ID, applied, err)
	}
	return nil
}

// SetApplyDelay delays every command entry applied from now on by d, which
// holds this replica behind the others (fault injection for tests and the
// consistency suite). Zero removes the delay.
func (g *Group) SetApplyDelay(d time.Duration) { g.applyDelay.Store(int64(d)) }

// Raft returns the underlying raft.Raft, for membership and status.
func (g *Group) Raft() *raft.Raft { return g.raft }

// Config returns the group's config.
func (g *Group) Config() Config { return g.cfg }

// Shutdown stops the group. It does not wait for pending proposals, which
// fail with ErrShutdown.
func (g *Group) Shutdown() error {
	var err error
	g.stopOnce.Do(func() {
		close(g.done)
		if g.raft != nil {
			err = g.raft.Shutdown().Error()
		}
		g.wg.Wait()
		g.trans.Close()
		g.logs.Close()
		g.wm.shutdown()
		g.propMu.Lock()
		for _, f := range g.queue {
			f.finish(nil, 0, ErrShutdown)
		}
		g.queue = nil
		g.propMu.Unlock()
	})
	return err
}

// LeaderHint returns the id and address of the leader this node knows of.
func (g *Group) LeaderHint() (id, addr string) {
	a, i := g.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node is the leader.
func (g *Group) IsLeader() bool { return g.raft.State() == raft.Leader }

// --- applied watermark ---

// applied is the FSM's applied index and ts, with a way to wait for them.
type applied struct {
	mu    sync.Mutex
	index uint64
	ts    uint64
	ch    chan struct{} // closed and replaced on every advance
	dead  bool
}

func (w *applied) init(index, ts uint64) {
	w.index, w.ts, w.ch = index, ts, make(chan struct{})
}

func (w *applied) set(index, ts uint64) {
	w.mu.Lock()
	if index > w.index {
		w.index = index
	}
	if ts > w.ts {
		w.ts = ts
	}
	close(w.ch)
	w.ch = make(chan struct{})
	w.mu.Unlock()
}

func (w *applied) reset(index, ts uint64) {
	w.mu.Lock()
	w.index, w.ts = index, ts
	close(w.ch)
	w.ch = make(chan struct{})
	w.mu.Unlock()
}

func (w *applied) shutdown() {
	w.mu.Lock()
	w.dead = true
	close(w.ch)
	w.ch = make(chan struct{})
	w.mu.Unlock()
}

func (w *applied) get() (uint64, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index, w.ts
}

// wait blocks until reached(index, ts) or ctx ends.
func (w *applied) wait(ctx context.Context, reached func(index, ts uint64) bool) error {
	for {
		w.mu.Lock()
		if reached(w.index, w.ts) {
			w.mu.Unlock()
			return nil
		}
		if w.dead {
			w.mu.Unlock()
			return ErrShutdown
		}
		ch := w.ch
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Applied returns the index and ts of the last entry the FSM applied.
func (g *Group) Applied() (index, ts uint64) { return g.wm.get() }

// WaitApplied waits until the FSM has applied index.
func (g *Group) WaitApplied(ctx context.Context, index uint64) error {
	return g.wm.wait(ctx, func(i, _ uint64) bool { return i >= index })
}

// WaitTs waits until the FSM has applied every entry with a ts at or below
// ts (its applied ts has reached ts).
func (g *Group) WaitTs(ctx context.Context, ts uint64) error {
	return g.wm.wait(ctx, func(_, t uint64) bool { return t >= ts })
}

// CaughtUp says whether this replica has applied everything it knows to be
// committed, and whether that includes an entry of the current term. The
// second part matters after a leader change: a new leader's commit index
// can lag what its predecessor acknowledged until it commits an entry of its
// own term, so only from then on does "applied my commit index" mean
// "applied every acknowledged write that the leader had when it last sent".
func (g *Group) CaughtUp() bool {
	applied, _ := g.wm.get()
	return applied >= g.raft.CommitIndex() && g.appliedTerm.Load() == g.raft.CurrentTerm()
}

// --- FSM adapter ---

// adapter is the raft.BatchingFSM that unframes group-commit entries.
type adapter struct{ g *Group }

func (a *adapter) Apply(l *raft.Log) any { return a.ApplyBatch([]*raft.Log{l})[0] }

func (a *adapter) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	for i, l := range logs {
		a.g.appliedTerm.Store(l.Term)
		if l.Type != raft.LogCommand {
			// Configuration entries carry no command but count as applied,
			// so that a read index that lands on one is reached.
			a.g.wm.set(l.Index, 0)
			continue
		}
		if d := a.g.applyDelay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		cmds, err := decodeFrame(l.Data)
		if err != nil {
			// The log is corrupt; going on would diverge from the other
			// replicas.
			panic(fmt.Sprintf("raft group %s: entry %d: %v", a.g.cfg.Group, l.Index, err))
		}
		res, ts := a.g.fsm.ApplyBatch(l.Index, cmds)
		out[i] = res
		a.g.wm.set(l.Index, ts)
	}
	return out
}

func (a *adapter) Snapshot() (raft.FSMSnapshot, error) { return a.g.fsm.Snapshot() }

func (a *adapter) Restore(rc io.ReadCloser) error {
	if err := a.g.fsm.Restore(rc); err != nil {
		return err
	}
	a.g.wm.reset(a.g.fsm.Applied())
	return nil
}

// Group-commit framing of a log entry: version byte, uvarint count, then
// each command as uvarint length and bytes.
const frameVersion = 1

func encodeFrame(cmds [][]byte) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, c := range cmds {
		n += binary.MaxVarintLen64 + len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, frameVersion)
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	for _, c := range cmds {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

func decodeFrame(b []byte) ([][]byte, error) {
	if len(b) == 0 || b[0] != frameVersion {
		return nil, fmt.Errorf("unknown entry framing")
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("bad command count")
	}
	b = b[k:]
	cmds := make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, fmt.Errorf("command %d truncated", i)
		}
		cmds = append(cmds, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return cmds, nil
}

// Member says whether this node is in the group's latest configuration, as
// a voter or a non-voter.
func (g *Group) Member() bool {
	cf := g.raft.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == g.cfg.NodeID {
			return true
		}
	}
	return false
}
