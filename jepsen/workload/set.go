package workload

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// attempted is the list of keys whose insert has been (or is about to be)
// invoked; full reads ask for all of them.
type attempted struct {
	mu   sync.Mutex
	keys []int64
}

func (a *attempted) add(k int64) {
	a.mu.Lock()
	a.keys = append(a.keys, k)
	a.mu.Unlock()
}

func (a *attempted) all() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.keys)
}

// set: unique inserts; worker 0 reads the whole set at STRONG, worker 1 at
// EVENTUAL from one node at a time, worker 2 now and then sends a hostile
// request (a far-future session token or as-of ts) that must be refused and
// must not disturb anything; final read after heal.
type set struct {
	coll string
	ins  attempted
}

func (s *set) Name() string         { return "set" }
func (s *set) ServerArgs() []string { return nil }

func (s *set) Op(w *Worker) {
	switch {
	case w.Index == 0:
		readAll(w, w.All, "", s.coll, s.ins.all(), strongRead())
	case w.Index == 1 && w.Rng.IntN(2) == 0:
		n := w.Rng.IntN(w.env.Cluster.Size())
		readAll(w, w.Node(n), w.env.Cluster.Node(n).ID, s.coll, s.ins.all(), &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL})
	case w.Index == 2 && w.Rng.IntN(3) == 0:
		hostile(w, s.coll, &s.ins)
	default:
		insertNew(w, s.coll, &s.ins)
	}
}

func (s *set) Final(ctx context.Context, e *Env, c *client.Client) error {
	return finalReadAll(ctx, e, c, s.coll, s.ins.all())
}

func (s *set) Check(h []history.Op, _ CheckOptions) []check.Result {
	return []check.Result{check.Set(h), check.Hostile(h)}
}

// hostile sends one request with a ts no node issued: a STRONG read of the
// whole set as of 2^64-1 (the "not deleted" marker) or eleven minutes
// ahead, a SESSION read with a token eleven minutes ahead, or an insert of
// a new key carrying such a token. Each must be refused; were one served,
// the shard's clock would jump and the set checker would see rows vanish or
// retried inserts fail.
func hostile(w *Worker, coll string, ins *attempted) history.Op {
	future := uint64(time.Now().Add(11*time.Minute).UnixMilli()) << 18
	far := []uint64{math.MaxUint64, future}[w.Rng.IntN(2)]
	switch w.Rng.IntN(3) {
	case 0:
		return w.Do(history.Op{Kind: history.ReadAll, Level: history.Strong, Hostile: true}, func(ctx context.Context, op *history.Op) error {
			got, ts, err := readSet(ctx, w.All, coll, ins.all(), &pb.ReadOptions{Level: pb.ConsistencyLevel_STRONG, AsOfTs: far})
			op.Keys, op.Values, op.Ts = got.keys, got.versions, ts
			return err
		})
	case 1:
		return w.Do(history.Op{Kind: history.ReadAll, Level: history.Session, Hostile: true}, func(ctx context.Context, op *history.Op) error {
			got, ts, err := readSet(ctx, w.All, coll, ins.all(), &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION, SessionToken: far})
			op.Keys, op.Values, op.Ts = got.keys, got.versions, ts
			return err
		})
	}
	k := w.env.NextVersion()
	ins.add(k)
	return w.Do(history.Op{Kind: history.Insert, Key: k, Value: k, Hostile: true}, func(ctx context.Context, op *history.Op) error {
		resp, err := w.All.Insert(ctx, &pb.InsertRequest{Collection: coll, Rows: &pb.Rows{IntIds: []int64{k}, Vectors: Vector(k, k)}, SessionToken: far})
		if err == nil {
			op.Ts = resp.Ts
		}
		return err
	})
}

// insertNew inserts a key never used before (its version is the key).
func insertNew(w *Worker, coll string, ins *attempted) history.Op {
	k := w.env.NextVersion()
	ins.add(k)
	return w.Do(history.Op{Kind: history.Insert, Key: k, Value: k}, func(ctx context.Context, op *history.Op) error {
		resp, err := w.All.Insert(ctx, &pb.InsertRequest{Collection: coll, Rows: &pb.Rows{IntIds: []int64{k}, Vectors: Vector(k, k)}})
		if err == nil {
			op.Ts = resp.Ts
		}
		return err
	})
}

// readAll gets every attempted key at ro: the keys found are the set.
func readAll(w *Worker, c *client.Client, node, coll string, keys []int64, ro *pb.ReadOptions) history.Op {
	return w.Do(history.Op{Kind: history.ReadAll, Level: level(ro), Node: node}, func(ctx context.Context, op *history.Op) error {
		got, ts, err := readSet(ctx, c, coll, keys, ro)
		op.Keys, op.Values, op.Ts = got.keys, got.versions, ts
		return err
	})
}

type found struct{ keys, versions []int64 }

func readSet(ctx context.Context, c *client.Client, coll string, keys []int64, ro *pb.ReadOptions) (found, uint64, error) {
	if len(keys) == 0 {
		keys = []int64{0} // a read of nothing still goes through the read path
	}
	got, ts, err := GetVersions(ctx, c, coll, keys, ro)
	if err != nil {
		return found{}, 0, err
	}
	var f found
	for _, k := range keys {
		if v, ok := got[k]; ok {
			f.keys = append(f.keys, k)
			f.versions = append(f.versions, v)
		}
	}
	return f, ts, nil
}

// finalReadAll records one Final STRONG ReadAll.
func finalReadAll(ctx context.Context, e *Env, c *client.Client, coll string, keys []int64) error {
	call := e.Rec.Now()
	got, ts, err := readSet(ctx, c, coll, keys, strongRead())
	if err != nil {
		return err
	}
	e.Rec.Record(history.Op{Process: FinalProcess, Kind: history.ReadAll, Level: history.Strong, Final: true,
		Keys: got.keys, Values: got.versions, Ts: ts, Call: call, Return: max(e.Rec.Now(), call), Outcome: history.Ok})
	return nil
}
