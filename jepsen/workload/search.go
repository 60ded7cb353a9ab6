package workload

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/raftvec/raftvec/jepsen/check"
	"github.com/raftvec/raftvec/jepsen/history"
	"github.com/raftvec/raftvec/rpc/client"
	"github.com/raftvec/raftvec/rpc/pb"
)

// searchTopK is the k of every search of the search workload.
const searchTopK = 10

// finalQueries is how many searches are checked against brute force after
// quiescence.
const finalQueries = 25

// searchOracle: upserts and deletes over a few hundred keys, searches at
// STRONG, SESSION and EVENTUAL during the run (no phantom, no resurrected
// key), and after quiescence FLAT searches compared with a brute-force
// search over the final state.
type searchOracle struct {
	coll string
	keys int

	final   map[int64][]float32
	queries []check.Query
}

func (s *searchOracle) Name() string         { return "search" }
func (s *searchOracle) ServerArgs() []string { return nil }

func (s *searchOracle) Op(w *Worker) {
	key := int64(1 + w.Rng.IntN(s.keys))
	switch x := w.Rng.IntN(100); {
	case x < 35:
		upsert(w, s.coll, key, nil)
	case x < 45:
		deleteKey(w, s.coll, key)
	default:
		ro := strongRead()
		switch y := w.Rng.IntN(10); {
		case y < 2:
			ro = &pb.ReadOptions{Level: pb.ConsistencyLevel_SESSION}
		case y < 4:
			ro = &pb.ReadOptions{Level: pb.ConsistencyLevel_EVENTUAL}
		}
		q := RandomQuery(w.Rng)
		w.Do(history.Op{Kind: history.Search, Level: level(ro)}, func(ctx context.Context, op *history.Op) error {
			keys, vers, scores, ts, err := searchHits(ctx, w.All, s.coll, q, searchTopK, ro)
			op.Keys, op.Values, op.Distances, op.Ts = keys, vers, scores, ts
			return err
		})
	}
}

func (s *searchOracle) Final(ctx context.Context, e *Env, c *client.Client) error {
	s.final, s.queries = nil, nil
	got, err := finalGets(ctx, e, c, s.coll, keyRange(s.keys))
	if err != nil {
		return err
	}
	s.final = map[int64][]float32{}
	for k, v := range got {
		if v != NoVersion {
			s.final[k] = Vector(k, v)
		}
	}
	r := rand.New(rand.NewPCG(uint64(len(got)), 7))
	for i := range finalQueries {
		q := RandomQuery(r)
		call := e.Rec.Now()
		keys, vers, scores, ts, err := searchHits(ctx, c, s.coll, q, searchTopK, strongRead())
		if err != nil {
			return fmt.Errorf("final search %d: %w", i, err)
		}
		op := e.Rec.Record(history.Op{Process: FinalProcess + i, Kind: history.Search, Level: history.Strong, Final: true,
			Keys: keys, Values: vers, Distances: scores, Ts: ts, Call: call, Return: max(e.Rec.Now(), call), Outcome: history.Ok})
		s.queries = append(s.queries, check.Query{ID: op.ID, Vector: q, K: searchTopK, IDs: keys, Distances: scores})
	}
	return nil
}

func (s *searchOracle) Check(h []history.Op, o CheckOptions) []check.Result {
	out := []check.Result{check.SearchOracle(h), check.NoResurrection(h), registerCheck(h, o)}
	if s.final != nil {
		out = append(out, check.FinalSearch(s.final, s.queries, SquaredL2, check.FinalSearchOptions{}))
	}
	return out
}
