package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// fastPlacement makes failure handling quick enough for a test.
func fastPlacement(hc *shard.HostConfig) {
	hc.Placement.DownAfter = 2 * time.Second
	hc.ScheduleInterval = 100 * time.Millisecond
}

// writer upserts ids 0, 1, 2, ... through the SDK until stopped, retrying
// each id until it is acknowledged, and remembers which were.
type writer struct {
	mu       sync.Mutex
	acked    []int64
	failures []error // attempts that failed (each id is retried)
	token    uint64  // session token of the last acknowledged write
	stop     chan struct{}
	done     chan struct{}
}

func startWriter(t *testing.T, cl *client.Client, coll string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for id := int64(0); ; id++ {
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := cl.Upsert(ctx, &pb.InsertRequest{Collection: coll, Rows: vecRows([]int64{id}, dim)})
				cancel()
				w.mu.Lock()
				if err == nil {
					w.acked = append(w.acked, id)
					w.token = max(w.token, resp.SessionToken)
				} else {
					w.failures = append(w.failures, err)
				}
				w.mu.Unlock()
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *writer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) snapshot() ([]int64, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...), w.token
}

// waitMeta waits until the metadata on node i satisfies ok.
func (c *testCluster) waitMeta(i int, d time.Duration, what string, ok func(fsm.MetaState) bool) fsm.MetaState {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := c.nodes[i].host.Meta()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v; metadata: %+v", what, d, shardsOf(st))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func shardsOf(st fsm.MetaState) []fsm.ShardPlacement {
	var out []fsm.ShardPlacement
	for _, c := range st.Collections {
		out = append(out, c.Shards...)
	}
	return out
}

func noMoves(st fsm.MetaState) bool {
	for _, sh := range shardsOf(st) {
		if sh.Move != nil {
			return false
		}
	}
	return true
}

