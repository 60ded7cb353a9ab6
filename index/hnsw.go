package index

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sync"
	"sync/atomic"
)

// HNSW is a hierarchical navigable small world graph (Malkov & Yashunin),
// built as hnswlib builds it: levels drawn from an exponential distribution,
// insertion by beam search with efConstruction, neighbours chosen with the
// diversity heuristic, reverse links shrunk with the same heuristic.
//
// Layout, chosen for the search loop: neighbour lists are flat []uint32
// blocks (count, then ids), layer 0 in one array indexed by row, upper
// layers in a second array reached through a per-row offset. Searches take a
// pooled searcher holding an epoch-stamped visited array and preallocated
// heaps, so the search path has no maps and allocates only its result.
type HNSW struct {
	spec     Spec
	dim      int
	n        int
	l2       bool
	m, m0    int // list capacity above layer 0, at layer 0 (2M)
	vectors  []float32
	levels   []uint8
	links0   []uint32 // n blocks of m0+1
	upperOff []uint32 // row -> first upper block; meaningful when levels[row] > 0
	upper    []uint32 // blocks of m+1, levels[row] of them per row
	entry    uint32
	maxLevel int

	searchers sync.Pool // *searcher
}

// maxHNSWLevel caps drawn levels; with M >= 4 a level above it has a
// probability below 4^-30.
const maxHNSWLevel = 30

// searcher is the per-goroutine scratch space of a graph search.
type searcher struct {
	visited []uint32
	epoch   uint32
	cand    minHeap
	res     maxHeap
	nbuf    []uint32
	ids     []uint32
	dists   []float32
	sorted  []Candidate
	sel     []Candidate
	lsel    []Candidate // link's selection; sel is still being walked
	shrink  []Candidate
}

func newSearcher(n, m0, ef int) *searcher {
	return &searcher{
		visited: make([]uint32, n),
		cand:    make(minHeap, 0, 4*ef),
		res:     make(maxHeap, 0, ef+1),
		nbuf:    make([]uint32, m0+1),
		ids:     make([]uint32, 0, m0+1),
		dists:   make([]float32, m0+1),
		sorted:  make([]Candidate, 0, ef+1),
		sel:     make([]Candidate, 0, m0+1),
		lsel:    make([]Candidate, 0, m0+1),
		shrink:  make([]Candidate, 0, m0+1),
	}
}

// next starts a new search: rows stamped with an older epoch are unvisited.
func (s *searcher) next() {
	s.epoch++
	if s.epoch == 0 { // wrapped: old stamps could collide
		clear(s.visited)
		s.epoch = 1
	}
}

func (h *HNSW) vec(row uint32) []float32 {
	o := int(row) * h.dim
	return h.vectors[o : o+h.dim : o+h.dim]
}

// block returns the neighbour block (count, then capacity ids) of row on layer.
func (h *HNSW) block(row uint32, layer int) []uint32 {
	if layer == 0 {
		o := int(row) * (h.m0 + 1)
		return h.links0[o : o+h.m0+1 : o+h.m0+1]
	}
	o := int(h.upperOff[row]) + (layer-1)*(h.m+1)
	return h.upper[o : o+h.m+1 : o+h.m+1]
}

func (h *HNSW) neighbours(row uint32, layer int) []uint32 {
	b := h.block(row, layer)
	return b[1 : 1+b[0]]
}

