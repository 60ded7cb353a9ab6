package index

// Allow reports whether a row may be returned. A nil Allow admits every row.
// Deleted rows and rows outside a search's MVCC snapshot are excluded this
// way, so indexes never need rebuilding for deletes. An Allow may be called
// from the goroutine that runs the search only, but must be cheap: indexes
// call it once per row they consider.
type Allow func(row uint32) bool

// flatChunk is how many rows FlatSearch scores per batch-kernel call: large
// enough to amortise the call, small enough that the distances stay in L1.
const flatChunk = 256

// FlatSearch is the exact search: it scores q against every row of vectors
// (n rows of dim floats, contiguous) that allow admits and returns the k
// closest, closest first, ties broken by the lower row. It returns nil when
// k or dim is not positive or q is shorter than dim. Rows that allow rejects
// cost one call of allow and no distance. It allocates only the result and
// is safe to call concurrently.
func FlatSearch(m Metric, q, vectors []float32, dim, k int, allow Allow) []Candidate {
	if k <= 0 || dim <= 0 || len(q) < dim {
		return nil
	}
	q = q[:dim]
	n := len(vectors) / dim
	top := NewTopK(min(k, n))
	var dists [flatChunk]float32
	var rows [flatChunk]uint32
	worst, full := top.Worst()
	for start := 0; start < n; start += flatChunk {
		cnt := min(flatChunk, n-start)
		out := dists[:cnt]
		ids := rows[:0]
		if allow != nil {
			for i := 0; i < cnt; i++ {
				if allow(uint32(start + i)) {
					ids = append(ids, uint32(start+i))
				}
			}
		}
		if allow == nil || len(ids) == cnt {
			block := vectors[start*dim : (start+cnt)*dim]
			if m == L2 {
				l2SquaredBatchImpl(q, block, dim, out)
			} else {
				dotBatchImpl(q, block, dim, out)
			}
			ids = rows[:cnt]
			for i := range ids {
				ids[i] = uint32(start + i)
			}
		} else {
			out = out[:len(ids)]
			for i, r := range ids {
				v := vectors[int(r)*dim : int(r)*dim+dim]
				if m == L2 {
					out[i] = l2SquaredImpl(q, v)
				} else {
					out[i] = dotImpl(q, v)
				}
			}
		}
		for i, d := range out {
			if m != L2 {
				d = -d
			}
			// Rows arrive in increasing order, so a later row that only
			// ties the worst kept one loses the tie: skip it early.
			if full && d >= worst {
				continue
			}
			top.Push(Candidate{Row: ids[i], Dist: d})
			worst, full = top.Worst()
		}
	}
	return top.Sorted()
}
