package index

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"unsafe"
)

// recallData is the seeded 10k×64 dataset of the recall floors (fewer rows
// under -short, same floors).
var recallData = sync.OnceValues(func() (data, queries []float32) {
	n := 10000
	if testing.Short() {
		n = 4000
	}
	rng := rand.New(rand.NewSource(42))
	all := clustered(rng, n+200, 64, 50)
	return all[:n*64], all[n*64:]
})

func TestHNSWRecall(t *testing.T) {
	data, queries := recallData()
	for _, m := range []Metric{L2, IP} {
		ix := mustBuild(t, DefaultSpec(TypeHNSW, m), BuildOptions{Threads: 2, Seed: 1}, data, 64)
		r := meanRecall(t, ix, m, data, queries, 64, 10, SearchParams{Ef: 64}, nil)
		t.Logf("%v: recall@10 at ef=64 = %.4f", m, r)
		if r < 0.95 {
			t.Fatalf("%v: recall@10 at ef=64 = %.4f, want >= 0.95", m, r)
		}
		if lo := meanRecall(t, ix, m, data, queries, 64, 10, SearchParams{Ef: 10}, nil); lo > r {
			t.Fatalf("%v: recall at ef=10 (%.4f) above ef=64 (%.4f)", m, lo, r)
		}
	}
}

// graphHash fingerprints everything that makes up the graph's shape.
func graphHash(h *HNSW) uint64 {
	f := fnv.New64a()
	b := func(p []uint32) {
		if len(p) > 0 {
			f.Write(unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 4*len(p)))
		}
	}
	b([]uint32{h.entry, uint32(h.maxLevel)})
	f.Write(h.levels)
	b(h.links0)
	b(h.upperOff)
	b(h.upper)
	return f.Sum64()
}

func buildHNSW(t *testing.T, m Metric, p Params, data []float32, dim int, seed int64, threads int) *HNSW {
	t.Helper()
	h, err := BuildHNSW(context.Background(), m, p, data, dim, rand.New(rand.NewSource(seed)), threads)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHNSWGoldenShape pins the exact graph of a single-threaded build. The
// data are small integers, so every distance is exact whatever the kernel
// level (generic, avx2, avx512, noasm) and the shape must not change with
// it. A change of this value is a change of the algorithm: check recall, then
// update it.
func TestHNSWGoldenShape(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	data := smallInts(rng, 400*8)
	h := buildHNSW(t, L2, Params{M: 4, EfConstruction: 32}, data, 8, 7, 1)
	ep, top := h.Entry()
	const wantHash = uint64(0xf9ddb219bd94b767)
	if got := graphHash(h); got != wantHash {
		t.Fatalf("graph hash = %#x, want %#x (entry %d, top layer %d)", got, wantHash, ep, top)
	}
}

// TestHNSWLineGraph checks a shape derivable by hand: points on a line,
// inserted left to right. On a layer, the row at position p > M among the
// rows reaching it has more than M candidates, and the heuristic keeps only
// its left neighbour (anything further left is closer to that one); the
// next row then links back to it. So such rows link to exactly [prev, next],
// in that order, and the last row to [prev].
func TestHNSWLineGraph(t *testing.T) {
	const n, m = 200, 4
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i)
	}
	h := buildHNSW(t, L2, Params{M: m, EfConstruction: 64}, data, 1, 5, 1)
	checked := 0
	for l := 0; l <= h.maxLevel; l++ {
		var onLayer []uint32
		for r := 0; r < n; r++ {
			if int(h.levels[r]) >= l {
				onLayer = append(onLayer, uint32(r))
			}
		}
		for p := m + 1; p < len(onLayer); p++ {
			want := []uint32{onLayer[p-1]}
			if p+1 < len(onLayer) {
				want = append(want, onLayer[p+1])
			}
			if got := h.Neighbours(onLayer[p], l); !slices.Equal(got, want) {
				t.Fatalf("layer %d row %d: neighbours %v, want %v", l, onLayer[p], got, want)
			}
			checked++
		}
	}
	if h.maxLevel == 0 || checked < n-m-1 {
		t.Fatalf("seed 5 exercised too little (top layer %d, %d rows checked)", h.maxLevel, checked)
	}
}

func TestHNSWDeterministic(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	data := clustered(rng, 2000, 16, 20)
	p := Params{M: 8, EfConstruction: 64}
	a := buildHNSW(t, L2, p, data, 16, 9, 1)
	b := buildHNSW(t, L2, p, data, 16, 9, 1)
	c := buildHNSW(t, L2, p, data, 16, 10, 1)
	if graphHash(a) != graphHash(b) {
		t.Fatal("two single-threaded builds with one seed differ")
	}
	if graphHash(a) == graphHash(c) {
		t.Fatal("builds with different seeds are identical")
	}
	// A concurrent build draws the same levels (they come from the seed
	// before any insertion); only the links may differ.
	d := buildHNSW(t, L2, p, data, 16, 9, 4)
	if !slices.Equal(a.levels, d.levels) {
		t.Fatal("concurrent build drew different levels")
	}
}

