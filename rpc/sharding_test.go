package rpc_test

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

func TestShardForSpreadsKeys(t *testing.T) {
	counts := make([]int, 4)
	for k := int64(0); k < 4000; k++ {
		counts[wire.ShardFor(k, "", true, 4)]++
	}
	for i, n := range counts {
		if n < 800 || n > 1200 {
			t.Fatalf("shard %d owns %d of 4000 keys: %v", i, n, counts)
		}
	}
	for _, n := range []int{1, 3, 8} {
		for k := int64(-5); k < 5; k++ {
			if p := wire.ShardFor(k, "", true, n); p < 0 || p >= n {
				t.Fatalf("ShardFor(%d, %d) = %d", k, n, p)
			}
		}
	}
	// Routing decides where rows live: it must never change, or keys
	// written before would be looked for on the wrong shard.
	if got := fmt.Sprint([]int{wire.ShardFor(1, "", true, 4), wire.ShardFor(2, "", true, 4), wire.ShardFor(0, "abc", false, 4)}); got != "[2 3 3]" {
		t.Fatalf("routing changed: %s, pinned [2 3 3]", got)
	}
}

// Item 1 of the sharding issue: five nodes, four shards of three replicas;
// rows spread over the shards, and a search merged across shards equals a
// brute-force search.
func TestShardedCollectionMatchesOracle(t *testing.T) {
	c := mustCluster(t, 5, nil)
	ctx := ctxT(t, 90*time.Second)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "s"}, Dim: dim, Metric: pb.Metric_L2, Shards: 4, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	meta := c.nodes[0].host.Meta().Collections["s"]
	if len(meta.Shards) != 4 {
		t.Fatalf("%d shards, want 4", len(meta.Shards))
	}
	perNode := map[string]int{}
	for _, sh := range meta.Shards {
		seen := map[string]bool{}
		for _, n := range sh.Voters {
			if seen[n] {
				t.Fatalf("shard %d has two replicas on %s", sh.ID, n)
			}
			seen[n] = true
			perNode[n]++
		}
		if len(sh.Voters) != 3 {
			t.Fatalf("shard %d has %d voters", sh.ID, len(sh.Voters))
		}
	}
	for n, k := range perNode {
		if k < 2 || k > 3 {
			t.Fatalf("placement is uneven: %s holds %d of 12 replicas (%v)", n, k, perNode)
		}
	}
	rng := rand.New(rand.NewSource(9))
	vecs := map[int64][]float32{}
	for b := 0; b < 4; b++ {
		rows := &pb.Rows{}
		for i := 0; i < 250; i++ {
			id := int64(b*250 + i)
			v := []float32{rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32()}
			vecs[id] = v
			rows.IntIds = append(rows.IntIds, id)
			rows.Vectors = append(rows.Vectors, v...)
		}
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "s", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	// Every shard got a share.
	for _, sh := range meta.Shards {
		for _, nd := range c.nodes {
			if r := nd.host.Replica(sh.ID); r != nil && r.Group().IsLeader() {
				if n := r.FSM().Stats().LiveRows; n < 150 || n > 350 {
					t.Fatalf("shard %d holds %d of 1000 rows", sh.ID, n)
				}
			}
		}
	}
	for qi := 0; qi < 10; qi++ {
		q := []float32{rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32()}
		for _, level := range []pb.ConsistencyLevel{pb.ConsistencyLevel_STRONG, pb.ConsistencyLevel_SESSION} {
			res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "s", Vectors: q, TopK: 10, Read: &pb.ReadOptions{Level: level}})
			if err != nil {
				t.Fatal(err)
			}
			type hit struct {
				id int64
				d  float32
			}
			var all []hit
			for id, v := range vecs {
				all = append(all, hit{id, l2(q, v)})
			}
			sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d || (all[i].d == all[j].d && all[i].id < all[j].id) })
			for i, h := range res.Results[0].Hits {
				if h.IntId != all[i].id {
					t.Fatalf("%v query %d hit %d = %d, oracle %d", level, qi, i, h.IntId, all[i].id)
				}
			}
		}
	}
	// Get, query and delete by filter across shards.
	ids := []int64{3, 250, 511, 999, 5000}
	got, err := cl.Get(ctx, &pb.GetRequest{Collection: "s", IntIds: ids})
	if err != nil || len(got.Rows.IntIds) != 4 {
		t.Fatalf("get across shards: %v %v", got, err)
	}
	d, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "s", Filter: "id < 100"})
	if err != nil || d.Deleted != 100 {
		t.Fatalf("delete by filter across shards: %v %v", d, err)
	}
	q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "s", Filter: "id < 200"})
	if err != nil || len(q.Rows.IntIds) != 100 {
		t.Fatalf("query across shards: %d rows, %v", len(q.GetRows().GetIntIds()), err)
	}
}

