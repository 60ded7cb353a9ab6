package check

import (
	"cmp"

	"math"
	"slices"

	"github.com/raftvec/raftvec/jepsen/history"
)

// SearchOracle checks the results of every successful Search and Probe in a
// history: no key that no write invoked before the search returned could
// have created (phantom), and no key whose delete the search had to see by
// its level (resurrection, as in NoResurrection). EVENTUAL searches are
// checked for phantoms only.
func SearchOracle(h []history.Op) Result {
	r := newResult("search-oracle")
	h = wellFormed(r, h)
	w := indexWrites(h)
	for i := range h {
		rd := &h[i]
		if (rd.Kind != history.Search && rd.Kind != history.Probe) || rd.Outcome != history.Ok {
			continue
		}
		r.Counts["searches"]++
		r.Counts["results"] += len(rd.Keys)
		for j, k := range rd.Keys {
			if s := insertsOf(w, k, rd.Return); len(s.live) == 0 {
				r.add(AnomalyPhantom, []int{rd.ID}, "search %d returned key %d that no write invoked before it returned created", rd.ID, k)
				continue
			}
			if len(rd.Values) == len(rd.Keys) {
				if vs, _ := w.explain(k, rd.Values[j], rd.Return); len(vs) == 0 {
					r.add(AnomalyPhantom, []int{rd.ID}, "search %d returned key %d at version %s, which no write invoked before it returned produced",
						rd.ID, k, versionString(rd.Values[j]))
					continue
				}
			}
			if rd.Level == history.Eventual && !rd.Final {
				continue
			}
			if del := resurrectedBy(w, k, rd); del != nil {
				r.add(AnomalyResurrection, []int{rd.ID, del.ID}, "%s search %d returned key %d after delete %d was acknowledged, with no later write of it",
					rd.Level, rd.ID, k, del.ID)
			}
		}
	}
	return r.done()
}

// Query is one search issued after quiescence and its observed answer.
type Query struct {
	// ID names the query in anomalies (for example the history op ID).
	ID     int
	Vector []float32
	K      int
	// IDs and Distances are the answer, best first; Distances may be nil
	// when the search did not return them.
	IDs       []int64
	Distances []float32
}

// FinalSearchOptions configure FinalSearch.
type FinalSearchOptions struct {
	// Tolerance is the allowed difference between two distances, relative
	// to max(1, |a|, |b|): SIMD and reference kernels round differently.
	// Zero means 1e-4.
	Tolerance float64
	// LargerIsCloser orders by descending distance (similarity scores such
	// as IP); the default is ascending (L2).
	LargerIsCloser bool
}

// FinalSearch checks FLAT searches issued after quiescence against a brute
// force search over the final rows (key → vector) with dist. Ties are
// honoured: any of the keys at the k-th distance may fill the last places.
//
//   - wrong-length: not min(K, rows) results.
//   - wrong-id: a key that is not in the final state, or whose true distance
//     differs from the reported one.
//   - duplicate-id: a key returned twice.
//   - distance-mismatch: the i-th reported distance differs from the i-th
//     brute-force distance.
//   - missed-id: a key strictly closer than the k-th brute-force distance is
//     missing.
func FinalSearch(final map[int64][]float32, queries []Query, dist func(a, b []float32) float32, opts FinalSearchOptions) Result {
	r := newResult("final-search")
	tol := opts.Tolerance
	if tol == 0 {
		tol = 1e-4
	}
	near := func(a, b float32) bool {
		d := math.Abs(float64(a) - float64(b))
		return d <= tol*max(1, math.Abs(float64(a)), math.Abs(float64(b)))
	}
	closer := func(a, b float32) bool { // a strictly closer than b, beyond tolerance
		if near(a, b) {
			return false
		}
		if opts.LargerIsCloser {
			return a > b
		}
		return a < b
	}
	type cand struct {
		key  int64
		dist float32
	}
	keys := make([]int64, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r.Counts["rows"] = len(keys)

	for _, q := range queries {
		r.Counts["queries"]++
		all := make([]cand, 0, len(keys))
		for _, k := range keys {
			all = append(all, cand{k, dist(q.Vector, final[k])})
		}
		slices.SortStableFunc(all, func(a, b cand) int {
			if opts.LargerIsCloser {
				return cmp.Compare(b.dist, a.dist)
			}
			return cmp.Compare(a.dist, b.dist)
		})
		want := min(max(q.K, 0), len(all))
		if len(q.IDs) != want {
			r.add(AnomalyWrongLength, []int{q.ID}, "query %d: %d results, want %d", q.ID, len(q.IDs), want)
		}
		if len(q.Distances) != 0 && len(q.Distances) != len(q.IDs) {
			r.add(AnomalyWrongLength, []int{q.ID}, "query %d: %d distances for %d results", q.ID, len(q.Distances), len(q.IDs))
			continue
		}
		trueDist := make(map[int64]float32, len(q.IDs))
		seen := map[int64]bool{}
		for i, k := range q.IDs {
			if seen[k] {
				r.add(AnomalyDuplicateID, []int{q.ID}, "query %d: key %d returned twice", q.ID, k)
				continue
			}
			seen[k] = true
			v, ok := final[k]
			if !ok {
				r.add(AnomalyWrongID, []int{q.ID}, "query %d: result %d is key %d, which is not in the final state", q.ID, i, k)
				continue
			}
			d := dist(q.Vector, v)
			trueDist[k] = d
			if len(q.Distances) != 0 {
				if !near(q.Distances[i], d) {
					r.add(AnomalyWrongID, []int{q.ID}, "query %d: key %d reported at distance %g, its distance is %g", q.ID, k, q.Distances[i], d)
				}
			}
		}
		// Rank by rank, the returned rows must be as close as the best ones.
		for i, k := range q.IDs {
			d, ok := trueDist[k]
			if !ok || i >= len(all) {
				continue
			}
			if !near(d, all[i].dist) {
				r.add(AnomalyDistanceMismatch, []int{q.ID}, "query %d: result %d (key %d) is at distance %g, brute force has %g", q.ID, i, k, d, all[i].dist)
			}
		}
		if want > 0 {
			kth := all[want-1].dist
			for _, c := range all[:want] {
				if closer(c.dist, kth) && !seen[c.key] {
					r.add(AnomalyMissedID, []int{q.ID}, "query %d: key %d at distance %g is closer than the k-th distance %g and missing",
						q.ID, c.key, c.dist, kth)
				}
			}
		}
	}
	return r.done()
}
