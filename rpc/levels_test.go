package rpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// The tests of the read levels: each shows a promise kept where a weaker
// level would break it.

// versionRows is one row whose vector encodes a version, so reads can tell
// which write they see.
func versionRows(id int64, version float32) *pb.Rows {
	return &pb.Rows{IntIds: []int64{id}, Vectors: []float32{version, 0, 0, 0}}
}

func readVersion(t *testing.T, resp *pb.GetResponse) float32 {
	t.Helper()
	if len(resp.Rows.IntIds) == 0 {
		return -1
	}
	return resp.Rows.Vectors[0]
}

func (c *testCluster) replicaOn(i int, coll string) *shard.Replica {
	nd := c.nodes[i]
	ci, ok := nd.host.Meta().Collections[coll]
	if !ok {
		return nil
	}
	return nd.host.Replica(ci.Shards[0].ID)
}

// isolate cuts node i's Raft links to every other node, on both sides.
func (c *testCluster) isolate(t *testing.T, i int) {
	t.Helper()
	ctx := ctxT(t, 5*time.Second)
	cl := c.client()
	var others []string
	for j, nd := range c.nodes {
		if j == i {
			continue
		}
		others = append(others, nd.raft)
		if _, err := cl.InjectFault(ctx, nd.api, &pb.InjectFaultRequest{BlockRaftAddrs: []string{c.nodes[i].raft}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.InjectFault(ctx, c.nodes[i].api, &pb.InjectFaultRequest{BlockRaftAddrs: others}); err != nil {
		t.Fatal(err)
	}
}

func (c *testCluster) heal(t *testing.T) {
	t.Helper()
	for _, nd := range c.nodes {
		if nd.host != nil {
			nd.host.Mux().Block("", false)
			for _, a := range nd.host.Mux().Blocked() {
				nd.host.Mux().Block(a, false)
			}
		}
	}
}

// newLeaderOf waits for a leader of coll other than skip that has
// committed an entry of its term.
func (c *testCluster) newLeaderOf(t *testing.T, coll string, skip int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for i := range c.nodes {
			if i == skip || c.nodes[i].host == nil {
				continue
			}
			if r := c.replicaOn(i, coll); r != nil && r.Group().IsLeader() {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				_, err := r.Group().WaitLeader(ctx)
				cancel()
				if err == nil {
					return i
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no new leader")
	return -1
}

// Item 1: a deposed leader answers neither STRONG nor (once its lease has
// run out) BOUNDED reads with its stale state.
func TestDeposedLeaderServesNoStaleRead(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "l")
	ctx := ctxT(t, 60*time.Second)
	if _, err := c.client().Upsert(ctx, &pb.InsertRequest{Collection: "l", Rows: versionRows(1, 1)}); err != nil {
		t.Fatal(err)
	}
	c.converge("l")
	old := c.leaderOf("l")
	// Time ticks renew the lease; on a loaded machine a tick can be late, so
	// wait for the lease rather than expect it at an instant.
	deadline := time.Now().Add(5 * time.Second)
	for !c.replicaOn(old, "l").Group().LeaseValid(time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("the leader of an active shard holds no read lease; the lease path would not be exercised")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.isolate(t, old)
	nl := c.newLeaderOf(t, "l", old)
	if _, err := c.client(nl).Upsert(ctx, &pb.InsertRequest{Collection: "l", Rows: versionRows(1, 2)}); err != nil {
		t.Fatal(err)
	}
	// The new leader has committed: the old one's lease must be gone.
	if c.replicaOn(old, "l").Group().LeaseValid(time.Now()) {
		t.Fatal("the old leader still holds a read lease after a new leader committed")
	}
	oldOnly := c.client(old)
	for _, level := range []pb.ConsistencyLevel{pb.ConsistencyLevel_STRONG, pb.ConsistencyLevel_BOUNDED} {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := oldOnly.Get(rctx, &pb.GetRequest{Collection: "l", IntIds: []int64{1}, OutputFields: []string{"vector"},
			Read: &pb.ReadOptions{Level: level, MaxStalenessMs: 100}})
		cancel()
		if err == nil && readVersion(t, resp) != 2 {
			t.Fatalf("%v read on the deposed leader returned version %v, not the committed 2", level, readVersion(t, resp))
		}
		if err != nil {
			t.Logf("%v read on the deposed leader: %v (refused, as it may be)", level, err)
		}
	}
	c.heal(t)
	resp, err := oldOnly.Get(ctx, &pb.GetRequest{Collection: "l", IntIds: []int64{1}, OutputFields: []string{"vector"}})
	if err != nil || readVersion(t, resp) != 2 {
		t.Fatalf("after heal, STRONG read through the old leader: %v, version %v", err, readVersion(t, resp))
	}
}

// Items 2 and 3: a follower held behind. SESSION waits for the token (also
// a token handed to another client), EVENTUAL does not, BOUNDED with a
// bound shorter than the lag waits and then says how far behind it is.
func TestLevelsOnASlowFollower(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "f")
	ctx := ctxT(t, 60*time.Second)
	c.converge("f")
	slow := (c.leaderOf("f") + 1) % 3
	leaderOnly := c.client(c.leaderOf("f"))
	if _, err := c.client().InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{ApplyDelayMs: 1500, SetApplyDelay: true}); err != nil {
		t.Fatal(err)
	}
	w, err := leaderOnly.Upsert(ctx, &pb.InsertRequest{Collection: "f", Rows: versionRows(7, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Let the follower's state age past the BOUNDED bound used below.
	time.Sleep(300 * time.Millisecond)
	slowOnly := c.client(slow)
	get := func(ro *pb.ReadOptions, d time.Duration) (*pb.GetResponse, error) {
		rctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return slowOnly.Get(rctx, &pb.GetRequest{Collection: "f", IntIds: []int64{7}, OutputFields: []string{"vector"}, Read: ro})
	}
	ev, err := get(&pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if readVersion(t, ev) != -1 {
		t.Fatal("EVENTUAL on the held-back follower already sees the write; the follower is not behind")
	}
	_, err = get(&pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 50}, time.Second)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "behind") {
		t.Fatalf("BOUNDED(50ms) on a follower 1.5s per entry behind: %v; want DEADLINE_EXCEEDED saying how far behind", err)
	}
	// The writer's token handed to a client that only knows the follower.
	slowOnly.SetSessionToken(w.SessionToken)
	ss, err := get(&pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if readVersion(t, ss) != 1 {
		t.Fatal("SESSION read with the writer's token missed the write")
	}
	if ss.SessionToken < w.SessionToken {
		t.Fatal("the session token went backwards")
	}
	c.client().InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{SetApplyDelay: true})
}

// A leader whose clock runs ahead stamps entries in the future, so a
// follower that is behind still has an applied ts that looks fresh. BOUNDED
// on that follower must not answer with state older than the bound: it
// waits for what its leader committed (and then answers) or refuses.
func TestBoundedFollowerWithLeaderClockAhead(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "k")
	ctx := ctxT(t, 60*time.Second)
	c.converge("k")
	lead := c.leaderOf("k")
	slow := (lead + 1) % 3
	cl := c.client()
	if _, err := cl.InjectFault(ctx, c.nodes[lead].api, &pb.InjectFaultRequest{ClockOffsetMs: 3000, SetClockOffset: true}); err != nil {
		t.Fatal(err)
	}
	defer cl.InjectFault(ctx, c.nodes[lead].api, &pb.InjectFaultRequest{SetClockOffset: true})
	// Let the follower apply entries stamped by the skewed clock.
	time.Sleep(200 * time.Millisecond)
	if _, err := cl.InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{ApplyDelayMs: 1500, SetApplyDelay: true}); err != nil {
		t.Fatal(err)
	}
	defer cl.InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{SetApplyDelay: true})
	if _, err := c.client(lead).Upsert(ctx, &pb.InsertRequest{Collection: "k", Rows: versionRows(3, 1)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.client(slow).Get(rctx, &pb.GetRequest{Collection: "k", IntIds: []int64{3}, OutputFields: []string{"vector"},
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 250}})
	if err != nil {
		t.Logf("BOUNDED(250ms) on the held-back follower: %v (refused, as it may be)", err)
		return
	}
	if v := readVersion(t, resp); v != 1 {
		t.Fatalf("BOUNDED(250ms) on a follower returned version %v, 400ms after version 1 was acknowledged", v)
	}
}

// Item 4: a past-ts search sees a row deleted after that ts and not a row
// inserted after it.
func TestPastTimestampReads(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "p")
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	w, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "p", Rows: vecRows([]int64{1}, dim)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Delete(ctx, &pb.DeleteRequest{Collection: "p", IntIds: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "p", Rows: vecRows([]int64{2}, dim)}); err != nil {
		t.Fatal(err)
	}
	for _, level := range []pb.ConsistencyLevel{pb.ConsistencyLevel_STRONG, pb.ConsistencyLevel_EVENTUAL} {
		res, err := cl.Search(ctx, &pb.SearchRequest{Collection: "p", Vectors: vecRows([]int64{2}, dim).Vectors, TopK: 5,
			Read: &pb.ReadOptions{Level: level, AsOfTs: w.Ts}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, h := range res.Results[0].Hits {
			ids = append(ids, h.IntId)
		}
		if len(ids) != 1 || ids[0] != 1 {
			t.Fatalf("%v search as of the first insert returned %v, want [1]", level, ids)
		}
	}
	got, err := cl.Get(ctx, &pb.GetRequest{Collection: "p", IntIds: []int64{1, 2}, Read: &pb.ReadOptions{AsOfTs: w.Ts}})
	if err != nil || len(got.Rows.IntIds) != 1 || got.Rows.IntIds[0] != 1 {
		t.Fatalf("get as of the first insert: %v %v", got, err)
	}
}

// Item 5: a non-voter keeps up and serves SESSION and BOUNDED reads, and
// writes need only a quorum of voters.
func TestAnalyticsNonVoter(t *testing.T) {
	c := mustCluster(t, 4, nil)
	ctx := ctxT(t, 60*time.Second)
	cl := c.client(0, 1, 2)
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Schema: &pb.CollectionSchema{Name: "a"}, Dim: dim, Metric: pb.Metric_L2, Replicas: 3, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := cl.AddReplica(ctx, "a", "n4", true); err != nil {
		t.Fatal(err)
	}
	w := mustInsert(t, c, "a", seq(1, 50))
	c.converge("a", 4)
	st, err := cl.Status(ctx, c.nodes[3].api)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range st.Groups {
		if strings.HasPrefix(g.Group, "shard-") {
			found = true
			if g.Suffrage != "nonvoter" || g.Role != "Follower" {
				t.Fatalf("n4's replica is %s/%s, want a non-voting follower", g.Suffrage, g.Role)
			}
		}
	}
	if !found {
		t.Fatal("n4 reports no shard replica")
	}
	n4 := c.client(3)
	n4.SetSessionToken(w.SessionToken)
	for _, ro := range []*pb.ReadOptions{{Level: pb.ConsistencyLevel_SESSION}, {Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 2000}} {
		got, err := n4.Get(ctx, &pb.GetRequest{Collection: "a", IntIds: seq(1, 50), Read: ro})
		if err != nil || len(got.Rows.IntIds) != 50 {
			t.Fatalf("%v read on the non-voter: %d rows, %v", ro.Level, len(got.GetRows().GetIntIds()), err)
		}
	}
	// Stop the non-voter and one voter: two of three voters still commit.
	c.stop(3)
	c.stop(2)
	if _, err := cl.Insert(ctx, &pb.InsertRequest{Collection: "a", Rows: vecRows(seq(100, 5), dim)}); err != nil {
		t.Fatalf("write with 2 of 3 voters and no non-voter: %v", err)
	}
}

// Item 6: on an idle shard the followers' safe ts keeps advancing, so a
// BOUNDED read on a follower does not wait for a write.
func TestSafeTsAdvancesWhenIdle(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "i")
	mustInsert(t, c, "i", []int64{1})
	c.converge("i")
	f := (c.leaderOf("i") + 1) % 3
	_, before := c.replicaOn(f, "i").Group().Applied()
	time.Sleep(500 * time.Millisecond) // no writes meanwhile
	_, after := c.replicaOn(f, "i").Group().Applied()
	if after <= before {
		t.Fatalf("follower's safe ts did not move on an idle shard (%d → %d)", before, after)
	}
	ctx := ctxT(t, 10*time.Second)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err := c.client(f).Get(rctx, &pb.GetRequest{Collection: "i", IntIds: []int64{1},
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 300}})
	if err != nil || len(got.Rows.IntIds) != 1 {
		t.Fatalf("BOUNDED(300ms) read on an idle follower: %v", err)
	}
}

// A collection's default level applies to reads that name none.
func TestCollectionDefaultLevel(t *testing.T) {
	c := mustCluster(t, 3, nil)
	ctx := ctxT(t, 30*time.Second)
	cl := c.client()
	if err := cl.CreateCollection(ctx, &pb.CreateCollectionRequest{Dim: dim, Metric: pb.Metric_L2, Shards: 1,
		Schema: &pb.CollectionSchema{Name: "d", DefaultConsistency: pb.ConsistencyLevel_EVENTUAL}}); err != nil {
		t.Fatal(err)
	}
	desc, err := cl.DescribeCollection(ctx, "d")
	if err != nil || desc.Schema.DefaultConsistency != pb.ConsistencyLevel_EVENTUAL {
		t.Fatalf("describe: %v %v", desc, err)
	}
	c.converge("d")
	slow := (c.leaderOf("d") + 1) % 3
	cl.InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{ApplyDelayMs: 1500, SetApplyDelay: true})
	defer cl.InjectFault(ctx, c.nodes[slow].api, &pb.InjectFaultRequest{SetApplyDelay: true})
	if _, err := c.client(c.leaderOf("d")).Insert(ctx, &pb.InsertRequest{Collection: "d", Rows: vecRows([]int64{1}, dim)}); err != nil {
		t.Fatal(err)
	}
	// No level named: EVENTUAL, so the held-back follower answers at once
	// without the row. A STRONG read through it sees the row.
	got, err := c.client(slow).Get(ctx, &pb.GetRequest{Collection: "d", IntIds: []int64{1}})
	if err != nil || len(got.Rows.IntIds) != 0 {
		t.Fatalf("default-level read on the held-back follower: %v rows, %v; want 0 rows (EVENTUAL)", len(got.GetRows().GetIntIds()), err)
	}
	got, err = c.client(slow).Get(ctx, &pb.GetRequest{Collection: "d", IntIds: []int64{1}, Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil || len(got.Rows.IntIds) != 1 {
		t.Fatalf("STRONG read: %v", err)
	}
}
