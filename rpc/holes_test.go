package rpc_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
	"github.com/raftvec/raftvec/shard"
)

// Regression tests for holes in the promises found in review: each failed
// before its fix.

func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), field) {
		t.Fatalf("%s: %v, want INVALID_ARGUMENT naming %s", what, err, field)
	}
}

// A client cannot move a shard's clock: as-of values and session tokens far
// ahead of the clock are refused, naming the field, and change nothing.
func TestClientTimestampsAreChecked(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "ts")
	ctx := ctxT(t, 60*time.Second)
	c.converge("ts")
	lead := c.leaderOf("ts")
	cl := c.client(lead)
	mustInsert(t, c, "ts", []int64{1})
	future := shard.MakeTs(time.Now().Add(11 * time.Minute))
	for _, read := range []*pb.ReadOptions{
		{AsOfTs: math.MaxUint64},
		{AsOfTs: future},
		{Level: pb.ConsistencyLevel_SESSION, SessionToken: future},
		{Level: pb.ConsistencyLevel_SESSION, SessionToken: math.MaxUint64},
	} {
		field := "as_of_ts"
		if read.SessionToken != 0 {
			field = "session_token"
		}
		_, err := cl.Get(ctx, &pb.GetRequest{Collection: "ts", IntIds: []int64{1}, Read: read})
		wantInvalid(t, "get with "+read.String(), err, field)
	}
	_, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "ts", Rows: vecRows([]int64{2}, dim), SessionToken: future})
	wantInvalid(t, "insert with a future session token", err, "session_token")
	_, err = cl.Delete(ctx, &pb.DeleteRequest{Collection: "ts", IntIds: []int64{1}, SessionToken: math.MaxUint64})
	wantInvalid(t, "delete with a MaxUint64 session token", err, "session_token")

	// Nothing moved: the shard's ts is near now, row 1 is visible, and the
	// next write gets an ordinary ts.
	w := mustInsert(t, c, "ts", []int64{3})
	if limit := shard.MakeTs(time.Now().Add(time.Minute)); w.Ts > limit {
		t.Fatalf("a write after the refused requests got ts %d, %v ahead", w.Ts, time.Until(shard.TsTime(w.Ts)))
	}
	got, err := cl.Get(ctx, &pb.GetRequest{Collection: "ts", IntIds: []int64{1, 3}, Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil || len(got.Rows.IntIds) != 2 {
		t.Fatalf("STRONG get of rows 1 and 3: %v %v", got, err)
	}
}

// An acknowledged write retried with its request id after the leader's
// clock jumped eleven minutes ahead gets its first answer, not
// ALREADY_EXISTS: the dedup window does not run on op time.
func TestRetryAfterLeaderClockJump(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "cj")
	ctx := ctxT(t, 60*time.Second)
	c.converge("cj")
	lead := c.leaderOf("cj")
	cl := c.client(lead)
	req := &pb.InsertRequest{Collection: "cj", Rows: vecRows([]int64{1}, dim), RequestId: "once"}
	first, err := cl.Insert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.InjectFault(ctx, c.nodes[lead].api, &pb.InjectFaultRequest{ClockOffsetMs: 11 * 60 * 1000, SetClockOffset: true}); err != nil {
		t.Fatal(err)
	}
	defer cl.InjectFault(ctx, c.nodes[lead].api, &pb.InjectFaultRequest{SetClockOffset: true})
	mustInsert(t, c, "cj", []int64{2})
	time.Sleep(300 * time.Millisecond) // a few ticks at the new clock
	again, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "cj", Rows: vecRows([]int64{1}, dim), RequestId: "once"})
	if err != nil {
		t.Fatalf("retry of an acknowledged write after an 11-minute clock jump: %v", err)
	}
	if again.Ts != first.Ts {
		t.Fatalf("retry answered ts %d, want the first attempt's %d", again.Ts, first.Ts)
	}
}

