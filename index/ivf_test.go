package index

import (
	"context"
	"math/rand"
	"slices"
	"testing"
)

func ivfSpec(t Type, m Metric, nlist int) Spec {
	s := DefaultSpec(t, m)
	s.Params.Nlist = nlist
	return s
}

func TestIVFRecall(t *testing.T) {
	data, queries := recallData()
	for _, typ := range []Type{TypeIVFFlat, TypeIVFSQ8} {
		for _, m := range []Metric{L2, IP} {
			ix := mustBuild(t, ivfSpec(typ, m, 64), BuildOptions{Threads: 2, Seed: 1}, data, 64)
			lo := meanRecall(t, ix, m, data, queries, 64, 10, SearchParams{Nprobe: 1}, nil)
			hi := meanRecall(t, ix, m, data, queries, 64, 10, SearchParams{Nprobe: 8}, nil)
			all := meanRecall(t, ix, m, data, queries, 64, 10, SearchParams{Nprobe: 64}, nil)
			t.Logf("%v %v: recall@10 nprobe=1 %.4f, 8 %.4f, 64 %.4f", typ, m, lo, hi, all)
			if hi < 0.95 {
				t.Fatalf("%v %v: recall@10 at nprobe=8 = %.4f, want >= 0.95", typ, m, hi)
			}
			if lo > hi {
				t.Fatalf("%v %v: recall fell from nprobe=1 (%.4f) to 8 (%.4f)", typ, m, lo, hi)
			}
			// Every cell scanned: IVF_FLAT is exact; SQ8 re-ranks exactly,
			// so it misses only what the shortlist dropped.
			want := 1.0
			if typ == TypeIVFSQ8 {
				want = 0.98
			}
			if all < want {
				t.Fatalf("%v %v: recall@10 with every cell probed = %.4f, want >= %.2f", typ, m, all, want)
			}
		}
	}
}

func TestIVFStructure(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	data := clustered(rng, 3000, 16, 12)
	for _, typ := range []Type{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		ix := mustBuild(t, ivfSpec(typ, L2, 32), BuildOptions{Threads: 3, Seed: 2}, data, 16).(*IVF)
		if ix.offsets[0] != 0 || int(ix.offsets[ix.nlist]) != ix.n {
			t.Fatalf("%v: offsets span %d..%d, want 0..%d", typ, ix.offsets[0], ix.offsets[ix.nlist], ix.n)
		}
		seen := make([]bool, ix.n)
		for c := 0; c < ix.nlist; c++ {
			for _, r := range ix.rows[ix.offsets[c]:ix.offsets[c+1]] {
				if seen[r] {
					t.Fatalf("%v: row %d in two cells", typ, r)
				}
				seen[r] = true
				// Each row sits in its nearest cell.
				v := data[int(r)*16 : int(r+1)*16]
				mine := L2Squared(v, ix.centroids[c*16:(c+1)*16])
				for o := 0; o < ix.nlist; o++ {
					if d := L2Squared(v, ix.centroids[o*16:(o+1)*16]); d < mine {
						t.Fatalf("%v: row %d in cell %d (%.4f) but cell %d is closer (%.4f)", typ, r, c, mine, o, d)
					}
				}
			}
		}
		// Same seed, other thread count: identical cells.
		again := mustBuild(t, ivfSpec(typ, L2, 32), BuildOptions{Threads: 1, Seed: 2}, data, 16).(*IVF)
		if !slices.Equal(ix.centroids, again.centroids) || !slices.Equal(ix.rows, again.rows) || !slices.Equal(ix.codes, again.codes) ||
			(typ == TypeIVFPQ && (!slices.Equal(ix.pq.codes, again.pq.codes) || !slices.Equal(ix.pq.codebook, again.pq.codebook))) {
			t.Fatalf("%v: builds with 3 and 1 threads and one seed differ", typ)
		}
	}
}

func TestSQ8CodesReconstruct(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	data := randFloats(rng, 500*24)
	ix := mustBuild(t, ivfSpec(TypeIVFSQ8, L2, 4), BuildOptions{Threads: 1, Seed: 1}, data, 24).(*IVF)
	for pos, r := range ix.rows {
		for j := 0; j < 24; j++ {
			x := data[int(r)*24+j]
			dec := ix.vmin[j] + ix.scale[j]*float32(ix.codes[pos*24+j])
			if d := x - dec; d > ix.scale[j]/2*1.001 || -d > ix.scale[j]/2*1.001 {
				t.Fatalf("row %d dim %d: %v decodes to %v, error above half a step %v", r, j, x, dec, ix.scale[j]/2)
			}
		}
	}
	// The approximate L2 of the kernel identity matches decoding directly.
	q := randFloats(rng, 24)
	s := ix.getScratch()
	got := ix.scanSQ8(s, q, 5, []Candidate{{Row: 0}, {Row: 1}, {Row: 2}, {Row: 3}}, nil)
	want := FlatSearch(L2, q, data, 24, 5, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("SQ8 over every cell with re-ranking = %v, want exact %v", got, want)
	}
}

func TestIVFFilterAndEdges(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	data := clustered(rng, 2000, 8, 10)
	for _, typ := range []Type{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		ix := mustBuild(t, ivfSpec(typ, L2, 16), BuildOptions{Threads: 2, Seed: 1}, data, 8)
		q := data[8:16]
		rare := func(r uint32) bool { return r%97 == 5 }
		got := ix.Search(q, 10, SearchParams{Nprobe: 1}, rare)
		if want := FlatSearch(L2, q, data, 8, 10, rare); !slices.Equal(got, want) {
			t.Fatalf("%v: rare filter with nprobe=1 = %v, want exact %v (fallback)", typ, got, want)
		}
		if got := ix.Search(q[:7], 10, SearchParams{}, nil); got != nil {
			t.Fatalf("%v: short query returned %v", typ, got)
		}
		if got := ix.Search(q, 10, SearchParams{Nprobe: 1 << 20}, nil); len(got) != 10 || got[0].Row != 1 || got[0].Dist != 0 {
			t.Fatalf("%v: huge nprobe: %v", typ, got)
		}
		// Fewer rows than cells: one cell per row.
		small := mustBuild(t, ivfSpec(typ, IP, 1024), BuildOptions{Seed: 1}, data[:5*8], 8)
		if small.Spec().Params.Nlist != 5 {
			t.Fatalf("%v: nlist on 5 rows = %d, want 5", typ, small.Spec().Params.Nlist)
		}
		if got := small.Search(q, 10, SearchParams{Nprobe: 5}, nil); len(got) != 5 {
			t.Fatalf("%v: 5-row index returned %v", typ, got)
		}
		empty := mustBuild(t, ivfSpec(typ, L2, 8), BuildOptions{Seed: 1}, nil, 8)
		if got := empty.Search(q, 3, SearchParams{}, nil); got != nil {
			t.Fatalf("%v: empty index returned %v", typ, got)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildIVF(ctx, ivfSpec(TypeIVFFlat, L2, 16), data, 8, rand.New(rand.NewSource(1)), 2); err == nil {
		t.Fatal("cancelled IVF build succeeded")
	}
}
