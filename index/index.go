package index

// Index is a built index over the vectors of one sealed segment.
//
// Who calls it: the shard's search path, from any number of request
// goroutines at once, and the background builder that encodes it for
// persistence. Contract:
//
//   - An Index is immutable once Build or Decode returned it. Search, Encode
//     and the accessors may run concurrently with each other.
//   - Rows are positions 0..Len()-1 in the vectors slice given to Build or
//     Decode. The Index keeps a reference to that slice instead of copying
//     the float vectors; the caller must not change it while the Index is in
//     use (sealed segments are immutable, so this holds by design).
//   - Deletes and MVCC visibility go through allow: Search never returns a
//     row allow rejects, and the index is never rebuilt or changed for a
//     delete. Rows allow rejects may still be traversed (graph indexes need
//     them as stepping stones).
//   - Search returns at most k candidates, closest first, ties broken by the
//     lower row. Dist follows Metric.Distance (smaller is closer), so hits
//     from indexed and FLAT-searched segments merge directly.
//   - Search is deterministic for a given index, query, k, params and allow,
//     and never panics on bad input: a query whose length is not Dim(), or
//     k <= 0, yields nil; params out of range are clamped (the request layer
//     rejects them first with SearchParams.Validate).
//   - For COSINE the vectors are normalised at insert; normalising q is the
//     caller's business (it scales every distance alike, so the order of
//     hits does not depend on it).
type Index interface {
	Search(q []float32, k int, params SearchParams, allow Allow) []Candidate
	// Spec is the spec the index was built with, parameters as used
	// (for IVF, Nlist may be lower than asked on a small segment).
	Spec() Spec
	// Dim is the vector dimension.
	Dim() int
	// Len is the number of rows indexed.
	Len() int
	// MemoryBytes is the memory the index holds, not counting the float
	// vectors it references.
	MemoryBytes() int64
}

// flatIndex is the TypeFlat index: no structure, exact search.
type flatIndex struct {
	spec    Spec
	dim     int
	vectors []float32
}

func (f *flatIndex) Search(q []float32, k int, _ SearchParams, allow Allow) []Candidate {
	if len(q) != f.dim {
		return nil
	}
	return FlatSearch(f.spec.Metric, q, f.vectors, f.dim, k, allow)
}

func (f *flatIndex) Spec() Spec         { return f.spec }
func (f *flatIndex) Dim() int           { return f.dim }
func (f *flatIndex) Len() int           { return len(f.vectors) / f.dim }
func (f *flatIndex) MemoryBytes() int64 { return 0 }

// distance is Metric.Distance on the selected kernels, without the length
// checks: callers slice both operands to dim.
func distance(l2 bool, a, b []float32) float32 {
	if l2 {
		return l2SquaredImpl(a, b)
	}
	return -dotImpl(a, b)
}
