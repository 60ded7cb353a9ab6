package workload

import (
	"context"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// cut: a register per key, with keys on every shard; upserts and deletes of
// one key, and reads of all keys in one request, which the node (or the
// SDK) fans out across shards: STRONG through any node and BOUNDED from one
// node at a time. Each read is recorded as one Get per key with the
// request's call and return, so the register checker holds every key of a
// STRONG read across shards to linearizability, the cut checker the keys
// of one read together to real-time order, and the bounded checker every
// key of a BOUNDED one to its bound; the ts-order checker holds the
// writes' timestamps to real-time order across shards.
type cut struct {
	coll string
	keys int
}

func (c *cut) Name() string         { return "cut" }
func (c *cut) ServerArgs() []string { return nil }

func (c *cut) Op(w *Worker) {
	key := int64(1 + w.Rng.IntN(c.keys))
	switch x := w.Rng.IntN(100); {
	case x < 35:
		upsert(w, c.coll, key, nil)
	case x < 42:
		deleteKey(w, c.coll, key)
	case x < 72:
		getKeys(w, w.All, "", c.coll, keyRange(c.keys), strongRead())
	default:
		n := w.Rng.IntN(w.env.Cluster.Size())
		ro := &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: stalenessMs[w.Rng.IntN(len(stalenessMs))]}
		getKeys(w, w.Node(n), w.env.Cluster.Node(n).ID, c.coll, keyRange(c.keys), ro)
	}
}

func (c *cut) Final(ctx context.Context, e *Env, cl *client.Client) error {
	_, err := finalGets(ctx, e, cl, c.coll, keyRange(c.keys))
	return err
}

func (c *cut) Check(h []history.Op, o CheckOptions) []check.Result {
	return []check.Result{registerCheck(h, o), check.Bounded(h), check.Cut(h), check.TsOrder(h)}
}

// getKeys is GetKeys for worker w.
func getKeys(w *Worker, c *client.Client, node, coll string, keys []int64, ro *pb.ReadOptions) []history.Op {
	return GetKeys(w.env, w.Process, c, node, coll, keys, ro)
}

// GetKeys reads keys in one request at ro through c and records one Get
// per key, all with the request's call and return (see cut), for process
// proc. A failed read is recorded for the first key only.
func GetKeys(e *Env, proc int, c *client.Client, node, coll string, keys []int64, ro *pb.ReadOptions) []history.Op {
	var got map[int64]int64
	op := history.Op{Process: proc, Kind: history.Get, Key: keys[0], Level: level(ro), Node: node}
	if ro.GetLevel() == pb.ConsistencyLevel_BOUNDED {
		op.MaxStaleness = msDuration(ro.MaxStalenessMs)
	}
	first := Exec(e, op, func(ctx context.Context, op *history.Op) error {
		var ts uint64
		var err error
		got, ts, err = GetVersions(ctx, c, coll, keys, ro)
		if err != nil {
			return err
		}
		op.Value, op.Ts, op.SessionToken = versionOf(got, keys[0]), ts, c.SessionToken()
		return nil
	})
	out := []history.Op{first}
	if first.Outcome != history.Ok {
		return out
	}
	for _, k := range keys[1:] {
		op := first
		op.ID, op.Key, op.Value = 0, k, versionOf(got, k)
		out = append(out, e.Rec.Record(op))
	}
	return out
}

// versionOf is the version of k in a read's answer, or Absent.
func versionOf(got map[int64]int64, k int64) int64 {
	if v, ok := got[k]; ok {
		return v
	}
	return history.Absent
}
