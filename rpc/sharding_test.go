package rpc_test

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/client"
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
	// Batch b holds keys of shard b%3 only: a batch across shards goes
	// through the server, which validates it whole before splitting it.
	on := keysOnShards(3, 41*30)
	batch := func(b int) []int64 { return on[b%3][b/3*30 : b/3*30+30] }
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(batch(0), dim)}); err != nil {
		t.Fatal(err) // warms the routing table
	}
	before := c.forwarded()
	for b := 1; b <= 50; b++ {
		if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(batch(b), dim)}); err != nil {
			t.Fatal(err)
		}
	}
	if fw := c.forwarded() - before; fw > 5 {
		t.Fatalf("50 writes over 3 shards made the servers forward %d requests; the SDK should go straight to leaders", fw)
	}
	// Without the routing table the same writes are forwarded (by a node
	// that does not lead every shard: leaders are not balanced yet).
	ci := c.nodes[0].host.Meta().Collections["r"]
	via, followed := -1, -1
	for i, nd := range c.nodes {
		for p, sh := range ci.Shards {
			if r := nd.host.Replica(sh.ID); r != nil && !r.Group().IsLeader() {
				via, followed = i, p
			}
		}
	}
	if via < 0 {
		t.Fatal("no node is a follower of any shard")
	}
	plain := c.client(via)
	plain.SetDirect(false)
	before = c.forwarded()
	for k := 0; k < 10; k++ {
		// Keys of a shard that node via does not lead.
		keys := on[followed][31*30+k*30 : 31*30+k*30+30]
		if _, err := plain.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(keys, dim)}); err != nil {
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
		if _, err := cl2.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(batch(b), dim)}); err != nil {
			t.Fatalf("write after the leader stopped: %v", err)
		}
	}
	before = c.forwarded()
	for b := 71; b <= 90; b++ {
		if _, err := cl2.Insert(ctx, &pb.InsertRequest{Collection: "r", Rows: vecRows(batch(b), dim)}); err != nil {
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

// A batch across shards with one bad row is refused as a whole: no shard
// writes its part (the receiving node validates the whole batch before it
// splits it).
func TestBadRowRefusesTheWholeBatchAcrossShards(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client()
	sc := &pb.CollectionSchema{Name: "bb", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "vector", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: pb.Metric_L2},
		{Name: "small", Type: pb.FieldType_INT8},
	}}
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: sc, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	on := keysOnShards(2, 2)
	ids := []int64{on[0][0], on[1][0], on[0][1], on[1][1]}
	small := func(vs ...int64) *pb.FieldColumn {
		col := &pb.FieldColumn{Name: "small"}
		for _, v := range vs {
			col.Values = append(col.Values, &pb.Value{Kind: &pb.Value_Int64{Int64: v}})
		}
		return col
	}
	vecs := []float32{1, 1, 2, 2, 3, 3, 4, 4}
	good := &pb.Rows{IntIds: ids, Vectors: vecs, Fields: []*pb.FieldColumn{small(1, 2, 3, 4)}}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "bb", Rows: good}); err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	fresh := []int64{on[0][0] + 1000003, on[1][0] + 1000003}
	plain := c.client()
	plain.SetDirect(false)
	for _, tc := range []struct {
		name   string
		upsert bool
		rows   *pb.Rows
		msg    string
	}{
		// Only the last row is bad; it is on shard 1, the others on both.
		{"out of range", true, &pb.Rows{IntIds: ids, Vectors: vecs, Fields: []*pb.FieldColumn{small(5, 6, 7, 300)}}, `"small": 300 is out of range for INT8`},
		{"NaN", true, &pb.Rows{IntIds: ids, Vectors: []float32{5, 5, 6, 6, 7, 7, 8, nan}, Fields: []*pb.FieldColumn{small(5, 6, 7, 8)}}, "NaN"},
		{"null in a required field", false, &pb.Rows{IntIds: append(fresh, ids[3]+2000003), Vectors: vecs[:6],
			Fields: []*pb.FieldColumn{{Name: "small", Values: []*pb.Value{{Kind: &pb.Value_Int64{Int64: 1}}, {Kind: &pb.Value_Int64{Int64: 1}}, {}}}}}, "is null"},
	} {
		// Through the SDK's routing table and through a node's fan-out.
		for _, via := range []*client.Client{cl, plain} {
			req := &pb.InsertRequest{Collection: "bb", Rows: tc.rows}
			var err error
			if tc.upsert {
				_, err = via.Upsert(ctx, req)
			} else {
				_, err = via.Insert(ctx, req)
			}
			if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("%s: got %v; want InvalidArgument containing %q", tc.name, err, tc.msg)
			}
		}
	}
	got, err := cl.Query(ctx, &pb.QueryRequest{Collection: "bb", OutputFields: []string{"small"}, Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Rows.IntIds); n != 4 {
		t.Fatalf("after the refused batches the collection has %d rows, want 4", n)
	}
	want := map[int64]int64{ids[0]: 1, ids[1]: 2, ids[2]: 3, ids[3]: 4}
	for i, id := range got.Rows.IntIds {
		if v := got.Rows.Fields[0].Values[i].GetInt64(); v != want[id] {
			t.Errorf("row %d: small = %d, want %d (a refused upsert wrote it)", id, v, want[id])
		}
	}
}