// A retried delete by filter deletes every matching row, even when the
// first attempt applied only its first chunk; and a different request under
// a used request id is refused rather than answered with the first result.
func TestRetriedDeleteByFilterAndReusedIDs(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.Limits.MaxBatchRows = 4 })
	mustCreate(t, c, "df")
	ctx := ctxT(t, 60*time.Second)
	c.converge("df")
	mustInsert(t, c, "df", []int64{1, 2, 3, 4})
	mustInsert(t, c, "df", []int64{5, 6, 7, 8})
	mustInsert(t, c, "df", []int64{9, 10})
	lead := c.leaderOf("df")
	r := c.replicaOn(lead, "df")
	// The first attempt resolved ids 1..10 into chunks and applied the
	// first one, then the client lost its answer.
	first := []int64{1, 2, 3, 4}
	if _, err := r.Delete(ctx, first, nil, shard.DeleteChunkID("del", first, nil), 0); err != nil {
		t.Fatal(err)
	}
	cl := c.client(lead)
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "df", Filter: "id < 100", RequestId: "del"}); err != nil {
		t.Fatal(err)
	}
	left, err := cl.Query(ctx, &pb.QueryRequest{Collection: "df", Filter: "id < 100"})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Rows.IntIds) != 0 {
		t.Fatalf("after the retried delete by filter, rows %v still match", left.Rows.IntIds)
	}

	// Reusing a request id for another request is refused and changes nothing.
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "df", Rows: vecRows([]int64{20}, dim), RequestId: "same"}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.Delete(ctx, &pb.DeleteRequest{Collection: "df", IntIds: []int64{20}, RequestId: "same"})
	wantInvalid(t, "delete under the request id of an insert", err, "request_id")
	got, err := cl.Get(ctx, &pb.GetRequest{Collection: "df", IntIds: []int64{20}})
	if err != nil || len(got.Rows.IntIds) != 1 {
		t.Fatalf("row 20 after the refused delete: %v %v", got, err)
	}
	// The same request under its id is still answered as the first time.
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "df", Rows: vecRows([]int64{20}, dim), RequestId: "same"}); err != nil {
		t.Fatalf("retry of the insert: %v", err)
	}
}

// A current-state read that a compaction overtakes between picking its ts
// and reading is answered, not failed with OUT_OF_RANGE.
func TestReadRacingCompaction(t *testing.T) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.SealRows = 100; hc.CompactInterval = 0 })
	rows := mustScalarCollection(t, c, "rc", 600)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client()
	var del []int64
	for _, r := range rows[:300] {
		if r.id%2 == 0 {
			del = append(del, r.id)
		}
	}
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "rc", IntIds: del}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	compacted := 0
	sh := c.nodes[0].host.Meta().Collections["rc"].Shards[0]
	// The replica serving the read (the leader, or a follower after its
	// read index) has its ts; now the leader compacts, and the serving
	// replica applies the compaction before it reads.
	shard.TestHookAfterReadTs = func(r *shard.Replica) {
		once.Do(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var leader *shard.Replica
			for _, nd := range c.nodes {
				if lr := nd.host.Replica(sh.ID); lr != nil && lr.Group().IsLeader() {
					leader = lr
				}
			}
			if leader == nil {
				t.Error("no leader to compact on")
				return
			}
			n, err := leader.Compact(cctx, true)
			if err != nil {
				t.Errorf("compaction: %v", err)
			}
			idx, _ := leader.Group().Applied()
			if err := r.Group().WaitApplied(cctx, idx); err != nil {
				t.Errorf("the serving replica did not apply the compaction: %v", err)
			}
			compacted = n
		})
	}
	defer func() { shard.TestHookAfterReadTs = nil }()
	q, err := cl.Query(ctx, &pb.QueryRequest{Collection: "rc", Filter: "id >= 0", Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		t.Fatalf("STRONG query overtaken by a compaction: %v", err)
	}
	if compacted == 0 {
		t.Fatal("no compaction ran between the read's ts and its read; the test shows nothing")
	}
	if want := 600 - len(del); len(q.Rows.IntIds) != want {
		t.Fatalf("query returned %d rows, want %d", len(q.Rows.IntIds), want)
	}
}

// shardLeaders returns, for each shard of coll, the index of the node
// leading it (-1 if none is ready).
func (c *testCluster) shardLeaders(coll string) []int {
	ci := c.nodes[0].host.Meta().Collections[coll]
	out := make([]int, len(ci.Shards))
	for s, sh := range ci.Shards {
		out[s] = -1
		for i, nd := range c.nodes {
			if nd.host == nil {
				continue
			}
			if r := nd.host.Replica(sh.ID); r != nil && r.Group().IsLeader() {
				out[s] = i
			}
		}
	}
	return out
}