// BuildHNSW builds an HNSW graph over vectors (n rows of dim floats) with
// the parameters p (M, EfConstruction; see Spec.Validate for ranges). Levels
// are drawn from rng before any insertion, so they depend only on the seed.
// With threads == 1 rows are inserted in order and the graph is a pure
// function of (metric, p, vectors, seed); with more threads rows are
// inserted concurrently under per-row locks.
func BuildHNSW(ctx context.Context, metric Metric, p Params, vectors []float32, dim int, rng *rand.Rand, threads int) (*HNSW, error) {
	spec := Spec{Type: TypeHNSW, Metric: metric, Params: Params{M: p.M, EfConstruction: p.EfConstruction}}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := checkVectors(vectors, dim); err != nil {
		return nil, err
	}
	n := len(vectors) / dim
	levels := make([]uint8, n)
	mult := 1 / math.Log(float64(p.M))
	for i := range levels {
		l := int(-math.Log(1-rng.Float64()) * mult)
		levels[i] = uint8(min(l, maxHNSWLevel))
	}
	h, err := newHNSW(spec, vectors, dim, levels)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return h, nil
	}
	h.entry, h.maxLevel = 0, int(levels[0])
	b := &hnswBuild{h: h, ef: p.EfConstruction, locks: make([]sync.Mutex, n)}
	threads = max(1, min(threads, n/64+1))
	if threads == 1 {
		s := newSearcher(n, h.m0, b.ef)
		for i := 1; i < n; i++ {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			b.insert(s, uint32(i))
		}
		return h, nil
	}
	var next atomic.Int64
	next.Store(1)
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSearcher(n, h.m0, b.ef)
			for j := 0; ; j++ {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if j%256 == 0 && ctx.Err() != nil {
					return
				}
				b.insert(s, uint32(i))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// newHNSW allocates an empty graph for the given levels.
func newHNSW(spec Spec, vectors []float32, dim int, levels []uint8) (*HNSW, error) {
	n := len(levels)
	m := spec.Params.M
	h := &HNSW{
		spec:     spec,
		dim:      dim,
		n:        n,
		l2:       spec.Metric == L2,
		m:        m,
		m0:       2 * m,
		vectors:  vectors,
		levels:   levels,
		links0:   make([]uint32, n*(2*m+1)),
		upperOff: make([]uint32, n),
	}
	total := 0
	for i, l := range levels {
		if l > 0 {
			h.upperOff[i] = uint32(total)
			total += int(l) * (m + 1)
			if total > math.MaxUint32 {
				return nil, fmt.Errorf("%w: hnsw upper layers exceed 2^32 links", ErrInvalidInput)
			}
		}
	}
	h.upper = make([]uint32, total)
	return h, nil
}

// hnswBuild is the state shared by the insert workers of one build.
type hnswBuild struct {
	h     *HNSW
	ef    int
	mu    sync.Mutex // guards h.entry and h.maxLevel
	locks []sync.Mutex
}

// neighboursLocked copies row's list on layer under its lock: another
// worker may be rewriting it.
func (b *hnswBuild) neighboursLocked(s *searcher, row uint32, layer int) []uint32 {
	b.locks[row].Lock()
	blk := b.h.block(row, layer)
	out := append(s.nbuf[:0], blk[1:1+blk[0]]...)
	b.locks[row].Unlock()
	return out
}

func (b *hnswBuild) insert(s *searcher, row uint32) {
	h := b.h
	q := h.vec(row)
	lvl := int(h.levels[row])

	b.mu.Lock()
	ep, maxL := h.entry, h.maxLevel
	if lvl <= maxL {
		b.mu.Unlock()
	} else {
		// A new top level: hold the lock so no one else sees a half-linked
		// entry point (rare: one row in M^maxLevel).
		defer func() {
			h.entry, h.maxLevel = row, lvl
			b.mu.Unlock()
		}()
	}

	cur := Candidate{Row: ep, Dist: distance(h.l2, q, h.vec(ep))}
	for l := maxL; l > lvl; l-- {
		cur = h.greedy(q, cur, l, func(r uint32, l int) []uint32 { return b.neighboursLocked(s, r, l) })
	}
	for l := min(lvl, maxL); l >= 0; l-- {
		h.searchLayer(s, q, cur, b.ef, l, nil, b)
		s.sorted = s.res.drainSorted(s.sorted)
		cands := s.sorted
		s.sel = h.selectNeighbours(cands, h.m, s.sel[:0])

		b.locks[row].Lock()
		blk := h.block(row, l)
		blk[0] = uint32(len(s.sel))
		for i, c := range s.sel {
			blk[1+i] = c.Row
		}
		b.locks[row].Unlock()

		for _, c := range s.sel {
			b.link(s, c.Row, row, c.Dist, l)
		}
		cur = cands[0]
	}
}

// link adds the edge from -> to on layer, where d is their distance; a full
// list is shrunk back to capacity with the selection heuristic.
func (b *hnswBuild) link(s *searcher, from, to uint32, d float32, layer int) {
	h := b.h
	capacity := h.m
	if layer == 0 {
		capacity = h.m0
	}
	b.locks[from].Lock()
	defer b.locks[from].Unlock()
	blk := h.block(from, layer)
	cnt := int(blk[0])
	if cnt < capacity {
		blk[1+cnt] = to
		blk[0]++
		return
	}
	ids := blk[1 : 1+cnt]
	dists := s.dists[:cnt]
	h.gather(h.vec(from), ids, dists)
	cands := s.shrink[:0]
	for i, r := range ids {
		cands = append(cands, Candidate{Row: r, Dist: dists[i]})
	}
	cands = append(cands, Candidate{Row: to, Dist: d})
	slices.SortFunc(cands, cmpCandidate)
	sel := h.selectNeighbours(cands, capacity, s.lsel[:0])
	blk[0] = uint32(len(sel))
	for i, c := range sel {
		blk[1+i] = c.Row
	}
	s.shrink, s.lsel = cands, sel
}

func cmpCandidate(a, b Candidate) int {
	if less(a, b) {
		return -1
	}
	if less(b, a) {
		return 1
	}
	return 0
}

// selectNeighbours is hnswlib's heuristic: walk cands (closest first) and
// keep one only if it is closer to the base than to every one kept, up to m.
// It keeps the graph navigable across clusters instead of wiring each row to
// its densest neighbourhood only.
func (h *HNSW) selectNeighbours(cands []Candidate, m int, out []Candidate) []Candidate {
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		vc := h.vec(c.Row)
		keep := true
		for _, r := range out {
			if distance(h.l2, vc, h.vec(r.Row)) < c.Dist {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c)
		}
	}
	return out
}

