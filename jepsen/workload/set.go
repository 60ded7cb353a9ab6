package workload

import (
	"context"
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
// EVENTUAL from one node at a time; final read after heal.
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
	default:
		insertNew(w, s.coll, &s.ins)
	}
}

func (s *set) Final(ctx context.Context, e *Env, c *client.Client) error {
	return finalReadAll(ctx, e, c, s.coll, s.ins.all())
}

func (s *set) Check(h []history.Op, _ CheckOptions) []check.Result {
	return []check.Result{check.Set(h)}
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
