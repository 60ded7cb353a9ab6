package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

// NodeInfo is a node of the cluster as the metadata group records it.
type NodeInfo struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// SerfAddr is the node's membership (gossip) address.
	SerfAddr string `json:"serf_addr,omitempty"`
}

// Node health as the membership layer reports it.
const (
	NodeAlive  = "alive"
	NodeFailed = "failed"
	NodeLeft   = "left"
)

// NodeHealth is a node's membership state and since when (Unix ms on the
// metadata leader's clock) it has been in it.
type NodeHealth struct {
	State string `json:"state"`
	Since int64  `json:"since"`
}

// ShardPlacement is one shard of a collection and the nodes that hold it.
type ShardPlacement struct {
	ID        uint64   `json:"id"`
	Voters    []string `json:"voters"`
	NonVoters []string `json:"non_voters,omitempty"`
	// Move, when set, is a replica move in progress.
	Move *Move `json:"move,omitempty"`
}

// Move replaces voter From of a shard by a replica on node To, in steps
// that are each one metadata op, so that whichever node leads the metadata
// group (or the shard) next picks up where the last one stopped:
//
//  1. StartMove records it; node To starts an empty replica and the shard
//     leader adds it to the Raft configuration as a non-voter.
//  2. MoveReady: node To has caught up with the shard's leader.
//  3. The shard leader promotes To to voter and removes From.
//  4. FinishMove: the placement names To instead of From; node From stops
//     its replica and deletes its data.
type Move struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Reason  string `json:"reason"`
	Ready   bool   `json:"ready,omitempty"`
	Started int64  `json:"started"` // Unix ms, metadata leader's clock
}

// Holds says whether node id holds (or is being given) a replica of the
// shard.
func (sh *ShardPlacement) Holds(id string) bool {
	return contains(sh.Voters, id) || contains(sh.NonVoters, id) || (sh.Move != nil && sh.Move.To == id)
}

// CollectionInfo is a collection as the metadata group records it.
type CollectionInfo struct {
	Name   string           `json:"name"`
	Schema json.RawMessage  `json:"schema"` // protojson of fsmpb.Schema
	Shards []ShardPlacement `json:"shards"`
	// Partitions maps partition names to ids; "_default" is 0.
	Partitions    map[string]uint32 `json:"partitions"`
	NextPartition uint32            `json:"next_partition"`
}

// MaxPartitions bounds the partitions of one collection.
const MaxPartitions = 4096

// PartitionIDs resolves partition names; no names means no restriction
// (nil).
func (c *CollectionInfo) PartitionIDs(names []string) ([]uint32, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]uint32, 0, len(names))
	for _, n := range names {
		id, ok := c.partition(n)
		if !ok {
			return nil, fmt.Errorf("%w: partition %q of collection %q", ErrNotFound, n, c.Name)
		}
		out = append(out, id)
	}
	return out, nil
}

func (c *CollectionInfo) partition(name string) (uint32, bool) {
	if name == "" || name == DefaultPartition {
		return 0, true
	}
	id, ok := c.Partitions[name]
	return id, ok
}

// PartitionID resolves one partition name ("" is the default partition).
func (c *CollectionInfo) PartitionID(name string) (uint32, error) {
	id, ok := c.partition(name)
	if !ok {
		return 0, fmt.Errorf("%w: partition %q of collection %q", ErrNotFound, name, c.Name)
	}
	return id, nil
}

// ShardByID returns the shard with an id.
func (c *CollectionInfo) ShardByID(id uint64) (ShardPlacement, bool) {
	for _, sh := range c.Shards {
		if sh.ID == id {
			return sh, true
		}
	}
	return ShardPlacement{}, false
}

// ShardIndex returns the position of a shard in the collection.
func (c *CollectionInfo) ShardIndex(id uint64) int {
	for i, sh := range c.Shards {
		if sh.ID == id {
			return i
		}
	}
	return -1
}

// SchemaProto decodes the collection's schema.
func (c *CollectionInfo) SchemaProto() (*fsmpb.Schema, error) {
	s := new(fsmpb.Schema)
	if err := protojson.Unmarshal(c.Schema, s); err != nil {
		return nil, fmt.Errorf("%w: schema of %q: %v", ErrCorrupt, c.Name, err)
	}
	return s, nil
}

