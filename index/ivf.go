package index

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sync"
)

// IVF is an inverted-file index: k-means cells over the rows, each row in
// the cell of its nearest centroid. A search scores the Nprobe centroids
// closest to the query and scans those cells only.
//
// IVF_FLAT scans with exact distances on the float vectors. IVF_SQ8 scans
// 8-bit codes (per-dimension min/max scalar quantisation, 4x less memory
// traffic) and re-ranks a shortlist exactly against the float vectors, so
// the distances it returns are exact. IVF_PQ scans product-quantised codes
// (see ivfpq.go) and re-ranks the same way.
type IVF struct {
	spec      Spec
	dim, n    int
	l2        bool
	nlist     int
	centroids []float32 // nlist*dim
	offsets   []uint32  // nlist+1: cell c holds positions offsets[c]..offsets[c+1]
	rows      []uint32  // rows by position (grouped by cell)
	vectors   []float32

	// IVF_SQ8 only, all by position.
	vmin, scale []float32 // per dimension: x ≈ vmin + scale*code
	codes       []uint8   // n*dim
	norms       []float32 // Σ (scale_j*code_j)², for L2

	// IVF_PQ only (ivfpq.go).
	pq *pqCodes

	scratch sync.Pool // *ivfScratch
}

type ivfScratch struct {
	cdist []float32 // per centroid
	dists [flatChunk]float32
	qa    []float32 // query transformed for the SQ8 kernel
	table []float32 // IVF_PQ lookup table, pqM*ksub
}

// trainPerList is how many training rows k-means uses per cell at most.
const trainPerList = 64

// sq8Rerank is how many SQ8 candidates per requested hit are re-ranked.
const sq8Rerank = 4