// gather sets dists[i] to the distance of q and row ids[i].
func (h *HNSW) gather(q []float32, ids []uint32, dists []float32) {
	if h.l2 {
		l2GatherImpl(q, h.vectors, h.dim, ids, dists)
		return
	}
	dotGatherImpl(q, h.vectors, h.dim, ids, dists)
	for i := range dists {
		dists[i] = -dists[i]
	}
}

// greedy walks layer from cur to a local minimum of the distance to q.
func (h *HNSW) greedy(q []float32, cur Candidate, layer int, nbrs func(uint32, int) []uint32) Candidate {
	for changed := true; changed; {
		changed = false
		for _, r := range nbrs(cur.Row, layer) {
			if d := distance(h.l2, q, h.vec(r)); d < cur.Dist || (d == cur.Dist && r < cur.Row) {
				cur = Candidate{Row: r, Dist: d}
				changed = true
			}
		}
	}
	return cur
}

// searchLayer is the beam search of one layer from ep with a list of ef. It
// leaves the best ef rows that allow admits in s.res. Rows allow rejects are
// still expanded, so a filter does not cut the graph apart. b is non-nil
// during a build, when neighbour lists must be read under their locks.
func (h *HNSW) searchLayer(s *searcher, q []float32, ep Candidate, ef, layer int, allow Allow, b *hnswBuild) {
	s.next()
	s.cand = s.cand[:0]
	s.res = s.res[:0]
	visited, epoch := s.visited, s.epoch
	visited[ep.Row] = epoch
	s.cand.push(ep)
	if allow == nil || allow(ep.Row) {
		s.res.push(ep)
	}
	for len(s.cand) > 0 {
		c := s.cand[0]
		if len(s.res) >= ef && c.Dist > s.res[0].Dist {
			break
		}
		s.cand.pop()
		var nb []uint32
		if b != nil {
			nb = b.neighboursLocked(s, c.Row, layer)
		} else {
			nb = h.neighbours(c.Row, layer)
		}
		ids := s.ids[:0]
		for _, r := range nb {
			if visited[r] != epoch {
				visited[r] = epoch
				ids = append(ids, r)
			}
		}
		dists := s.dists[:len(ids)]
		h.gather(q, ids, dists)
		for i, r := range ids {
			d := dists[i]
			if len(s.res) < ef || d < s.res[0].Dist {
				cd := Candidate{Row: r, Dist: d}
				s.cand.push(cd)
				if allow == nil || allow(r) {
					s.res.push(cd)
					if len(s.res) > ef {
						s.res.pop()
					}
				}
			}
		}
		s.ids = ids
	}
}

