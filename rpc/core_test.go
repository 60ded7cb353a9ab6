package rpc_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

const dim = 4

func mustCreate(t *testing.T, c *testCluster, name string) {
	t.Helper()
	if err := c.client().CreateCollection(ctxT(t, 20*time.Second), &pb.CreateCollectionRequest{
		Schema: &pb.CollectionSchema{Name: name}, Dim: dim, Metric: pb.Metric_L2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
}

func mustInsert(t *testing.T, c *testCluster, coll string, ids []int64) *pb.WriteResponse {
	t.Helper()
	resp, err := c.client().Insert(ctxT(t, 20*time.Second), &pb.InsertRequest{Collection: coll, Rows: vecRows(ids, dim)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func liveRows(t *testing.T, c *testCluster, coll string) int {
	t.Helper()
	rs := c.replicas(coll)
	return rs[0].FSM().Stats().LiveRows
}

// Item 2: all nodes stop and start again; every row is back and no entry is
// applied twice.
func TestRestartAllKeepsRowsWithoutReapplying(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "r")
	for b := 0; b < 5; b++ {
		mustInsert(t, c, "r", seq(b*100, 100))
	}
	before := c.converge("r")[0]
	for i := range c.nodes {
		c.stop(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	c.leaderOf("r")
	got, err := c.client().Get(ctxT(t, 10*time.Second), &pb.GetRequest{Collection: "r", IntIds: seq(0, 500)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows.IntIds) != 500 {
		t.Fatalf("after restart Get found %d of 500 rows", len(got.Rows.IntIds))
	}
	if after := c.converge("r")[0]; after != before {
		t.Fatal("state digest changed across a full restart")
	}
	for _, r := range c.replicas("r") {
		// Wait for the first new entry (a time tick will do): by then the
		// replay of the old log is behind it.
		deadline := time.Now().Add(10 * time.Second)
		for r.FSM().Counters().FirstApplied == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		ct := r.FSM().Counters()
		if ct.OpenedAt == 0 {
			t.Fatalf("%s reopened with no applied index", r.Group().Config().NodeID)
		}
		if ct.FirstApplied != 0 && ct.FirstApplied <= ct.OpenedAt {
			t.Fatalf("%s re-applied entry %d although it had applied up to %d", r.Group().Config().NodeID, ct.FirstApplied, ct.OpenedAt)
		}
		if ct.Skipped == 0 {
			t.Fatalf("%s replayed no log entry, so the skip was not exercised", r.Group().Config().NodeID)
		}
	}
}

// Item 3: a node that was down while the log was compacted catches up
// through InstallSnapshot.
func TestLaggingNodeCatchesUpBySnapshot(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) {
		hc.Raft.SnapshotThreshold = 20
		hc.Raft.TrailingLogs = 5
		hc.Raft.SnapshotInterval = 100 * time.Millisecond
		hc.SealRows = 50
	})
	mustCreate(t, c, "s")
	mustInsert(t, c, "s", seq(0, 10))
	c.converge("s")
	lagging := (c.leaderOf("s") + 1) % 3
	c.stop(lagging)
	for b := 1; b <= 60; b++ {
		mustInsert(t, c, "s", seq(b*10, 10))
	}
	// Wait until the leader has compacted past what the lagging node has.
	li := c.leaderOf("s")
	lr := c.replicas("s")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var first uint64
		for _, r := range lr {
			if r.Group().IsLeader() {
				first = firstLogIndex(t, r)
			}
		}
		if first > 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader %d never compacted its log (first index %d)", li, first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.start(lagging)
	digests := c.converge("s")
	if len(digests) != 3 {
		t.Fatalf("%d replicas, want 3", len(digests))
	}
	nd := c.nodes[lagging]
	ci := nd.host.Meta().Collections["s"]
	r := nd.host.Replica(ci.Shards[0].ID)
	if r.FSM().Counters().Restores == 0 {
		t.Fatal("the lagging node caught up without restoring a snapshot")
	}
	if n := r.FSM().Stats().LiveRows; n != 610 {
		t.Fatalf("lagging node has %d rows, want 610", n)
	}
}

func firstLogIndex(t *testing.T, r *shard.Replica) uint64 {
	t.Helper()
	st := r.Group().Raft().Stats()
	var first uint64
	for k, v := range st {
		if k == "last_snapshot_index" {
			for _, ch := range v {
				first = first*10 + uint64(ch-'0')
			}
		}
	}
	return first
}

// Item 4: after N×threshold rows every replica has the same segments with
// the same rows.
func TestSealingIsIdenticalOnEveryReplica(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 25 })
	mustCreate(t, c, "g")
	for b := 0; b < 8; b++ {
		mustInsert(t, c, "g", seq(b*13, 13)) // batches straddle segment boundaries
	}
	c.converge("g")
	var want []string
	for _, r := range c.replicas("g") {
		var segs []string
		for _, s := range r.FSM().Stats().Segments {
			segs = append(segs, strings.Repeat("s", btoi(s.Sealed))+":"+itoa(int(s.ID))+":"+itoa(s.Rows))
		}
		if want == nil {
			want = segs
		}
		if strings.Join(segs, ",") != strings.Join(want, ",") {
			t.Fatalf("segments differ: %v vs %v", segs, want)
		}
	}
	// 104 rows at 25 per segment: four sealed segments and a growing one.
	if len(want) != 5 || want[3] != "s:4:25" || want[4] != ":5:4" {
		t.Fatalf("segments = %v", want)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itoa(i int) string {
	s := ""
	if i == 0 {
		return "0"
	}
	for i > 0 {
		s = string(rune('0'+i%10)) + s
		i /= 10
	}
	return s
}

// Item 5: deletes are MVCC.
func TestDeleteIsMVCC(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "m")
	mustInsert(t, c, "m", seq(1, 10))
	cl := c.client()
	ctx := ctxT(t, 10*time.Second)
	before := mustInsert(t, c, "m", []int64{100}).Ts
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "m", IntIds: []int64{5}}); err != nil {
		t.Fatal(err)
	}
	q := vecRows([]int64{5}, dim).Vectors
	search := func(asOf uint64) int64 {
		resp, err := cl.Search(ctx, &pb.SearchRequest{Collection: "m", Vectors: q, TopK: 1, Read: &pb.ReadOptions{AsOfTs: asOf}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Results[0].Hits[0].IntId
	}
	if got := search(before); got != 5 {
		t.Fatalf("search as of before the delete found %d, want 5", got)
	}
	if got := search(0); got == 5 {
		t.Fatal("STRONG search after the delete still finds 5")
	}
}

// Item 6: bad input gets INVALID_ARGUMENT or NOT_FOUND, and changes nothing.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "b")
	mustInsert(t, c, "b", seq(1, 3))
	cl := c.client()
	ctx := ctxT(t, 20*time.Second)
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		req  *pb.InsertRequest
		code codes.Code
		msg  string
	}{
		{"wrong dim", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{IntIds: []int64{10}, Vectors: []float32{1, 2, 3}}}, codes.InvalidArgument, "dim is 4"},
		{"NaN", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{IntIds: []int64{10, 11}, Vectors: []float32{1, 2, 3, 4, 1, nan, 3, 4}}}, codes.InvalidArgument, "NaN"},
		{"Inf", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{IntIds: []int64{10}, Vectors: []float32{inf, 2, 3, 4}}}, codes.InvalidArgument, "Inf"},
		{"empty batch", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{}}, codes.InvalidArgument, "empty batch"},
		{"duplicate in batch", &pb.InsertRequest{Collection: "b", Rows: vecRows([]int64{10, 11, 10}, dim)}, codes.InvalidArgument, "appears at rows 0 and 2"},
		{"existing key", &pb.InsertRequest{Collection: "b", Rows: vecRows([]int64{10, 2}, dim)}, codes.InvalidArgument, "already exists"},
		{"unknown collection", &pb.InsertRequest{Collection: "nope", Rows: vecRows([]int64{10}, dim)}, codes.NotFound, `"nope"`},
		{"unknown field", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{IntIds: []int64{10}, Vectors: []float32{1, 2, 3, 4},
			Fields: []*pb.FieldColumn{{Name: "color", Values: []*pb.Value{{Kind: &pb.Value_Varchar{Varchar: "red"}}}}}}}, codes.InvalidArgument, `field "color"`},
		{"too large", &pb.InsertRequest{Collection: "b", Rows: &pb.Rows{IntIds: seq(1000, 4_300_000), Vectors: make([]float32, 4*4_300_000)}}, codes.InvalidArgument, "exceed the limit"},
	}
	digest := c.converge("b")[0]
	for _, tc := range cases {
		_, err := cl.Insert(ctx, tc.req)
		st, _ := status.FromError(err)
		if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: got %v %q; want %v containing %q", tc.name, st.Code(), st.Message(), tc.code, tc.msg)
		}
	}
	_, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "b"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty delete: %v", err)
	}
	_, err = cl.Search(ctx, &pb.SearchRequest{Collection: "b", Vectors: []float32{1, 2}, TopK: 3})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("search with wrong dim: %v", err)
	}
	_, err = cl.Search(ctx, &pb.SearchRequest{Collection: "b", Vectors: []float32{1, 2, 3, 4}, TopK: 0})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("search with top_k 0: %v", err)
	}
	if got := c.converge("b")[0]; got != digest {
		t.Fatal("a refused request changed the state")
	}
	if n := liveRows(t, c, "b"); n != 3 {
		t.Fatalf("%d rows after refused requests, want 3", n)
	}
}