// checkShardsHealthy waits until every shard of coll has exactly its
// placed voters in its Raft configuration, all on running nodes, and their
// digests agree.
func (c *testCluster) checkShardsHealthy(from int, coll string, replicas int) {
	c.t.Helper()
	st := c.nodes[from].host.Meta()
	for _, sh := range st.Collections[coll].Shards {
		if len(sh.Voters) != replicas {
			c.t.Fatalf("shard %d has %d voters, want %d: %v", sh.ID, len(sh.Voters), replicas, sh.Voters)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var rs []*shard.Replica
			for _, nd := range c.nodes {
				if nd.host != nil && slices.Contains(sh.Voters, nd.id) {
					if r := nd.host.Replica(sh.ID); r != nil {
						rs = append(rs, r)
					}
				}
			}
			var voters []string
			digests := map[string]bool{}
			for _, r := range rs {
				digests[r.FSM().Digest()] = true
				if r.Group().IsLeader() {
					cf := r.Group().Raft().GetConfiguration()
					if cf.Error() == nil {
						for _, s := range cf.Configuration().Servers {
							if s.Suffrage == raft.Voter {
								voters = append(voters, string(s.ID))
							}
						}
					}
				}
			}
			sort.Strings(voters)
			if len(rs) == replicas && len(digests) == 1 && slices.Equal(voters, sh.Voters) {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("shard %d: %d running replicas of %v, %d digests, leader's voters %v", sh.ID, len(rs), sh.Voters, len(digests), voters)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// mustFindAll checks with STRONG reads that every id is present.
func mustFindAll(t *testing.T, cl *client.Client, coll string, ids []int64) {
	t.Helper()
	for len(ids) > 0 {
		n := min(len(ids), 500)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := cl.Get(ctx, &pb.GetRequest{Collection: coll, IntIds: ids[:n], Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(resp.GetRows().GetIntIds()); got != n {
			t.Fatalf("STRONG get of %d acknowledged ids found %d", n, got)
		}
		ids = ids[n:]
	}
}

// Item 2: a node is killed and stays dead. After down_after every shard is
// back to three replicas on the other nodes; writes were acknowledged all
// along, and no acknowledged row is lost.
func TestFailedNodeIsReplaced(t *testing.T) {
	c := mustCluster(t, 4, fastPlacement)
	ctx := ctxT(t, 3*time.Minute)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "f"}, Dim: dim, Metric: pb.Metric_L2, Shards: 2, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	w := startWriter(t, cl, "f")
	for w.count() < 50 {
		time.Sleep(20 * time.Millisecond)
	}
	// The victim holds a replica of the first shard and does not lead the
	// metadata group (that case is TestMoveSurvivesMetaLeaderKill's).
	st := c.nodes[0].host.Meta()
	victim := -1
	for i, nd := range c.nodes {
		if slices.Contains(st.Collections["f"].Shards[0].Voters, nd.id) && !nd.host.MetaGroup().IsLeader() {
			victim = i
			break
		}
	}
	survivor := (victim + 1) % len(c.nodes)
	c.stop(victim)
	atKill := w.count()
	victimID := c.nodes[victim].id
	c.waitMeta(survivor, 60*time.Second, "the dead node's replicas are replaced", func(st fsm.MetaState) bool {
		for _, sh := range st.Collections["f"].Shards {
			if sh.Holds(victimID) {
				return false
			}
		}
		return noMoves(st) && st.Health[victimID].State == fsm.NodeFailed
	})
	atRepair := w.count()
	c.checkShardsHealthy(survivor, "f", 3)
	w.halt()
	if atRepair <= atKill {
		t.Fatalf("no write was acknowledged between the kill (%d) and the end of the repair (%d)", atKill, atRepair)
	}
	acked, _ := w.snapshot()
	mustFindAll(t, c.client(survivor), "f", acked)
	t.Logf("%d writes acknowledged (%d during the repair), %d attempts retried", len(acked), atRepair-atKill, len(w.failures))

	// The node comes back after it was replaced. It runs only what the
	// placement gives it: the data of a replica placed elsewhere is
	// deleted. Rebalancing may place a shard on it again at once; then its
	// old data is the start of the new replica (its log is a prefix of the
	// group's), which must converge like any other.
	old := filepath.Join(c.nodes[victim].dir, "shards", fmt.Sprint(st.Collections["f"].Shards[0].ID))
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("the stopped node's replica data is not where expected: %v", err)
	}
	c.start(victim)
	c.waitMeta(survivor, 60*time.Second, "rebalancing onto the returning node settles", noMoves)
	idx, _ := c.nodes[survivor].host.MetaGroup().Applied()
	if err := c.nodes[victim].host.MetaGroup().WaitApplied(ctx, idx); err != nil {
		t.Fatalf("the returning node's metadata did not catch up: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := os.Stat(old)
		now := c.nodes[victim].host.Meta()
		_, sh := now.Shard(st.Collections["f"].Shards[0].ID)
		if os.IsNotExist(err) || sh.Holds(victimID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the returning node kept the data of a replica placed elsewhere: %s", old)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		stray := uint64(0)
		now := c.nodes[victim].host.Meta()
		for _, r := range c.nodes[victim].host.Replicas() {
			if _, sh := now.Shard(r.ShardID()); sh == nil || !sh.Holds(victimID) {
				stray = r.ShardID()
			}
		}
		if stray == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the returning node runs a replica of shard %d that is not placed on it", stray)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.waitMeta(survivor, 60*time.Second, "moves settle", noMoves)
	c.checkShardsHealthy(survivor, "f", 3)
}

// Item 3: a node joins a running three-node cluster under write load;
// replicas rebalance onto it, no acknowledged row is lost, and STRONG and
// SESSION reads keep their promises during the moves.
func TestJoinRebalancesUnderLoad(t *testing.T) {
	c := mustCluster(t, 3, fastPlacement)
	ctx := ctxT(t, 3*time.Minute)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "j"}, Dim: dim, Metric: pb.Metric_L2, Shards: 4, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	w := startWriter(t, cl, "j")
	for w.count() < 50 {
		time.Sleep(20 * time.Millisecond)
	}
	n4 := c.addNode()
	if err := c.client(0).Join(ctx, &pb.JoinRequest{NodeId: "n4", RaftAddr: c.nodes[n4].raft, ApiAddr: c.nodes[n4].api}); err != nil {
		t.Fatal(err)
	}
	// Readers check the promises while replicas move: a STRONG read sees
	// every write acknowledged before it began; a SESSION read with the
	// writer's token sees the writer's last acknowledged write.
	reader := c.client()
	var readErrs []string
	readsDone := make(chan int)
	stopReads := make(chan struct{})
	go func() {
		reads := 0
		defer func() { readsDone <- reads }()
		for {
			select {
			case <-stopReads:
				return
			default:
			}
			acked, token := w.snapshot()
			last := acked[len(acked)-1]
			level := pb.ConsistencyLevel_STRONG
			if reads%2 == 1 {
				level = pb.ConsistencyLevel_SESSION
				reader.SetSessionToken(token)
			}
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := reader.Get(rctx, &pb.GetRequest{Collection: "j", IntIds: []int64{last}, Read: &pb.ReadOptions{Level: level}})
			cancel()
			if err == nil {
				reads++
				if len(resp.GetRows().GetIntIds()) != 1 {
					readErrs = append(readErrs, level.String()+" read missed an acknowledged write")
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	st := c.waitMeta(0, 90*time.Second, "replicas rebalance onto the new node", func(st fsm.MetaState) bool {
		return noMoves(st) && st.Load()["n4"] >= 3
	})
	close(stopReads)
	reads := <-readsDone
	c.checkShardsHealthy(0, "j", 3)
	w.halt()
	if len(readErrs) > 0 {
		t.Fatalf("%d of %d reads broke their promise: %v", len(readErrs), reads, readErrs[0])
	}
	if reads == 0 {
		t.Fatal("no read succeeded during the moves")
	}
	acked, _ := w.snapshot()
	mustFindAll(t, c.client(), "j", acked)
	t.Logf("load after rebalancing %v; %d writes acknowledged, %d reads checked", st.Load(), len(acked), reads)
}

// Item 4: the metadata leader is killed in the middle of a replica move;
// the new metadata leader's cluster finishes it, and the shard never ends
// with fewer than its replicas.
func TestMoveSurvivesMetaLeaderKill(t *testing.T) {
	c := mustCluster(t, 5, nil) // default down_after: no repair interferes
	ctx := ctxT(t, 3*time.Minute)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "m"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 10; b++ {
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "m", Rows: vecRows(seq(b*100, 100), dim)}); err != nil {
			t.Fatal(err)
		}
	}
	// Of five static peers, three vote in the metadata group.
	if cf := c.nodes[0].host.MetaGroup().Raft().GetConfiguration(); cf.Error() != nil {
		t.Fatal(cf.Error())
	} else {
		var voters []string
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters = append(voters, string(s.ID))
			}
		}
		if sort.Strings(voters); !slices.Equal(voters, []string{"n1", "n2", "n3"}) {
			t.Fatalf("metadata voters %v, want n1 n2 n3", voters)
		}
	}
	metaLeader := -1
	for i, nd := range c.nodes {
		if nd.host.MetaGroup().IsLeader() {
			metaLeader = i
		}
	}
	sh := c.nodes[0].host.Meta().Collections["m"].Shards[0]
	from, to := "", -1
	for i, nd := range c.nodes {
		switch {
		case i == metaLeader:
		case slices.Contains(sh.Voters, nd.id) && from == "":
			from = nd.id
		case !slices.Contains(sh.Voters, nd.id) && to < 0:
			to = i
		}
	}
	// Hold the new replica's catch-up back so the move is still under way
	// when the metadata leader dies.
	if _, err := cl.InjectFault(ctx, c.nodes[to].api, &pb.InjectFaultRequest{ApplyDelayMs: 20, SetApplyDelay: true}); err != nil {
		t.Fatal(err)
	}
	if err := cl.MoveReplica(ctx, sh.ID, from, c.nodes[to].id); err != nil {
		t.Fatal(err)
	}
	other := (metaLeader + 1) % len(c.nodes)
	st := c.waitMeta(other, 10*time.Second, "the move is recorded", func(st fsm.MetaState) bool {
		return st.Collections["m"].Shards[0].Move != nil
	})
	if mv := st.Collections["m"].Shards[0].Move; mv.Ready {
		t.Logf("the new replica was ready before the kill; the kill still falls before the promotion or the removal")
	}
	c.stop(metaLeader)
	if _, err := c.client(to).InjectFault(ctx, c.nodes[to].api, &pb.InjectFaultRequest{SetApplyDelay: true}); err != nil {
		t.Fatal(err)
	}
	toID := c.nodes[to].id
	st = c.waitMeta(other, 60*time.Second, "the move finishes under the new metadata leader", func(st fsm.MetaState) bool {
		return noMoves(st)
	})
	got := st.Collections["m"].Shards[0].Voters
	if !(slices.Contains(got, toID) && !slices.Contains(got, from)) && !slices.Equal(got, sh.Voters) {
		t.Fatalf("after the move the shard's voters are %v: neither finished (%s for %s) nor rolled back (%v)", got, toID, from, sh.Voters)
	}
	// The killed node comes back (well within down_after), so every
	// replica the placement names is running again.
	c.start(metaLeader)
	c.checkShardsHealthy(other, "m", 3)
	mustFindAll(t, c.client(other), "m", seq(0, 1000))
	// The old replica's data is gone once the move finished.
	if r := c.nodes[c.index(from)].host.Replica(sh.ID); r != nil {
		t.Fatalf("the replica on %s still runs after the move finished", from)
	}
}

func (c *testCluster) index(id string) int {
	for i, nd := range c.nodes {
		if nd.id == id {
			return i
		}
	}
	c.t.Fatalf("no node %s", id)
	return -1
}

// A node's move and leadership admin calls refuse bad input and change
// nothing.
func TestMoveAndTransferRefuseBadInput(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	mustCreate(t, c, "b")
	cl := c.client()
	sh := c.nodes[0].host.Meta().Collections["b"].Shards[0]
	for name, call := range map[string]func() error{
		"move of an unknown shard":    func() error { return cl.MoveReplica(ctx, 999, "n1", "n2") },
		"move onto a node holding it": func() error { return cl.MoveReplica(ctx, sh.ID, sh.Voters[0], sh.Voters[1]) },
		"move with no shard":          func() error { return cl.MoveReplica(ctx, 0, "n1", "n2") },
		"transfer to a non-member":    func() error { _, err := cl.TransferLeader(ctx, sh.ID, "n9"); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		} else if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: timed out instead of refusing: %v", name, err)
		}
	}
	if got := c.nodes[0].host.Meta().Collections["b"].Shards[0]; got.Move != nil || !slices.Equal(got.Voters, sh.Voters) {
		t.Fatalf("refused calls changed the shard: %+v", got)
	}
	// A good transfer moves the leadership.
	old := c.leaderOf("b")
	target := c.nodes[(old+1)%3].id
	leader, err := cl.TransferLeader(ctx, sh.ID, target)
	if err != nil {
		t.Fatal(err)
	}
	if leader != target {
		t.Fatalf("leadership went to %q, asked for %q", leader, target)
	}
	if c.replicaOn(old, "b").Group().LeaseValid(time.Now()) {
		t.Fatal("the former leader still holds a read lease after handing leadership over")
	}
}

// A move whose new replica's node fails before the replica caught up is
// cancelled after down_after, and the shard is repaired onto another node:
// a stalled move never leaves a shard short of replicas for good.
func TestStalledMoveIsCancelledAndRepaired(t *testing.T) {
	c := mustCluster(t, 5, fastPlacement)
	ctx := ctxT(t, 3*time.Minute)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "s"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "s", Rows: vecRows(seq(0, 100), dim)}); err != nil {
		t.Fatal(err)
	}
	sh := c.nodes[0].host.Meta().Collections["s"].Shards[0]
	var spares []int
	for i, nd := range c.nodes {
		if !slices.Contains(sh.Voters, nd.id) {
			spares = append(spares, i)
		}
	}
	// Both spares apply slowly, so whichever is picked does not catch up
	// before it is stopped.
	for _, i := range spares {
		if _, err := cl.InjectFault(ctx, c.nodes[i].api, &pb.InjectFaultRequest{ApplyDelayMs: 300, SetApplyDelay: true}); err != nil {
			t.Fatal(err)
		}
	}
	victim := c.index(sh.Voters[0])
	observer := c.index(sh.Voters[1])
	c.stop(victim)
	st := c.waitMeta(observer, 60*time.Second, "a replacement move starts", func(st fsm.MetaState) bool {
		return st.Collections["s"].Shards[0].Move != nil
	})
	target := st.Collections["s"].Shards[0].Move.To
	c.stop(c.index(target))
	for _, i := range spares {
		if c.nodes[i].id != target {
			cl.InjectFault(ctx, c.nodes[i].api, &pb.InjectFaultRequest{SetApplyDelay: true})
		}
	}
	st = c.waitMeta(observer, 90*time.Second, "the stalled move is cancelled and the shard repaired elsewhere", func(st fsm.MetaState) bool {
		s := st.Collections["s"].Shards[0]
		return s.Move == nil && !slices.Contains(s.Voters, sh.Voters[0]) && !slices.Contains(s.Voters, target)
	})
	c.checkShardsHealthy(observer, "s", 3)
	mustFindAll(t, c.client(observer), "s", seq(0, 100))
	t.Logf("voters %v → %v; the move to %s was cancelled", sh.Voters, st.Collections["s"].Shards[0].Voters, target)
}