func TestHNSWConcurrentBuildIsValid(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	data := clustered(rng, 3000, 8, 10)
	h := buildHNSW(t, L2, Params{M: 6, EfConstruction: 40}, data, 8, 1, 4)
	for r := 0; r < h.n; r++ {
		for l := 0; l <= int(h.levels[r]); l++ {
			nb := h.Neighbours(uint32(r), l)
			if r != int(h.entry) && l == 0 && len(nb) == 0 && h.n > 1 {
				t.Fatalf("row %d has no neighbours on layer 0", r)
			}
			capacity := h.m
			if l == 0 {
				capacity = h.m0
			}
			if len(nb) > capacity {
				t.Fatalf("row %d layer %d: %d neighbours > capacity %d", r, l, len(nb), capacity)
			}
			for _, x := range nb {
				if int(x) >= h.n || x == uint32(r) || int(h.levels[x]) < l {
					t.Fatalf("row %d layer %d: bad neighbour %d", r, l, x)
				}
			}
		}
	}
	if got := h.Search(data[:8], 1, SearchParams{}, nil); len(got) != 1 || got[0].Dist != 0 {
		t.Fatalf("searching for row 0's own vector: %+v", got)
	}
}

func TestHNSWFilteredSearch(t *testing.T) {
	data, queries := recallData()
	ix := mustBuild(t, DefaultSpec(TypeHNSW, L2), BuildOptions{Threads: 2, Seed: 1}, data, 64)
	h := ix.(*HNSW)
	even := func(r uint32) bool { return r%2 == 0 }
	if h.preferFlat(even, 32) {
		t.Fatal("a filter admitting half the rows chose the exact scan")
	}
	if r := meanRecall(t, ix, L2, data, queries[:50*64], 64, 10, SearchParams{Ef: 32}, even); r < 0.95 {
		t.Fatalf("recall with half the rows deleted = %.4f, want >= 0.95", r)
	}
	// 1 row in 100 admitted: the exact scan must take over, results exact.
	rare := func(r uint32) bool { return r%100 == 7 }
	if !h.preferFlat(rare, 64) {
		t.Fatal("a filter admitting 1% of rows did not choose the exact scan")
	}
	for i := 0; i < 20; i++ {
		q := queries[i*64 : (i+1)*64]
		got := ix.Search(q, 10, SearchParams{}, rare)
		want := FlatSearch(L2, q, data, 64, 10, rare)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d with a 1%% filter: %v, want exact %v", i, got, want)
		}
	}
	none := func(uint32) bool { return false }
	if got := ix.Search(queries[:64], 10, SearchParams{}, none); len(got) != 0 {
		t.Fatalf("filter admitting nothing returned %v", got)
	}
	// Two admitted rows, k=10: exactly those two.
	two := func(r uint32) bool { return r == 3 || r == 1234 }
	if got := ix.Search(queries[:64], 10, SearchParams{}, two); len(got) != 2 {
		t.Fatalf("filter admitting 2 rows returned %v", got)
	}
}

func TestHNSWSearchEdges(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	data := randFloats(rng, 50*4)
	ix := mustBuild(t, DefaultSpec(TypeHNSW, L2), BuildOptions{Threads: 1, Seed: 1}, data, 4)
	if got := ix.Search(make([]float32, 3), 5, SearchParams{}, nil); got != nil {
		t.Fatalf("wrong query length returned %v", got)
	}
	if got := ix.Search(data[:4], 0, SearchParams{}, nil); got != nil {
		t.Fatalf("k=0 returned %v", got)
	}
	got := ix.Search(data[:4], 100, SearchParams{Ef: 1 << 30}, nil)
	if len(got) != 50 {
		t.Fatalf("k=100 over 50 rows returned %d", len(got))
	}
	if !slices.Equal(got, FlatSearch(L2, data[:4], data, 4, 100, nil)) {
		t.Fatal("k=n search is not the exact order")
	}
	for _, n := range []int{0, 1} {
		ix := mustBuild(t, DefaultSpec(TypeHNSW, IP), BuildOptions{Threads: 3, Seed: 1}, data[:n*4], 4)
		if got := ix.Search(data[:4], 3, SearchParams{}, nil); len(got) != n {
			t.Fatalf("%d rows: search returned %v", n, got)
		}
	}
}

func TestHNSWBuildCancelled(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	data := randFloats(rng, 5000*8)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, threads := range []int{1, 2} {
		_, err := BuildHNSW(ctx, L2, Params{M: 8, EfConstruction: 32}, data, 8, rand.New(rand.NewSource(1)), threads)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("threads=%d: cancelled build returned %v", threads, err)
		}
	}
}