// MetaState is the cluster metadata: nodes and collections with their
// shards' placement.
type MetaState struct {
	Nodes       map[string]*NodeInfo       `json:"nodes"`
	Collections map[string]*CollectionInfo `json:"collections"`
	NextShard   uint64                     `json:"next_shard"`
	// Health is each node's membership state; a node with no entry has
	// not been reported on and counts as alive.
	Health map[string]NodeHealth `json:"health,omitempty"`
	// TsLimit is the timestamp oracle's persisted bound: no oracle leader
	// has handed out a ts at or above it, so a new one starts there.
	TsLimit uint64 `json:"ts_limit,omitempty"`
	// Users, Roles and Tokens are the accounts (fsm/auth.go).
	Users  map[string]*User  `json:"users,omitempty"`
	Roles  map[string]*Role  `json:"roles,omitempty"`
	Tokens map[string]*Token `json:"tokens,omitempty"`
}

// Alive says whether a node is known and not failed or gone.
func (st *MetaState) Alive(id string) bool {
	if _, ok := st.Nodes[id]; !ok {
		return false
	}
	h, ok := st.Health[id]
	return !ok || h.State == NodeAlive
}

// Shard finds a shard by id.
func (st *MetaState) Shard(id uint64) (*CollectionInfo, *ShardPlacement) {
	for _, c := range st.Collections {
		for i := range c.Shards {
			if c.Shards[i].ID == id {
				return c, &c.Shards[i]
			}
		}
	}
	return nil, nil
}

// Load is how many replicas each known node holds, or will hold once the
// moves in progress finish (a move counts for its target, not its source).
func (st *MetaState) Load() map[string]int {
	load := map[string]int{}
	for id := range st.Nodes {
		load[id] = 0
	}
	for _, c := range st.Collections {
		for _, sh := range c.Shards {
			for _, id := range sh.Voters {
				if sh.Move == nil || sh.Move.From != id {
					load[id]++
				}
			}
			for _, id := range sh.NonVoters {
				load[id]++
			}
			if sh.Move != nil {
				load[sh.Move.To]++
			}
		}
	}
	return load
}

// MetaOp is one operation of the metadata log. Exactly one field is set.
type MetaOp struct {
	AddNode          *NodeInfo             `json:"add_node,omitempty"`
	CreateCollection *MetaCreateCollection `json:"create_collection,omitempty"`
	DropCollection   string                `json:"drop_collection,omitempty"`
	AddNonVoter      *MetaReplica          `json:"add_non_voter,omitempty"`
	CreatePartition  *MetaPartition        `json:"create_partition,omitempty"`
	DropPartition    *MetaPartition        `json:"drop_partition,omitempty"`
	SetHealth        *MetaHealth           `json:"set_health,omitempty"`
	StartMove        *MetaMove             `json:"start_move,omitempty"`
	MoveReady        *MetaMove             `json:"move_ready,omitempty"`
	FinishMove       *MetaMove             `json:"finish_move,omitempty"`
	CancelMove       *MetaMove             `json:"cancel_move,omitempty"`
	// RaiseTsLimit moves the timestamp oracle's bound up (never down).
	RaiseTsLimit uint64 `json:"raise_ts_limit,omitempty"`
	// Users, roles and tokens (fsm/auth.go).
	BootstrapRoot   *MetaUser     `json:"bootstrap_root,omitempty"`
	CreateUser      *MetaUser     `json:"create_user,omitempty"`
	DropUser        string        `json:"drop_user,omitempty"`
	SetPassword     *MetaUser     `json:"set_password,omitempty"`
	CreateRole      string        `json:"create_role,omitempty"`
	DropRole        string        `json:"drop_role,omitempty"`
	GrantPrivilege  *MetaGrant    `json:"grant_privilege,omitempty"`
	RevokePrivilege *MetaGrant    `json:"revoke_privilege,omitempty"`
	GrantRole       *MetaUserRole `json:"grant_role,omitempty"`
	RevokeRole      *MetaUserRole `json:"revoke_role,omitempty"`
	AddToken        *Token        `json:"add_token,omitempty"`
	DropToken       string        `json:"drop_token,omitempty"`
}

// MetaHealth records a node's membership state.
type MetaHealth struct {
	Node string `json:"node"`
	NodeHealth
}

