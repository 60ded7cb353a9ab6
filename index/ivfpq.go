package index

import (
	"context"
	"math/rand"
	"sync"
)

// IVF_PQ: product quantisation of the residuals (row minus its cell's
// centroid). The dim coordinates are split into m subspaces of dsub = dim/m
// coordinates; each subspace has its own codebook of ksub (256, fewer on a
// segment of under 256 rows) centroids trained by k-means on a sample of
// residuals, and a row's code is the nearest centroid's number in each
// subspace: m bytes per row. One codebook serves every cell, so its memory
// does not grow with nlist.
//
// Scoring needs one lookup table per query, not per probed cell. With x̂ =
// c + r̂ the decoded row (c its centroid, r̂ the decoded residual) and
// T[j][i] = q_j · codebook_j[i]:
//
//	IP: q·x̂     = q·c + Σ_j T[j][code_j]
//	L2: |q-x̂|² = |q-c|² - 2 Σ_j T[j][code_j] + (|r̂|² + 2 c·r̂)
//
// q·c and |q-c|² are the distances to the centroids Search computes anyway
// to pick the cells; the last L2 term is stored per row (terms).
//
// Residuals rather than raw rows are quantised because on clustered data
// most of a row's variance is its cell's centroid, which the residual
// removes. Measured with the same code otherwise (d=128, 40 clusters, the
// TestIVFPQRecall set, nprobe 16, pq_m 32): recall@10 before / after the
// re-rank was 0.68 / 1.00 with residuals and 0.34 / 0.90 with raw rows under
// L2, and 0.35 / 0.95 against 0.16 / 0.72 under COSINE. On Fashion-MNIST
// (pq_m 196, 4 pixels per subspace) both come out the same after re-rank.
//
// The codes only rank: the Refine×k best rows by code are re-ranked with
// exact distances on the segment's float vectors, so returned distances are
// exact and merge with other segments' hits.
type pqCodes struct {
	m, dsub, ksub int
	codebook      []float32 // m×ksub×dsub: subspace j's centroid i at (j*ksub+i)*dsub
	codes         []uint8   // n×m by position
	terms         []float32 // L2 only, by position: |r̂|² + 2 c·r̂
}

// pqTrainRows is how many residuals train the codebooks at most: 40 per
// centroid, enough for k-means (Faiss asks for 39) and it bounds the build
// (m subspaces × KMeansIters × pqTrainRows × 256 × dsub).
const pqTrainRows = 40 * 256

// pqMaxKsub is the codebook size per subspace: 8-bit codes.
const pqMaxKsub = 256

func emptyPQ(m int, l2 bool) *pqCodes {
	pq := &pqCodes{m: m, codebook: []float32{}, codes: []uint8{}}
	if l2 {
		pq.terms = []float32{}
	}
	return pq
}

func (pq *pqCodes) memoryBytes() int64 {
	return int64(len(pq.codes)) + 4*int64(len(pq.codebook)+len(pq.terms))
}

