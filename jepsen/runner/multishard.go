package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/jepsen/workload"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
	"github.com/raftvec/raftvec/rpc/wire"
)

// multiShardBounded: see Controls. A read across shards must keep each
// shard's bound on its own; one cut at the lowest shard's ts lets a shard
// whose leader's clock runs behind drag the other shard's part back.
func multiShardBounded(ctx context.Context, r *run) ([]check.Result, error) {
	e := r.env
	lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lead, keys, err := r.twoShards(lctx)
	if err != nil {
		return nil, err
	}
	all, err := r.client()
	if err != nil {
		return nil, err
	}
	defer all.Close()
	if err := mustOk(upsertOp(e, all, "", 0, keys[1], e.NextVersion())); err != nil {
		return nil, err
	}
	t := r.rec.Now()
	if err := r.cluster.InjectFault(lctx, lead[0], &pb.InjectFaultRequest{ClockOffsetMs: -3000, SetClockOffset: true}); err != nil {
		return nil, err
	}
	r.timeline.Add(t, r.rec.Now(), "clock", fmt.Sprintf("clock of %s (shard 0's leader) offset by -3000ms", r.cluster.Node(lead[0]).ID), []string{r.cluster.Node(lead[0]).ID})
	time.Sleep(300 * time.Millisecond)
	if err := mustOk(upsertOp(e, all, "", 0, keys[1], e.NextVersion())); err != nil {
		return nil, err
	}
	time.Sleep(1500 * time.Millisecond)
	via, err := r.client(lead[0])
	if err != nil {
		return nil, err
	}
	defer via.Close()
	via.SetDirect(false) // the node fans the read out, not the SDK
	node := r.cluster.Node(lead[0]).ID
	read := &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 500}
	served := 0
	for i := 0; i < 5; i++ {
		for _, op := range workload.GetKeys(e, 1+i, via, node, Collection, keys[:], read) {
			if op.Outcome == history.Ok {
				served++
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.cluster.InjectFault(lctx, lead[0], &pb.InjectFaultRequest{SetClockOffset: true}); err != nil {
		return nil, err
	}
	if served == 0 {
		return nil, fmt.Errorf("no BOUNDED read across shards was served: the control shows nothing")
	}
	return []check.Result{check.Bounded(r.rec.Ops())}, nil
}

// twoShards readies a two-shard control: it waits until the collection's
// two shards have different leaders and returns them with a key on each
// shard.
func (r *run) twoShards(ctx context.Context) (lead [2]int, keys [2]int64, err error) {
	d, err := r.cluster.Describe(ctx, Collection)
	if err != nil {
		return lead, keys, err
	}
	if len(d.Shards) != 2 {
		return lead, keys, fmt.Errorf("collection has %d shards, want 2", len(d.Shards))
	}
	if lead, err = r.separateLeaders(ctx, d.Shards[0].Id, d.Shards[1].Id); err != nil {
		return lead, keys, err
	}
	for k := int64(1); keys[0] == 0 || keys[1] == 0; k++ {
		if p := wire.ShardFor(k, "", true, 2); keys[p] == 0 {
			keys[p] = k
		}
	}
	return lead, keys, nil
}

// separateLeaders waits until the two shards are led by different nodes,
// moving the second shard's leadership if need be, and returns the leaders.
func (r *run) separateLeaders(ctx context.Context, a, b uint64) ([2]int, error) {
	ga, gb := fmt.Sprintf("shard-%d", a), fmt.Sprintf("shard-%d", b)
	for {
		ls := r.cluster.Leaders(ctx, Collection)
		la, oka := ls[ga]
		lb, okb := ls[gb]
		if oka && okb && la != lb {
			return [2]int{la, lb}, nil
		}
		if oka && okb {
			to := r.cluster.Node((lb + 1) % r.cluster.Size()).ID
			r.cluster.TransferLeader(ctx, b, to)
		}
		select {
		case <-ctx.Done():
			return [2]int{}, fmt.Errorf("shards %d and %d never had different leaders: %w", a, b, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// multiShardStrong: see Controls. A write acknowledged before another is
// sent must get the lower ts, on whatever shard, or a STRONG read across
// shards at one ts can see the later write without the earlier.
func multiShardStrong(ctx context.Context, r *run) ([]check.Result, error) {
	e := r.env
	lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	lead, keys, err := r.twoShards(lctx)
	if err != nil {
		return nil, err
	}
	// Independent clients: only real time orders their writes.
	var cls [2]*client.Client
	for i := range cls {
		if cls[i], err = r.client(); err != nil {
			return nil, err
		}
		defer cls[i].Close()
	}
	offsets := map[int]int64{lead[0]: -2000, lead[1]: 2000}
	for node, ms := range offsets {
		t := r.rec.Now()
		if err := r.cluster.InjectFault(lctx, node, &pb.InjectFaultRequest{ClockOffsetMs: ms, SetClockOffset: true}); err != nil {
			return nil, err
		}
		defer r.cluster.InjectFault(context.Background(), node, &pb.InjectFaultRequest{SetClockOffset: true})
		r.timeline.Add(t, r.rec.Now(), "clock", fmt.Sprintf("clock of %s offset by %dms", r.cluster.Node(node).ID, ms), []string{r.cluster.Node(node).ID})
	}
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 5; i++ {
		// The fast shard's key first, then the slow shard's.
		for j, shard := range []int{1, 0} {
			if err := mustOk(upsertOp(e, cls[j], "", 1+j, keys[shard], e.NextVersion())); err != nil {
				return nil, err
			}
		}
	}
	reader, err := r.client()
	if err != nil {
		return nil, err
	}
	defer reader.Close()
	for i := 0; i < 3; i++ {
		workload.GetKeys(e, 3, reader, "", Collection, keys[:], &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG})
	}
	ops := r.rec.Ops()
	return []check.Result{check.TsOrder(ops), check.Cut(ops)}, nil
}