func (h *HNSW) getSearcher(ef int) *searcher {
	if s, ok := h.searchers.Get().(*searcher); ok {
		return s
	}
	return newSearcher(h.n, h.m0, ef)
}

// Search implements Index. With an allow filter, it first estimates from a
// fixed sample of rows how many pass; when so few pass that the graph search
// would have to wade through mostly rejected rows, it scores the passing rows
// exactly instead (see preferFlat). A graph search that still finds fewer
// than k admitted rows falls back to the exact search too, so a filter never
// costs results.
func (h *HNSW) Search(q []float32, k int, p SearchParams, allow Allow) []Candidate {
	if len(q) != h.dim || k <= 0 || h.n == 0 {
		return nil
	}
	ef := p.ef(k)
	if allow != nil && h.preferFlat(allow, ef) {
		return FlatSearch(h.spec.Metric, q, h.vectors, h.dim, k, allow)
	}
	s := h.getSearcher(ef)
	defer h.searchers.Put(s)
	cur := Candidate{Row: h.entry, Dist: distance(h.l2, q, h.vec(h.entry))}
	for l := h.maxLevel; l > 0; l-- {
		cur = h.greedy(q, cur, l, h.neighbours)
	}
	h.searchLayer(s, q, cur, ef, 0, allow, nil)
	if allow != nil && len(s.res) < min(k, h.n) {
		return FlatSearch(h.spec.Metric, q, h.vectors, h.dim, k, allow)
	}
	for len(s.res) > k {
		s.res.pop()
	}
	out := make([]Candidate, len(s.res))
	copy(out, s.res)
	slices.SortFunc(out, cmpCandidate)
	return out
}

// filterSample is how many evenly spaced rows preferFlat tests.
const filterSample = 512

// preferFlat decides between the filtered graph search and an exact scan of
// the admitted rows. With a fraction s of rows admitted, the graph search
// must expand about ef/s rows, each costing about m0/2 new distances; the
// scan costs s*n distances. The scan wins when s*n < ef*m0/(2s), that is
// when 2*s*s*n < ef*m0. s is estimated on a fixed sample, so the choice is
// deterministic.
func (h *HNSW) preferFlat(allow Allow, ef int) bool {
	sample := min(h.n, filterSample)
	pass := 0
	for i := 0; i < sample; i++ {
		if allow(uint32(i * h.n / sample)) {
			pass++
		}
	}
	s := float64(pass) / float64(sample)
	return 2*s*s*float64(h.n) < float64(ef*h.m0)
}

// Spec implements Index.
func (h *HNSW) Spec() Spec { return h.spec }

// Dim implements Index.
func (h *HNSW) Dim() int { return h.dim }

// Len implements Index.
func (h *HNSW) Len() int { return h.n }

// MemoryBytes implements Index: the graph, not the vectors.
func (h *HNSW) MemoryBytes() int64 {
	return int64(len(h.levels)) + 4*int64(len(h.links0)+len(h.upperOff)+len(h.upper))
}

// Entry returns the entry row and the top layer, for tests and diagnostics.
func (h *HNSW) Entry() (row uint32, level int) { return h.entry, h.maxLevel }

// Neighbours returns a copy of row's neighbour list on layer, for tests and
// diagnostics; nil if row does not reach that layer.
func (h *HNSW) Neighbours(row uint32, layer int) []uint32 {
	if int(row) >= h.n || layer < 0 || layer > int(h.levels[row]) {
		return nil
	}
	return slices.Clone(h.neighbours(row, layer))
}