// trainPQ trains the codebooks on the residuals of a sample of rows drawn
// with rng and encodes every row, in position order, on threads goroutines
// (each row's code is independent of the others, so the result does not
// depend on threads).
func (ix *IVF) trainPQ(ctx context.Context, assign []uint32, rng *rand.Rand, threads int) error {
	dim, n, m := ix.dim, ix.n, ix.spec.Params.PQM
	dsub := dim / m
	sample := make([]int, 0, min(n, pqTrainRows))
	if n > pqTrainRows {
		sample = append(sample, rng.Perm(n)[:pqTrainRows]...)
	} else {
		for r := 0; r < n; r++ {
			sample = append(sample, r)
		}
	}
	ksub := min(pqMaxKsub, len(sample))
	pq := &pqCodes{m: m, dsub: dsub, ksub: ksub, codebook: make([]float32, m*ksub*dsub)}
	sub := make([]float32, len(sample)*dsub)
	for j := 0; j < m; j++ {
		for i, r := range sample {
			x := ix.vectors[r*dim+j*dsub : r*dim+(j+1)*dsub]
			c := ix.centroids[int(assign[r])*dim+j*dsub:]
			for t := range dsub {
				sub[i*dsub+t] = x[t] - c[t]
			}
		}
		cb, err := kmeans(ctx, sub, dsub, ksub, ix.spec.Params.KMeansIters, rng, threads)
		if err != nil {
			return err
		}
		copy(pq.codebook[j*ksub*dsub:], cb)
	}

	pq.codes = make([]uint8, n*m)
	if ix.l2 {
		pq.terms = make([]float32, n)
	}
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
			res := make([]float32, dim)
			d := make([]float32, ksub)
			for pos := lo; pos < hi; pos++ {
				if (pos-lo)%1024 == 0 && ctx.Err() != nil {
					return
				}
				ix.encodePQ(pq, pos, res, d)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	ix.pq = pq
	return nil
}

// encodePQ sets the code (and L2 term) of the row at position pos; res
// (dim) and d (ksub) are scratch.
func (ix *IVF) encodePQ(pq *pqCodes, pos int, res, d []float32) {
	dim, r := ix.dim, int(ix.rows[pos])
	c := ix.centroids[ix.cellOf(pos)*dim:][:dim]
	for t, v := range ix.vectors[r*dim : (r+1)*dim] {
		res[t] = v - c[t]
	}
	code := pq.codes[pos*pq.m : (pos+1)*pq.m]
	var term float32
	for j := range code {
		rj := res[j*pq.dsub : (j+1)*pq.dsub]
		cb := pq.codebook[j*pq.ksub*pq.dsub : (j+1)*pq.ksub*pq.dsub]
		l2SquaredBatchImpl(rj, cb, pq.dsub, d)
		bi, bd := 0, d[0]
		for i := 1; i < pq.ksub; i++ {
			if d[i] < bd {
				bi, bd = i, d[i]
			}
		}
		code[j] = uint8(bi)
		dec := cb[bi*pq.dsub : (bi+1)*pq.dsub]
		cj := c[j*pq.dsub : (j+1)*pq.dsub]
		for t, e := range dec {
			term += e*e + 2*cj[t]*e
		}
	}
	if pq.terms != nil {
		pq.terms[pos] = term
	}
}

// cellOf returns the cell holding position pos (offsets is sorted).
func (ix *IVF) cellOf(pos int) int {
	lo, hi := 0, ix.nlist-1
	for lo < hi { // the last cell whose start is <= pos
		mid := (lo + hi + 1) / 2
		if int(ix.offsets[mid]) <= pos {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// decodeRow returns the decoded row x̂ = c + r̂ at position pos.
func (ix *IVF) decodeRow(pos int) []float32 {
	pq, dim := ix.pq, ix.dim
	out := make([]float32, dim)
	copy(out, ix.centroids[ix.cellOf(pos)*dim:][:dim])
	for j, code := range pq.codes[pos*pq.m : (pos+1)*pq.m] {
		cb := pq.codebook[(j*pq.ksub+int(code))*pq.dsub:][:pq.dsub]
		for t, e := range cb {
			out[j*pq.dsub+t] += e
		}
	}
	return out
}

// scanPQ keeps the short closest rows by code in the probed cells and
// re-ranks them exactly.
func (ix *IVF) scanPQ(s *ivfScratch, q []float32, k, short int, probe []Candidate, allow Allow) []Candidate {
	list := ix.shortlistPQ(s, q, max(short, k), probe, allow)
	top := NewTopK(k)
	dim := ix.dim
	for _, c := range list.heap {
		c.Dist = distance(ix.l2, q, ix.vectors[int(c.Row)*dim:int(c.Row+1)*dim])
		top.Push(c)
	}
	return top.Sorted()
}

// shortlistPQ scores the probed cells' codes by table lookups and returns
// the short closest by approximate distance (|q-x̂|² or -q·x̂). probe holds
// each cell's distance to q (|q-c|² for L2, -q·c otherwise).
func (ix *IVF) shortlistPQ(s *ivfScratch, q []float32, short int, probe []Candidate, allow Allow) *TopK {
	pq := ix.pq
	m, ksub, dsub := pq.m, pq.ksub, pq.dsub
	tbl := s.table[:m*ksub]
	for j := 0; j < m; j++ {
		dotBatchImpl(q[j*dsub:(j+1)*dsub], pq.codebook[j*ksub*dsub:(j+1)*ksub*dsub], dsub, tbl[j*ksub:(j+1)*ksub])
	}
	list := NewTopK(short)
	for _, cell := range probe {
		lo, hi := int(ix.offsets[cell.Row]), int(ix.offsets[cell.Row+1])
		codes := pq.codes[lo*m : hi*m]
		for i := 0; i < hi-lo; i++ {
			sum := adcSum(tbl, codes[i*m:(i+1)*m], ksub)
			var d float32
			if ix.l2 {
				d = cell.Dist - 2*sum + pq.terms[lo+i]
			} else {
				d = cell.Dist - sum
			}
			if w, full := list.Worst(); full && d > w {
				continue
			}
			r := ix.rows[lo+i]
			if allow != nil && !allow(r) {
				continue
			}
			list.Push(Candidate{Row: r, Dist: d})
		}
	}
	return list
}

// adcSum is Σ_j tbl[j*ksub+code[j]], the code's table-lookup score.
func adcSum(tbl []float32, code []uint8, ksub int) float32 {
	var a, b, c, d float32
	j := 0
	if ksub == pqMaxKsub && len(tbl) >= len(code)*pqMaxKsub {
		// A uint8 index into a [256] array needs no bounds check; four
		// sums shorten the dependency chain of the adds.
		for ; j+4 <= len(code); j += 4 {
			t := tbl[j*pqMaxKsub : (j+4)*pqMaxKsub]
			a += (*[pqMaxKsub]float32)(t[0:pqMaxKsub])[code[j]]
			b += (*[pqMaxKsub]float32)(t[pqMaxKsub : 2*pqMaxKsub])[code[j+1]]
			c += (*[pqMaxKsub]float32)(t[2*pqMaxKsub : 3*pqMaxKsub])[code[j+2]]
			d += (*[pqMaxKsub]float32)(t[3*pqMaxKsub : 4*pqMaxKsub])[code[j+3]]
		}
	}
	for ; j < len(code); j++ {
		a += tbl[j*ksub+int(code[j])]
	}
	return (a + b) + (c + d)
}
