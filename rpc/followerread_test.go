package rpc_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/shard"
)

// A follower serves STRONG reads itself: it asks the leader for a read
// index and applies up to it first. Here the follower is held back (it has
// not applied the write when the read arrives) and the leader is cut off
// from everyone right after it answered the read index: the read must
// still return the acknowledged write, never the older state the follower
// had (the held-back follower gives up waiting and forwards the read, which
// reaches the new leader). The same run against a follower that skips the
// wait (the negative control --unsafe-follower-no-wait) returns the older
// state, so the check can fail.
func TestFollowerStrongReadAfterLeaderIsCutOff(t *testing.T) {
	t.Run("safe", func(t *testing.T) { followerReadAfterCut(t, false) })
	t.Run("unsafe control", func(t *testing.T) { followerReadAfterCut(t, true) })
}

func followerReadAfterCut(t *testing.T, unsafe bool) {
	c := mustCluster(t, 3, func(hc *shard.HostConfig) { hc.Unsafe.FollowerNoWait = unsafe })
	mustCreate(t, c, "fr")
	ctx := ctxT(t, 60*time.Second)
	c.converge("fr")
	lead := c.leaderOf("fr")
	f := (lead + 1) % 3
	sh := c.nodes[lead].host.Meta().Collections["fr"].Shards[0]
	cl := c.client()
	if _, err := cl.Upsert(ctx, &pb.InsertRequest{Collection: "fr", Rows: versionRows(5, 1)}); err != nil {
		t.Fatal(err)
	}
	c.converge("fr")
	if _, err := cl.InjectFault(ctx, c.nodes[f].api, &pb.InjectFaultRequest{ApplyDelayMs: 1000, SetApplyDelay: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client(lead).Upsert(ctx, &pb.InsertRequest{Collection: "fr", Rows: versionRows(5, 2)}); err != nil {
		t.Fatal(err)
	}
	var answered atomic.Int32
	var release sync.WaitGroup
	defer release.Wait()
	srv, fHost := c.nodes[f].srv, c.nodes[f].host
	c.nodes[f].host.SetReadIndexForwarder(func(ctx context.Context, leaderID string, shardID uint64) (uint64, error) {
		idx, err := srv.ReadIndexFrom(ctx, leaderID, shardID)
		if err == nil && shardID == sh.ID && answered.Add(1) == 1 {
			// The leader answered; now it is cut off, on both sides.
			for j, nd := range c.nodes {
				if j != lead {
					nd.host.Mux().Block(c.nodes[lead].raft, true)
					c.nodes[lead].host.Mux().Block(nd.raft, true)
				}
			}
			// The follower is released a moment later, so that the
			// majority side can serve (it may elect the follower itself).
			release.Add(1)
			go func() {
				defer release.Done()
				time.Sleep(300 * time.Millisecond)
				fHost.SetApplyDelay(0)
			}()
		}
		return idx, err
	})
	defer c.heal(t)
	fOnly := c.client(f)
	fOnly.SetDirect(false)
	resp, err := fOnly.Get(ctx, &pb.GetRequest{Collection: "fr", IntIds: []int64{5}, OutputFields: []string{"vector"},
		Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
	if err != nil {
		t.Fatal(err)
	}
	if answered.Load() == 0 {
		t.Fatal("the follower did not ask the leader for a read index")
	}
	v := readVersion(t, resp)
	switch {
	case unsafe && v == 2:
		t.Fatal("the unsafe follower saw the write it had not applied: the test does not hold the follower back")
	case !unsafe && v != 2:
		t.Fatalf("STRONG on the follower returned version %v; the last acknowledged write is version 2", v)
	}
	cl.InjectFault(ctx, c.nodes[f].api, &pb.InjectFaultRequest{SetApplyDelay: true})
}

// Followers that keep up serve STRONG reads themselves: a client that
// knows only a follower gets linearizable reads without the follower
// forwarding them to the leader.
func TestFollowerServesStrongReads(t *testing.T) {
	c := mustCluster(t, 3, nil)
	mustCreate(t, c, "fs")
	ctx := ctxT(t, 60*time.Second)
	c.converge("fs")
	f := (c.leaderOf("fs") + 1) % 3
	writer := c.client()
	reader := c.client(f)
	reader.SetDirect(false)
	before := c.nodes[f].srv.Forwarded()
	const n = 20
	for v := 1; v <= n; v++ {
		if _, err := writer.Upsert(ctx, &pb.InsertRequest{Collection: "fs", Rows: versionRows(9, float32(v))}); err != nil {
			t.Fatal(err)
		}
		resp, err := reader.Get(ctx, &pb.GetRequest{Collection: "fs", IntIds: []int64{9}, OutputFields: []string{"vector"},
			Read: &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG}})
		if err != nil {
			t.Fatal(err)
		}
		if got := readVersion(t, resp); got != float32(v) {
			t.Fatalf("STRONG read via the follower after write %d returned version %v", v, got)
		}
	}
	// A follower more than followerCatchUp behind forwards; on a loaded
	// machine a few may, most must not.
	if fw := c.nodes[f].srv.Forwarded() - before; fw > n/4 {
		t.Fatalf("the follower forwarded %d of %d STRONG reads instead of serving them", fw, n)
	}
}