// BuildIVF trains k-means cells for spec (TypeIVFFlat, TypeIVFSQ8 or
// TypeIVFPQ; a zero PQM is resolved with Spec.WithDim) on vectors and
// assigns every row. k-means++ picks the initial centroids on a
// sample of at most Nlist*64 rows drawn with rng, then KMeansIters Lloyd
// iterations refine them on that sample. Assignments run on threads
// goroutines; the result does not depend on threads (each row's assignment
// is independent and centroids are summed in row order).
func BuildIVF(ctx context.Context, spec Spec, vectors []float32, dim int, rng *rand.Rand, threads int) (*IVF, error) {
	if spec.Type != TypeIVFFlat && spec.Type != TypeIVFSQ8 && spec.Type != TypeIVFPQ {
		return nil, fmt.Errorf("%w: BuildIVF of type %v", ErrInvalidSpec, spec.Type)
	}
	if err := checkVectors(vectors, dim); err != nil {
		return nil, err
	}
	if spec.Type == TypeIVFPQ {
		spec = spec.WithDim(dim)
	}
	if err := spec.ValidateDim(dim); err != nil {
		return nil, err
	}
	n := len(vectors) / dim
	nlist := max(1, min(spec.Params.Nlist, n))
	spec.Params = Params{Nlist: nlist, KMeansIters: spec.Params.KMeansIters, PQM: spec.Params.PQM}
	ix := &IVF{spec: spec, dim: dim, n: n, l2: spec.Metric == L2, nlist: nlist, vectors: vectors}
	if n == 0 {
		ix.centroids = make([]float32, dim)
		ix.offsets = make([]uint32, 2)
		ix.rows = make([]uint32, 0)
		switch spec.Type {
		case TypeIVFSQ8:
			ix.vmin, ix.scale = make([]float32, dim), make([]float32, dim)
		case TypeIVFPQ:
			ix.pq = emptyPQ(spec.Params.PQM, ix.l2)
		}
		return ix, nil
	}
	threads = max(1, threads)

	// Training sample: the first Nlist*64 rows of a seeded permutation.
	train := vectors
	if limit := nlist * trainPerList; n > limit {
		perm := rng.Perm(n)[:limit]
		train = make([]float32, limit*dim)
		for i, r := range perm {
			copy(train[i*dim:(i+1)*dim], vectors[r*dim:(r+1)*dim])
		}
	}
	cent, err := kmeans(ctx, train, dim, nlist, spec.Params.KMeansIters, rng, threads)
	if err != nil {
		return nil, err
	}
	ix.centroids = cent

	assign := make([]uint32, n)
	if err := assignAll(ctx, vectors, dim, cent, assign, threads); err != nil {
		return nil, err
	}
	ix.offsets = make([]uint32, nlist+1)
	for _, c := range assign {
		ix.offsets[c+1]++
	}
	for c := 0; c < nlist; c++ {
		ix.offsets[c+1] += ix.offsets[c]
	}
	ix.rows = make([]uint32, n)
	fill := make([]uint32, nlist)
	copy(fill, ix.offsets[:nlist])
	for r, c := range assign {
		ix.rows[fill[c]] = uint32(r)
		fill[c]++
	}
	switch spec.Type {
	case TypeIVFSQ8:
		ix.trainSQ8()
	case TypeIVFPQ:
		if err := ix.trainPQ(ctx, assign, rng, threads); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// kmeans returns k centroids of the rows of train.
func kmeans(ctx context.Context, train []float32, dim, k, iters int, rng *rand.Rand, threads int) ([]float32, error) {
	n := len(train) / dim
	cent := make([]float32, k*dim)

	// k-means++: each next centre is a row drawn with probability
	// proportional to its squared distance to the nearest centre so far.
	first := rng.Intn(n)
	copy(cent[:dim], train[first*dim:(first+1)*dim])
	best := make([]float32, n)
	l2SquaredBatchImpl(cent[:dim], train, dim, best)
	tmp := make([]float32, n)
	for c := 1; c < k; c++ {
		if c%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var total float64
		for _, d := range best {
			total += float64(d)
		}
		pick := n - 1
		if total > 0 {
			target := rng.Float64() * total
			var acc float64
			for i, d := range best {
				acc += float64(d)
				if acc > target {
					pick = i
					break
				}
			}
		} else {
			pick = rng.Intn(n) // every row coincides with a centre
		}
		centre := cent[c*dim : (c+1)*dim]
		copy(centre, train[pick*dim:(pick+1)*dim])
		l2SquaredBatchImpl(centre, train, dim, tmp)
		for i, d := range tmp {
			best[i] = min(best[i], d)
		}
	}

	// Lloyd iterations.
	assign := make([]uint32, n)
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	for it := 0; it < iters; it++ {
		if err := assignAll(ctx, train, dim, cent, assign, threads); err != nil {
			return nil, err
		}
		clear(sums)
		clear(counts)
		for i, c := range assign {
			counts[c]++
			s := sums[int(c)*dim : int(c+1)*dim]
			for j, v := range train[i*dim : (i+1)*dim] {
				s[j] += float64(v)
			}
		}
		for c := 0; c < k; c++ {
			centre := cent[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				// An empty cell restarts at a random training row.
				r := rng.Intn(n)
				copy(centre, train[r*dim:(r+1)*dim])
				continue
			}
			inv := 1 / float64(counts[c])
			for j := range centre {
				centre[j] = float32(sums[c*dim+j] * inv)
			}
		}
	}
	return cent, nil
}

// assignAll sets assign[i] to the centroid nearest (squared L2, ties to the
// lower cell) to row i, on threads goroutines.
func assignAll(ctx context.Context, vectors []float32, dim int, cent []float32, assign []uint32, threads int) error {
	n, k := len(assign), len(cent)/dim
	per := (n + threads - 1) / threads
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		lo, hi := t*per, min(n, (t+1)*per)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := make([]float32, k)
			for i := lo; i < hi; i++ {
				if (i-lo)%4096 == 0 && ctx.Err() != nil {
					return
				}
				l2SquaredBatchImpl(vectors[i*dim:(i+1)*dim], cent, dim, d)
				bi, bd := 0, d[0]
				for c := 1; c < k; c++ {
					if d[c] < bd {
						bi, bd = c, d[c]
					}
				}
				assign[i] = uint32(bi)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// trainSQ8 quantises every row, in position order, with per-dimension
// min/max ranges over all rows.
func (ix *IVF) trainSQ8() {
	dim := ix.dim
	ix.vmin = make([]float32, dim)
	ix.scale = make([]float32, dim)
	vmax := make([]float32, dim)
	copy(ix.vmin, ix.vectors[:dim])
	copy(vmax, ix.vectors[:dim])
	for r := 1; r < ix.n; r++ {
		for j, v := range ix.vectors[r*dim : (r+1)*dim] {
			ix.vmin[j] = min(ix.vmin[j], v)
			vmax[j] = max(vmax[j], v)
		}
	}
	for j := range ix.scale {
		ix.scale[j] = (vmax[j] - ix.vmin[j]) / 255
	}
	ix.codes = make([]uint8, ix.n*dim)
	ix.norms = make([]float32, ix.n)
	for pos, r := range ix.rows {
		code := ix.codes[pos*dim : (pos+1)*dim]
		var norm float32
		for j, v := range ix.vectors[int(r)*dim : int(r+1)*dim] {
			var c float32
			if ix.scale[j] > 0 {
				c = float32(math.Round(float64((v - ix.vmin[j]) / ix.scale[j])))
				c = min(max(c, 0), 255)
			}
			code[j] = uint8(c)
			e := ix.scale[j] * c
			norm += e * e
		}
		ix.norms[pos] = norm
	}
}

func (ix *IVF) getScratch() *ivfScratch {
	if s, ok := ix.scratch.Get().(*ivfScratch); ok {
		return s
	}
	s := &ivfScratch{cdist: make([]float32, ix.nlist), qa: make([]float32, ix.dim)}
	if ix.pq != nil {
		s.table = make([]float32, ix.pq.m*ix.pq.ksub)
	}
	return s
}

// Search implements Index. A filter that leaves fewer than k admitted rows
// in the probed cells falls back to the exact scan, so a filter never costs
// results.
func (ix *IVF) Search(q []float32, k int, p SearchParams, allow Allow) []Candidate {
	if len(q) != ix.dim || k <= 0 || ix.n == 0 {
		return nil
	}
	s := ix.getScratch()
	defer ix.scratch.Put(s)

	// The nprobe closest cells, closest first.
	nprobe := p.nprobe(ix.nlist)
	if ix.l2 {
		l2SquaredBatchImpl(q, ix.centroids, ix.dim, s.cdist)
	} else {
		dotBatchImpl(q, ix.centroids, ix.dim, s.cdist)
		for i := range s.cdist {
			s.cdist[i] = -s.cdist[i]
		}
	}
	cells := NewTopK(nprobe)
	for c, d := range s.cdist {
		cells.Push(Candidate{Row: uint32(c), Dist: d})
	}
	probe := cells.Sorted()

	var out []Candidate
	switch {
	case ix.pq != nil:
		out = ix.scanPQ(s, q, k, p.shortlist(k), probe, allow)
	case ix.codes == nil:
		out = ix.scanFlat(q, k, probe, allow)
	default:
		out = ix.scanSQ8(s, q, k, probe, allow)
	}
	if allow != nil && len(out) < k {
		return FlatSearch(ix.spec.Metric, q, ix.vectors, ix.dim, k, allow)
	}
	return out
}

func (ix *IVF) scanFlat(q []float32, k int, probe []Candidate, allow Allow) []Candidate {
	top := NewTopK(k)
	for _, cell := range probe {
		for _, r := range ix.rows[ix.offsets[cell.Row]:ix.offsets[cell.Row+1]] {
			if allow != nil && !allow(r) {
				continue
			}
			d := distance(ix.l2, q, ix.vectors[int(r)*ix.dim:int(r+1)*ix.dim])
			if w, full := top.Worst(); full && d > w {
				continue
			}
			top.Push(Candidate{Row: r, Dist: d})
		}
	}
	return top.Sorted()
}

// scanSQ8 scores codes with one kernel for both metrics. With x̂ = vmin +
// scale∘c the decoded row:
//
//	L2: |q-x̂|² = Σ(q-vmin)² - 2 Σ((q-vmin)∘scale)·c + Σ(scale∘c)²
//	IP: q·x̂    = q·vmin + Σ(q∘scale)·c
//
// The last L2 term is stored per row (norms); the rest is per query.
func (ix *IVF) scanSQ8(s *ivfScratch, q []float32, k int, probe []Candidate, allow Allow) []Candidate {
	var base float32
	for j := range q {
		if ix.l2 {
			d := q[j] - ix.vmin[j]
			base += d * d
			s.qa[j] = d * ix.scale[j]
		} else {
			base += q[j] * ix.vmin[j]
			s.qa[j] = q[j] * ix.scale[j]
		}
	}
	short := NewTopK(max(sq8Rerank*k, 32))
	dim := ix.dim
	for _, cell := range probe {
		lo, hi := int(ix.offsets[cell.Row]), int(ix.offsets[cell.Row+1])
		for start := lo; start < hi; start += flatChunk {
			out := s.dists[:min(flatChunk, hi-start)]
			dotFloatUint8Impl(s.qa, ix.codes[start*dim:(start+len(out))*dim], dim, out)
			for i, dot := range out {
				pos := start + i
				var d float32
				if ix.l2 {
					d = base - 2*dot + ix.norms[pos]
				} else {
					d = -(base + dot)
				}
				if w, full := short.Worst(); full && d > w {
					continue
				}
				r := ix.rows[pos]
				if allow != nil && !allow(r) {
					continue
				}
				short.Push(Candidate{Row: r, Dist: d})
			}
		}
	}
	top := NewTopK(k)
	for _, c := range short.heap {
		c.Dist = distance(ix.l2, q, ix.vectors[int(c.Row)*dim:int(c.Row+1)*dim])
		top.Push(c)
	}
	return top.Sorted()
}

// Spec implements Index; Params.Nlist is the number of cells built.
func (ix *IVF) Spec() Spec { return ix.spec }

// Dim implements Index.
func (ix *IVF) Dim() int { return ix.dim }

// Len implements Index.
func (ix *IVF) Len() int { return ix.n }

// MemoryBytes implements Index: centroids, cell lists and codes (for
// IVF_PQ also its codebooks and per-row terms).
func (ix *IVF) MemoryBytes() int64 {
	b := 4*int64(len(ix.centroids)+len(ix.offsets)+len(ix.rows)+len(ix.vmin)+len(ix.scale)+len(ix.norms)) +
		int64(len(ix.codes))
	if ix.pq != nil {
		b += ix.pq.memoryBytes()
	}
	return b
}
