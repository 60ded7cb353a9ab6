package workload

import (
	"context"
	"path/filepath"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// register: upsert, delete, STRONG get and STRONG exact probe-search on a
// few hot keys; every key is a linearizable register.
type register struct {
	coll     string
	keys     int
	versions *versionLog
}

func (r *register) Name() string         { return "register" }
func (r *register) ServerArgs() []string { return nil }

func (r *register) Op(w *Worker) {
	key := int64(1 + w.Rng.IntN(r.keys))
	switch x := w.Rng.IntN(100); {
	case x < 35:
		upsert(w, r.coll, key, r.versions)
	case x < 45:
		deleteKey(w, r.coll, key)
	case x < 80:
		getKey(w, w.All, "", r.coll, key, strongRead())
	default:
		v, ok := r.versions.pick(w.Rng, key)
		if !ok {
			getKey(w, w.All, "", r.coll, key, strongRead())
			return
		}
		probe(w, r.coll, key, v)
	}
}

func (r *register) Final(ctx context.Context, e *Env, c *client.Client) error {
	_, err := finalGets(ctx, e, c, r.coll, keyRange(r.keys))
	return err
}

func (r *register) Check(h []history.Op, o CheckOptions) []check.Result {
	return []check.Result{
		registerCheck(h, o),
		check.SearchOracle(h),
	}
}

func registerCheck(h []history.Op, o CheckOptions) check.Result {
	return check.Register(h, check.RegisterOptions{
		Timeout:           o.RegisterTimeout,
		VisualizationPath: filepath.Join(o.Dir, "porcupine.html"),
		Nemesis:           o.Nemesis,
	})
}

// --- operations shared by the per-key workloads ---

// upsert writes a new version of key through the worker's all-nodes client.
func upsert(w *Worker, coll string, key int64, log *versionLog) history.Op {
	v := w.env.NextVersion()
	if log != nil {
		log.add(key, v)
	}
	return upsertVia(w, w.All, "", coll, key, v)
}

func upsertVia(w *Worker, c *client.Client, node, coll string, key, v int64) history.Op {
	return w.Do(history.Op{Kind: history.Upsert, Key: key, Value: v, Node: node}, func(ctx context.Context, op *history.Op) error {
		resp, err := c.Upsert(ctx, &pb.InsertRequest{Collection: coll, Rows: &pb.Rows{IntIds: []int64{key}, Vectors: Vector(key, v)}})
		if err == nil {
			op.Ts, op.SessionToken = resp.Ts, c.SessionToken()
		}
		return err
	})
}

func deleteKey(w *Worker, coll string, key int64) history.Op {
	return deleteVia(w, w.All, "", coll, key)
}

func deleteVia(w *Worker, c *client.Client, node, coll string, key int64) history.Op {
	return w.Do(history.Op{Kind: history.Delete, Key: key, Node: node}, func(ctx context.Context, op *history.Op) error {
		resp, err := c.Delete(ctx, &pb.DeleteRequest{Collection: coll, IntIds: []int64{key}})
		if err == nil {
			op.Ts, op.SessionToken = resp.Ts, c.SessionToken()
		}
		return err
	})
}

func level(ro *pb.ReadOptions) history.Level {
	switch ro.GetLevel() {
	case pb.ConsistencyLevel_BOUNDED:
		return history.Bounded
	case pb.ConsistencyLevel_SESSION:
		return history.Session
	case pb.ConsistencyLevel_EVENTUAL:
		return history.Eventual
	}
	return history.Strong
}

// getKey reads one key at ro through c (node names c's only node, or "").
func getKey(w *Worker, c *client.Client, node, coll string, key int64, ro *pb.ReadOptions) history.Op {
	op := history.Op{Kind: history.Get, Key: key, Level: level(ro), Node: node}
	if ro.GetLevel() == pb.ConsistencyLevel_BOUNDED {
		op.MaxStaleness = msDuration(ro.MaxStalenessMs)
	}
	return w.Do(op, func(ctx context.Context, op *history.Op) error {
		got, ts, err := GetVersions(ctx, c, coll, []int64{key}, ro)
		if err != nil {
			return err
		}
		op.Value = history.Absent
		if v, ok := got[key]; ok {
			op.Value = v
		}
		op.Ts, op.SessionToken = ts, c.SessionToken()
		return nil
	})
}

// probe searches STRONG for the exact vector of (key, v): key among the
// results, with its decoded version, says which version key has.
func probe(w *Worker, coll string, key, v int64) history.Op {
	return w.Do(history.Op{Kind: history.Probe, Key: key, Value: v, Level: history.Strong}, func(ctx context.Context, op *history.Op) error {
		keys, vers, scores, ts, err := searchHits(ctx, w.All, coll, Vector(key, v), 3, strongRead())
		if err != nil {
			return err
		}
		op.Keys, op.Values, op.Distances, op.Ts = keys, vers, scores, ts
		return nil
	})
}