// MetaMove names a replica move of a shard; StartMove also gives the
// reason and the start time.
type MetaMove struct {
	Shard uint64 `json:"shard"`
	Move
}

// MetaPartition names a partition of a collection.
type MetaPartition struct {
	Collection string `json:"collection"`
	Name       string `json:"name"`
}

// MetaCreateCollection creates a collection of Shards shards, each on
// Replicas nodes chosen in Apply: the nodes holding the fewest replicas,
// ties broken by id, counting the shards placed so far.
type MetaCreateCollection struct {
	Schema   json.RawMessage `json:"schema"`
	Replicas int             `json:"replicas"`
	Shards   int             `json:"shards"`
}

// MaxShards bounds the shards of one collection.
const MaxShards = 64

// DefaultShards is the shard count of a collection that names none: one on
// one or two nodes, else two per node, at most 8.
func DefaultShards(nodes int) int {
	if nodes <= 2 {
		return 1
	}
	return min(2*nodes, 8)
}

// MetaReplica names a node to hold a replica of a collection's shards.
type MetaReplica struct {
	Collection string `json:"collection"`
	Node       string `json:"node"`
}

// Meta is the metadata state machine. Its state is small and kept in
// memory; Raft snapshots carry it whole.
type Meta struct {
	mu      sync.RWMutex
	st      MetaState
	index   uint64
	changed func() // called after every applied entry, outside the lock
}

// NewMeta returns an empty metadata state machine. changed, if not nil, is
// called after every applied entry.
func NewMeta(changed func()) *Meta {
	m := &Meta{changed: changed}
	m.st = emptyMeta()
	return m
}

func emptyMeta() MetaState {
	return MetaState{Nodes: map[string]*NodeInfo{}, Collections: map[string]*CollectionInfo{}, NextShard: 1}
}

// EncodeMetaOp returns the log form of a metadata op.
func EncodeMetaOp(op *MetaOp) ([]byte, error) { return json.Marshal(op) }

// ApplyBatch applies the metadata ops of one entry. Results are nil or an
// error (a refused op: unknown collection, name taken, too few nodes).
func (m *Meta) ApplyBatch(index uint64, cmds [][]byte) ([]any, uint64) {
	out := make([]any, len(cmds))
	m.mu.Lock()
	if index <= m.index {
		m.mu.Unlock()
		return out, 0
	}
	changed := false
	for i, c := range cmds {
		var op MetaOp
		if err := json.Unmarshal(c, &op); err != nil {
			m.mu.Unlock()
			panic(fmt.Sprintf("metadata entry %d: %v", index, err))
		}
		out[i] = m.apply(&op)
		changed = changed || op.RaiseTsLimit == 0 // the oracle's bound is nobody's business
	}
	m.index = index
	m.mu.Unlock()
	if changed && m.changed != nil {
		m.changed()
	}
	return out, 0
}