// Auto ids stay unique across shards.
func TestAutoIDsAcrossShards(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client()
	sc := &pb.CollectionSchema{Name: "au", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true, AutoId: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: pb.Metric_L2},
	}}
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: sc, Shards: 3}); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for i := 0; i < 12; i++ {
		resp, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "au", Rows: &pb.Rows{Vectors: []float32{1, 2, 3, 4}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range resp.AutoIds {
			if seen[id] {
				t.Fatalf("auto id %d handed out twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 24 {
		t.Fatal(fmt.Sprint("auto ids: ", len(seen)))
	}
}

func (c *testCluster) forwarded() uint64 {
	var n uint64
	for _, nd := range c.nodes {
		if nd.srv != nil && nd.host != nil {
			n += nd.srv.Forwarded()
		}
	}
	return n
}

// Item 5: with a warm routing table the SDK sends writes straight to the
// shard leaders (the servers forward almost nothing), and after a leader
// change it finds the new leaders.
func TestSDKRoutesToLeaders(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "r"}, Dim: dim, Metric: pb.Metric_L2, Shards: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(seq(0, 30), dim)}); err != nil {
		t.Fatal(err) // warms the routing table
	}
	before := c.forwarded()
	for b := 1; b <= 50; b++ {
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(seq(b*30, 30), dim)}); err != nil {
			t.Fatal(err)
		}
	}
	if fw := c.forwarded() - before; fw > 5 {
		t.Fatalf("50 writes over 3 shards made the servers forward %d requests; the SDK should go straight to leaders", fw)
	}
	// Without the routing table the same writes are forwarded (by a node
	// that does not lead every shard: leaders are not balanced yet).
	ci := c.nodes[0].host.Meta().Collections["r"]
	via := -1
	for i, nd := range c.nodes {
		for _, sh := range ci.Shards {
			if r := nd.host.Replica(sh.ID); r != nil && !r.Group().IsLeader() {
				via = i
			}
		}
	}
	if via < 0 {
		t.Fatal("no node is a follower of any shard")
	}
	plain := c.client(via)
	plain.SetDirect(false)
	before = c.forwarded()
	for b := 51; b <= 60; b++ {
		if _, err := plain.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(seq(b*30, 30), dim)}); err != nil {
			t.Fatal(err)
		}
	}
	if fw := c.forwarded() - before; fw < 10 {
		t.Fatalf("without routing only %d forwards for 10 writes through a follower: the counter does not show routing", fw)
	}
	// A leader goes away; writes go on and the table recovers.
	victim := -1
	for i, nd := range c.nodes {
		if r := nd.host.Replica(ci.Shards[0].ID); r != nil && r.Group().IsLeader() {
			victim = i
		}
	}
	c.stop(victim)
	var others []int
	for i := range c.nodes {
		if i != victim {
			others = append(others, i)
		}
	}
	cl2 := c.client(others...)
	for b := 61; b <= 70; b++ {
		if _, err := cl2.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(seq(b*30, 30), dim)}); err != nil {
			t.Fatalf("write after the leader stopped: %v", err)
		}
	}
	before = c.forwarded()
	for b := 71; b <= 90; b++ {
		if _, err := cl2.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(seq(b*30, 30), dim)}); err != nil {
			t.Fatal(err)
		}
	}
	if fw := c.forwarded() - before; fw > 5 {
		t.Fatalf("after the leader change, 20 writes made %d forwards; the routing table did not recover", fw)
	}
	got, err := cl2.Query(ctx, &pb.QueryRequest{Collection: "r", Filter: "id >= 0", Limit: 16384})
	if err != nil || len(got.Rows.IntIds) != 91*30 {
		t.Fatalf("%d rows after all writes, want %d (%v)", len(got.GetRows().GetIntIds()), 91*30, err)
	}
}

// A node joins a running cluster through any node: it becomes a
// non-voting member of the metadata group (which keeps three voters) and
// can hold replicas of new collections.
func TestJoinAddsANonVotingMetadataMember(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	mustCreate(t, c, "before")
	n4 := c.addNode()
	if err := c.client(1).Join(ctx, &pb.JoinRequest{NodeId: "n4", RaftAddr: c.nodes[n4].raft, ApiAddr: c.nodes[n4].api}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := c.nodes[n4].host.Meta().Nodes["n4"]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the joined node never learned the metadata that records it")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cf := c.nodes[0].host.MetaGroup().Raft().GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	voters := 0
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		} else if s.ID != "n4" {
			t.Fatalf("%s is a non-voter", s.ID)
		}
	}
	if voters != 3 {
		t.Fatalf("metadata group has %d voters, want 3", voters)
	}
	// The new node takes replicas: a 4-replica collection must use it.
	if err := c.client().CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "after"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client(n4).Insert(ctx, &pb.InsertRequest{Collection: "after", Rows: vecRows([]int64{1}, dim)}); err != nil {
		t.Fatal(err)
	}
	c.converge("after", 4)
}

// A node that holds no replica of a shard still serves its writes and
// STRONG reads: it forwards to a replica, which forwards on to the leader.
func TestNodeWithoutReplicaRoutesTwoHops(t *testing.T) {
	c := mustCluster(t, 4, nil)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client(0)
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "h"}, Dim: dim, Metric: pb.Metric_L2, Shards: 1, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	sh := c.nodes[0].host.Meta().Collections["h"].Shards[0]
	outsider := -1
	for i, nd := range c.nodes {
		if nd.host.Replica(sh.ID) == nil {
			outsider = i
		}
	}
	if outsider < 0 {
		t.Fatal("every node holds a replica")
	}
	// Make sure the replica the outsider forwards to first is not the leader.
	first := -1
	for i, nd := range c.nodes {
		if nd.id == sh.Voters[0] {
			first = i
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.nodes[first].host.Replica(sh.ID).Group().IsLeader() {
		c.nodes[first].host.Replica(sh.ID).Group().Raft().LeadershipTransfer().Error()
		if time.Now().After(deadline) {
			t.Fatal("could not move the leader off the first voter")
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.newLeaderOf(t, "h", first)
	out := c.client(outsider)
	out.SetDirect(false)
	if _, err := out.Insert(ctx, &pb.InsertRequest{Collection: "h", Rows: vecRows([]int64{1, 2}, dim)}); err != nil {
		t.Fatalf("write through a node without a replica: %v", err)
	}
	got, err := out.Get(ctx, &pb.GetRequest{Collection: "h", IntIds: []int64{1, 2}, Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil || len(got.Rows.IntIds) != 2 {
		t.Fatalf("STRONG read through a node without a replica: %v", err)
	}
}
