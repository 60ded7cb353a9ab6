package workload

import (
	"context"
	"sync"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// session: every operation of a worker goes to a node chosen at random
// (an analytics replica among them),
// through a client of that node alone; the worker hands its session token
// from one client to the next (SessionToken → SetSessionToken), so reads
// on any node must show the session its own writes and never go back in
// time. Keys are shared between sessions.
type session struct {
	coll string
	keys int

	mu     sync.Mutex
	tokens map[int]uint64 // by worker
}

func (s *session) Name() string         { return "session" }
func (s *session) ServerArgs() []string { return nil }

// NonVoters: one node holds an analytics replica, which SESSION reads
// reach like any other replica.
func (s *session) NonVoters() int { return 1 }

func (s *session) Op(w *Worker) {
	n := w.Rng.IntN(w.env.Cluster.Size())
	c, id := w.Node(n), w.env.Cluster.Node(n).ID
	s.mu.Lock()
	c.SetSessionToken(s.tokens[w.Index])
	s.mu.Unlock()
	key := int64(1 + w.Rng.IntN(s.keys))
	switch x := w.Rng.IntN(100); {
	case x < 35:
		upsertVia(w, c, id, s.coll, key, w.env.NextVersion())
	case x < 40:
		deleteVia(w, c, id, s.coll, key)
	default:
		getKey(w, c, id, s.coll, key, &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION})
	}
	s.mu.Lock()
	s.tokens[w.Index] = max(s.tokens[w.Index], c.SessionToken())
	s.mu.Unlock()
}

func (s *session) Final(ctx context.Context, e *Env, c *client.Client) error {
	_, err := finalGets(ctx, e, c, s.coll, keyRange(s.keys))
	return err
}

func (s *session) Check(h []history.Op, o CheckOptions) []check.Result {
	return []check.Result{check.Session(h), check.NoResurrection(h), registerCheck(h, o)}
}

// bounded: upserts and deletes through any node, BOUNDED reads with a max
// staleness of 100 ms, 250 ms or 1 s from one node at a time (an analytics
// replica among them), and a few STRONG reads.
type bounded struct {
	coll string
	keys int
}

func (b *bounded) Name() string         { return "bounded" }
func (b *bounded) ServerArgs() []string { return nil }

// NonVoters: one node holds an analytics replica, which BOUNDED reads reach
// like any other replica.
func (b *bounded) NonVoters() int { return 1 }

var stalenessMs = []uint32{100, 250, 1000}

func (b *bounded) Op(w *Worker) {
	key := int64(1 + w.Rng.IntN(b.keys))
	switch x := w.Rng.IntN(100); {
	case x < 30:
		upsert(w, b.coll, key, nil)
	case x < 35:
		deleteKey(w, b.coll, key)
	case x < 90:
		n := w.Rng.IntN(w.env.Cluster.Size())
		ro := &pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: stalenessMs[w.Rng.IntN(len(stalenessMs))]}
		getKey(w, w.Node(n), w.env.Cluster.Node(n).ID, b.coll, key, ro)
	default:
		getKey(w, w.All, "", b.coll, key, strongRead())
	}
}

func (b *bounded) Final(ctx context.Context, e *Env, c *client.Client) error {
	_, err := finalGets(ctx, e, c, b.coll, keyRange(b.keys))
	return err
}

func (b *bounded) Check(h []history.Op, o CheckOptions) []check.Result {
	return []check.Result{check.Bounded(h), registerCheck(h, o)}
}