func (m *Meta) apply(op *MetaOp) error {
	st := &m.st
	if op.IsAuthOp() {
		return st.applyAuth(op)
	}
	switch {
	case op.RaiseTsLimit != 0:
		st.TsLimit = max(st.TsLimit, op.RaiseTsLimit)
	case op.AddNode != nil:
		n := *op.AddNode
		st.Nodes[n.ID] = &n
	case op.CreateCollection != nil:
		var s fsmpb.Schema
		if err := protojson.Unmarshal(op.CreateCollection.Schema, &s); err != nil {
			return fmt.Errorf("%w: schema: %v", ErrInvalid, err)
		}
		if _, ok := st.Collections[s.Name]; ok {
			return fmt.Errorf("%w: collection %q", ErrAlreadyExists, s.Name)
		}
		r := op.CreateCollection.Replicas
		live := 0
		for id := range st.Nodes {
			if st.Alive(id) {
				live++
			}
		}
		if r < 1 || r > live {
			return invalidf("replicas (%d) must be between 1 and the number of live nodes (%d)", r, live)
		}
		n := op.CreateCollection.Shards
		if n == 0 {
			n = 1
		}
		if n < 1 || n > MaxShards {
			return invalidf("shards (%d) must be between 1 and %d", n, MaxShards)
		}
		c := &CollectionInfo{Name: s.Name, Schema: op.CreateCollection.Schema,
			Partitions: map[string]uint32{DefaultPartition: 0}, NextPartition: 1}
		st.Collections[s.Name] = c
		for i := 0; i < n; i++ {
			// leastLoaded counts the shards already placed, so the
			// shards of one collection spread over the nodes.
			c.Shards = append(c.Shards, ShardPlacement{ID: st.NextShard, Voters: m.leastLoaded(r)})
			st.NextShard++
		}
	case op.DropCollection != "":
		if _, ok := st.Collections[op.DropCollection]; !ok {
			return fmt.Errorf("%w: collection %q", ErrNotFound, op.DropCollection)
		}
		delete(st.Collections, op.DropCollection)
	case op.CreatePartition != nil:
		p := op.CreatePartition
		c, ok := st.Collections[p.Collection]
		if !ok {
			return fmt.Errorf("%w: collection %q", ErrNotFound, p.Collection)
		}
		if _, ok := c.partition(p.Name); ok {
			return fmt.Errorf("%w: partition %q", ErrAlreadyExists, p.Name)
		}
		if len(c.Partitions) >= MaxPartitions {
			return invalidf("partitions: collection %q has %d, the limit", p.Collection, MaxPartitions)
		}
		if c.Partitions == nil {
			c.Partitions = map[string]uint32{DefaultPartition: 0}
		}
		c.Partitions[p.Name] = c.NextPartition
		c.NextPartition++
	case op.DropPartition != nil:
		p := op.DropPartition
		c, ok := st.Collections[p.Collection]
		if !ok {
			return fmt.Errorf("%w: collection %q", ErrNotFound, p.Collection)
		}
		if p.Name == DefaultPartition || p.Name == "" {
			return invalidf("partition_name: the default partition cannot be dropped")
		}
		if _, ok := c.Partitions[p.Name]; !ok {
			return fmt.Errorf("%w: partition %q", ErrNotFound, p.Name)
		}
		delete(c.Partitions, p.Name)
	case op.SetHealth != nil:
		if _, ok := st.Nodes[op.SetHealth.Node]; !ok {
			return fmt.Errorf("%w: node %q", ErrNotFound, op.SetHealth.Node)
		}
		if st.Health == nil {
			st.Health = map[string]NodeHealth{}
		}
		if cur, ok := st.Health[op.SetHealth.Node]; !ok || cur.State != op.SetHealth.State {
			st.Health[op.SetHealth.Node] = op.SetHealth.NodeHealth
		}
	case op.StartMove != nil:
		return st.startMove(op.StartMove)
	case op.MoveReady != nil:
		_, sh := st.Shard(op.MoveReady.Shard)
		if sh == nil || sh.Move == nil || sh.Move.To != op.MoveReady.To || sh.Move.From != op.MoveReady.From {
			return fmt.Errorf("%w: move of shard %d from %s to %s", ErrNotFound, op.MoveReady.Shard, op.MoveReady.From, op.MoveReady.To)
		}
		sh.Move.Ready = true
	case op.CancelMove != nil:
		_, sh := st.Shard(op.CancelMove.Shard)
		if sh == nil || sh.Move == nil || sh.Move.To != op.CancelMove.To || sh.Move.From != op.CancelMove.From {
			return fmt.Errorf("%w: move of shard %d from %s to %s", ErrNotFound, op.CancelMove.Shard, op.CancelMove.From, op.CancelMove.To)
		}
		if sh.Move.Ready {
			return invalidf("move of shard %d: the new replica is being promoted; it can no longer be cancelled", op.CancelMove.Shard)
		}
		sh.Move = nil
	case op.FinishMove != nil:
		_, sh := st.Shard(op.FinishMove.Shard)
		if sh == nil || sh.Move == nil || sh.Move.To != op.FinishMove.To || sh.Move.From != op.FinishMove.From {
			return fmt.Errorf("%w: move of shard %d from %s to %s", ErrNotFound, op.FinishMove.Shard, op.FinishMove.From, op.FinishMove.To)
		}
		for i, v := range sh.Voters {
			if v == sh.Move.From {
				sh.Voters[i] = sh.Move.To
			}
		}
		sort.Strings(sh.Voters)
		sh.Move = nil
	case op.AddNonVoter != nil:
		c, ok := st.Collections[op.AddNonVoter.Collection]
		if !ok {
			return fmt.Errorf("%w: collection %q", ErrNotFound, op.AddNonVoter.Collection)
		}
		if _, ok := st.Nodes[op.AddNonVoter.Node]; !ok {
			return fmt.Errorf("%w: node %q", ErrNotFound, op.AddNonVoter.Node)
		}
		for i := range c.Shards {
			sh := &c.Shards[i]
			if contains(sh.Voters, op.AddNonVoter.Node) {
				return fmt.Errorf("%w: node %q already holds a voting replica of shard %d", ErrAlreadyExists, op.AddNonVoter.Node, sh.ID)
			}
			if !contains(sh.NonVoters, op.AddNonVoter.Node) { // a retry changes nothing
				sh.NonVoters = append(sh.NonVoters, op.AddNonVoter.Node)
			}
		}
	}
	return nil
}