// separateLeaders waits until shards 0 and 1 of coll are led by different
// nodes, moving shard 1's leadership if they are not.
func (c *testCluster) separateLeaders(t *testing.T, coll string) (a, b int) {
	t.Helper()
	ci := c.nodes[0].host.Meta().Collections[coll]
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		l := c.shardLeaders(coll)
		if l[0] >= 0 && l[1] >= 0 && l[0] != l[1] {
			return l[0], l[1]
		}
		if l[0] >= 0 && l[0] == l[1] {
			other := c.nodes[(l[1]+1)%len(c.nodes)].id
			c.nodes[l[1]].host.Replica(ci.Shards[1].ID).Group().TransferLeadership(other)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("shards 0 and 1 never had different leaders")
	return 0, 0
}

// A BOUNDED read across shards keeps its bound on every shard even when
// the leader of another shard has a clock behind: each shard's part is
// checked at its own level, not read as of the lowest shard's ts.
func TestMultiShardBoundedUnderClockSkew(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	if err := c.client().CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "mb"}, Dim: dim, Metric: pb.Metric_L2, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	c.converge("mb")
	a, _ := c.separateLeaders(t, "mb")
	key := keysOnShards(2, 1)[1][0]
	cl := c.client()
	if _, err := cl.Upsert(ctx, &pb.InsertRequest{Collection: "mb", Rows: versionRows(key, 1)}); err != nil {
		t.Fatal(err)
	}
	// Shard 0's leader's clock falls 3 s behind.
	if _, err := cl.InjectFault(ctx, c.nodes[a].api, &pb.InjectFaultRequest{ClockOffsetMs: -3000, SetClockOffset: true}); err != nil {
		t.Fatal(err)
	}
	defer cl.InjectFault(ctx, c.nodes[a].api, &pb.InjectFaultRequest{SetClockOffset: true})
	time.Sleep(300 * time.Millisecond)
	if _, err := cl.Upsert(ctx, &pb.InsertRequest{Collection: "mb", Rows: versionRows(key, 2)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	// Through shard 0's leader, without the SDK's routing: the server fans out.
	via := c.client(a)
	via.SetDirect(false)
	bounded := &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 500}
	for _, ids := range [][]int64{{key}, {key, 1000, 1001, 1002, 1003}} {
		resp, err := via.Get(ctx, &pb.GetRequest{Collection: "mb", IntIds: ids, OutputFields: []string{"vector"}, Read: bounded})
		if err != nil {
			t.Fatalf("BOUNDED(500ms) get of %v: %v", ids, err)
		}
		if v := versionOf(resp.Rows, key); v != 2 {
			t.Fatalf("BOUNDED(500ms) get of %v returned version %v of row %d, 1.5 s after version 2 was acknowledged", ids, v, key)
		}
	}
	q, err := via.Query(ctx, &pb.QueryRequest{Collection: "mb", Filter: "id >= 0", OutputFields: []string{"vector"}, Read: bounded})
	if err != nil {
		t.Fatal(err)
	}
	if v := versionOf(q.Rows, key); v != 2 {
		t.Fatalf("BOUNDED(500ms) query returned version %v of row %d, 1.5 s after version 2 was acknowledged", v, key)
	}
}

// A STRONG read across shards is linearizable when the shard leaders'
// clocks differ (finding 3): two writes acknowledged one after the other,
// by two clients, on two shards, while the read is under way, are seen
// both or neither. With the shards stamping ops from their own clocks
// (Unsafe.LocalTs, as raftvec once did) the read sees the second without
// the first, which shows the test can fail.
func TestMultiShardStrongUnderClockSkew(t *testing.T) {
	for _, local := range []bool{false, true} {
		if violated := strongCutUnderSkew(t, local); violated != local {
			t.Errorf("LocalTs=%v: read saw the later write without the earlier: %v, want %v", local, violated, local)
		}
	}
}

// strongCutUnderSkew runs the scenario once and reports whether the read
// saw the later write without the earlier one.
func strongCutUnderSkew(t *testing.T, local bool) bool {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.Unsafe.LocalTs = local })
	defer func() {
		for i := range c.nodes {
			c.stop(i)
		}
	}()
	ctx := ctxT(t, 60*time.Second)
	if err := c.client().CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "ms"}, Dim: dim, Metric: pb.Metric_L2, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	c.converge("ms")
	a, b := c.separateLeaders(t, "ms")
	on := keysOnShards(2, 1)
	keys := [2]int64{on[0][0], on[1][0]}
	for _, k := range keys {
		if _, err := c.client().Upsert(ctx, &pb.InsertRequest{Collection: "ms", Rows: versionRows(k, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	// Shard 1's leader runs 2 s ahead, shard 0's 2 s behind.
	for node, ms := range map[int]int64{a: -2000, b: 2000} {
		if _, err := c.client().InjectFault(ctx, c.nodes[node].api, &pb.InjectFaultRequest{ClockOffsetMs: ms, SetClockOffset: true}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	var once sync.Once
	rpc.TestHookCut = func(cut uint64) {
		once.Do(func() {
			// Independent clients: only real time orders the two writes.
			w3, err := c.client().Upsert(ctx, &pb.InsertRequest{Collection: "ms", Rows: versionRows(keys[1], 3)})
			if err != nil {
				t.Error(err)
			}
			w4, err := c.client().Upsert(ctx, &pb.InsertRequest{Collection: "ms", Rows: versionRows(keys[0], 4)})
			if err != nil {
				t.Error(err)
			}
			t.Logf("LocalTs=%v: cut at %d; the earlier write at %d, the later at %d", local, cut, w3.GetTs(), w4.GetTs())
		})
	}
	defer func() { rpc.TestHookCut = nil }()
	via := c.client(3 - a - b) // the third node fans out
	via.SetDirect(false)
	resp, err := via.Get(ctx, &pb.GetRequest{Collection: "ms", IntIds: keys[:], OutputFields: []string{"vector"},
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		t.Fatal(err)
	}
	v0, v1 := versionOf(resp.Rows, keys[0]), versionOf(resp.Rows, keys[1])
	t.Logf("LocalTs=%v: STRONG read saw version %v of shard 0's row and %v of shard 1's", local, v0, v1)
	return v0 == 4 && v1 != 3
}

// The timestamp oracle never goes back or hands out a ts twice, across a
// change of metadata leader to a node whose clock is behind: the new
// leader starts above the bound the old one persisted.
func TestOracleSurvivesMetaLeaderChange(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	var last uint64
	take := func(i int) {
		t.Helper()
		for {
			ts, err := c.nodes[i].host.Ts(ctx)
			if err == nil {
				if ts <= last {
					t.Fatalf("node %d got ts %d from the oracle after %d was handed out", i, ts, last)
				}
				last = ts
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i := range c.nodes {
		take(i)
	}
	leader := -1
	for i, nd := range c.nodes {
		if nd.host.MetaGroup().IsLeader() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no metadata leader")
	}
	for i, nd := range c.nodes {
		if i != leader {
			nd.host.Clock().SetOffset(-2 * time.Second)
		}
	}
	c.stop(leader)
	for round := 0; round < 3; round++ {
		for i := range c.nodes {
			if i != leader {
				take(i)
			}
		}
	}
}

// keysOnShards returns each positive int64 key each of shards shards holds,
// the first `each` of them per shard.
func keysOnShards(shards, each int) [][]int64 {
	on := make([][]int64, shards)
	for k, full := int64(1), 0; full < shards; k++ {
		p := wire.ShardFor(k, "", true, shards)
		if len(on[p]) < each {
			if on[p] = append(on[p], k); len(on[p]) == each {
				full++
			}
		}
	}
	return on
}

// versionOf returns the version (first vector component) of row id in
// rows, or -1 if it is missing.
func versionOf(rows *pb.Rows, id int64) float32 {
	for i, x := range rows.IntIds {
		if x == id {
			return rows.Vectors[i*dim]
		}
	}
	return -1
}

// A write across shards that one shard refuses while another applies its
// part is reported as partial (UNKNOWN, naming the shards), not as a
// definite failure; one refused by every shard is a definite failure.
func TestPartialMultiShardWriteIsReported(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 60*time.Second)
	if err := c.client().CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "pw"}, Dim: dim, Metric: pb.Metric_L2, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	c.converge("pw")
	on := keysOnShards(2, 2)
	cl := c.client()
	cl.SetDirect(false)
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pw", Rows: vecRows([]int64{on[1][0]}, dim)}); err != nil {
		t.Fatal(err)
	}
	// Shard 0's key is new, shard 1's exists: shard 1 refuses, shard 0 applies.
	_, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "pw", Rows: vecRows([]int64{on[0][0], on[1][0]}, dim)})
	if status.Code(err) != codes.Unknown || !strings.Contains(err.Error(), "partial") {
		t.Fatalf("insert applied on one shard and refused on the other: %v, want UNKNOWN (partial)", err)
	}
	got, gerr := cl.Get(ctx, &pb.GetRequest{Collection: "pw", IntIds: []int64{on[0][0]}})
	if gerr != nil || len(got.Rows.IntIds) != 1 {
		t.Fatalf("the applied part is not there: %v %v", got, gerr)
	}
	// The same through the SDK's direct path to the shard leaders.
	direct := c.client()
	_, err = direct.Insert(ctx, &pb.InsertRequest{Collection: "pw", Rows: vecRows([]int64{on[0][1], on[1][0]}, dim)})
	if status.Code(err) != codes.Unknown || !strings.Contains(err.Error(), "partial") {
		t.Fatalf("direct insert applied on one shard and refused on the other: %v, want UNKNOWN (partial)", err)
	}
	// Refused on every shard: a definite failure, and nothing changes.
	_, err = cl.Insert(ctx, &pb.InsertRequest{Collection: "pw", Rows: vecRows([]int64{on[0][0], on[1][0]}, dim)})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("insert refused by both shards: %v, want INVALID_ARGUMENT", err)
	}
}
