package workload

import (
	"context"
	"sync"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// noResurrection: unique inserts, deletes of acknowledged keys (each key is
// inserted once and deleted at most once), and reads of deleted keys at
// every level by get and by exact probe-search, with small segments, an
// HNSW index built on every sealed segment, automatic compaction and a low
// snapshot threshold, so that sealing, index builds, compactions, snapshots
// and InstallSnapshot happen while keys are being deleted.
type noResurrection struct {
	coll string
	ins  attempted

	mu      sync.Mutex
	live    []int64 // inserts acknowledged, no delete invoked
	deleted []int64 // deletes invoked, most recent last
}

func (n *noResurrection) Name() string { return "no-resurrection" }
func (n *noResurrection) ServerArgs() []string {
	return []string{"--seal-rows", "40", "--snapshot-threshold", "128", "--trailing-logs", "64"}
}

// Setup creates an HNSW index, so that sealed segments are searched
// through an index built in the background (and rebuilt on compaction).
func (n *noResurrection) Setup(ctx context.Context, c *client.Client, collection string) error {
	return c.CreateIndex(ctx, &pb.CreateIndexRequest{Collection: collection, IndexType: "HNSW", M: 8, EfConstruction: 32})
}

func (n *noResurrection) takeLive(w *Worker) (int64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.live) == 0 {
		return 0, false
	}
	i := w.Rng.IntN(len(n.live))
	k := n.live[i]
	n.live[i] = n.live[len(n.live)-1]
	n.live = n.live[:len(n.live)-1]
	n.deleted = append(n.deleted, k)
	return k, true
}

func (n *noResurrection) recentDeleted(w *Worker) (int64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.deleted) == 0 {
		return 0, false
	}
	recent := n.deleted[max(0, len(n.deleted)-50):]
	return recent[w.Rng.IntN(len(recent))], true
}

func (n *noResurrection) Op(w *Worker) {
	x := w.Rng.IntN(100)
	if w.Index == 0 && x < 30 {
		readAll(w, w.All, "", n.coll, n.ins.all(), strongRead())
		return
	}
	switch {
	case x < 35:
		if op := insertNew(w, n.coll, &n.ins); op.Outcome == history.Ok {
			n.mu.Lock()
			n.live = append(n.live, op.Key)
			n.mu.Unlock()
		}
		return
	case x < 55:
		if k, ok := n.takeLive(w); ok {
			deleteKey(w, n.coll, k)
			return
		}
	}
	k, ok := n.recentDeleted(w)
	if !ok {
		return
	}
	if x >= 85 {
		probe(w, n.coll, k, k)
		return
	}
	node := w.Rng.IntN(w.env.Cluster.Size())
	c, id := w.Node(node), w.env.Cluster.Node(node).ID
	var ro *pb.ReadOptions
	switch w.Rng.IntN(4) {
	case 0:
		ro, c, id = strongRead(), w.All, ""
	case 1:
		ro = &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: 500}
	case 2:
		ro, c, id = &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION}, w.All, ""
	default:
		ro = &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}
	}
	getKey(w, c, id, n.coll, k, ro)
}

func (n *noResurrection) Final(ctx context.Context, e *Env, c *client.Client) error {
	return finalReadAll(ctx, e, c, n.coll, n.ins.all())
}

func (n *noResurrection) Check(h []history.Op, _ CheckOptions) []check.Result {
	return []check.Result{check.NoResurrection(h), check.Set(h), check.SearchOracle(h)}
}