// startMove validates and records the first step of a move.
func (st *MetaState) startMove(m *MetaMove) error {
	_, sh := st.Shard(m.Shard)
	switch {
	case sh == nil:
		return fmt.Errorf("%w: shard %d", ErrNotFound, m.Shard)
	case sh.Move != nil:
		return fmt.Errorf("%w: shard %d is already moving from %s to %s", ErrAlreadyExists, m.Shard, sh.Move.From, sh.Move.To)
	case !contains(sh.Voters, m.From):
		return invalidf("from: node %q holds no voting replica of shard %d", m.From, m.Shard)
	case !st.Alive(m.To):
		return invalidf("to: node %q is not a live node", m.To)
	case sh.Holds(m.To):
		return fmt.Errorf("%w: node %q already holds a replica of shard %d", ErrAlreadyExists, m.To, m.Shard)
	}
	mv := m.Move
	mv.Ready = false
	sh.Move = &mv
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// leastLoaded picks n live nodes holding the fewest replicas, ties by id;
// fewer if there are not n live nodes.
func (m *Meta) leastLoaded(n int) []string {
	load := m.st.Load()
	ids := make([]string, 0, len(m.st.Nodes))
	for id := range m.st.Nodes {
		if m.st.Alive(id) {
			ids = append(ids, id)
		}
	}
	n = min(n, len(ids))
	sort.Slice(ids, func(i, j int) bool {
		if load[ids[i]] != load[ids[j]] {
			return load[ids[i]] < load[ids[j]]
		}
		return ids[i] < ids[j]
	})
	out := ids[:n]
	sort.Strings(out)
	return out
}

// State returns a deep copy of the metadata state.
func (m *Meta) State() MetaState {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, _ := json.Marshal(m.st)
	var st MetaState
	json.Unmarshal(b, &st)
	return st
}

// Node returns a node's record, without copying the whole state.
func (m *Meta) Node(id string) (NodeInfo, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, ok := m.st.Nodes[id]
	if !ok {
		return NodeInfo{}, false
	}
	return *n, true
}

// TsLimit is the timestamp oracle's persisted bound (MetaState.TsLimit).
func (m *Meta) TsLimit() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.TsLimit
}

// Applied returns the last applied index; the metadata FSM keeps no ts.
func (m *Meta) Applied() (uint64, uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.index, 0
}

// Snapshot captures the state as JSON.
func (m *Meta) Snapshot() (raft.FSMSnapshot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, err := json.Marshal(struct {
		Index uint64    `json:"index"`
		State MetaState `json:"state"`
	}{m.index, m.st})
	if err != nil {
		return nil, err
	}
	return bytesSnapshot(b), nil
}

// Restore replaces the state with a snapshot's.
func (m *Meta) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var snap struct {
		Index uint64    `json:"index"`
		State MetaState `json:"state"`
	}
	if err := json.NewDecoder(rc).Decode(&snap); err != nil {
		return fmt.Errorf("%w: metadata snapshot: %v", ErrCorrupt, err)
	}
	if snap.State.Nodes == nil {
		snap.State.Nodes = map[string]*NodeInfo{}
	}
	if snap.State.Collections == nil {
		snap.State.Collections = map[string]*CollectionInfo{}
	}
	m.mu.Lock()
	m.st, m.index = snap.State, snap.Index
	m.mu.Unlock()
	if m.changed != nil {
		m.changed()
	}
	return nil
}

type bytesSnapshot []byte

func (b bytesSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(b); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (b bytesSnapshot) Release() {}
