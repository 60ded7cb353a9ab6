package index

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
)

func pqSpec(m Metric, nlist, pqm int) Spec {
	s := DefaultSpec(TypeIVFPQ, m)
	s.Params.Nlist, s.Params.PQM = nlist, pqm
	return s
}

// pqRecallData is a seeded clustered set at d=128 (the dimension of the
// memory target): 8000 base rows and 100 held-out queries from the same
// clusters; for COSINE every row is normalised, as insert does.
func pqRecallData(normalise bool) (data, queries []float32) {
	const dim, n, nq = 128, 8000, 100
	all := clustered(rand.New(rand.NewSource(41)), n+nq, dim, 40)
	if normalise {
		for i := 0; i < n+nq; i++ {
			v := all[i*dim : (i+1)*dim]
			var s float64
			for _, x := range v {
				s += float64(x) * float64(x)
			}
			inv := float32(1 / math.Sqrt(s))
			for j := range v {
				v[j] *= inv
			}
		}
	}
	return all[:n*dim], all[n*dim:]
}

var pqRecallL2 = sync.OnceValues(func() ([]float32, []float32) { return pqRecallData(false) })
var pqRecallCos = sync.OnceValues(func() ([]float32, []float32) { return pqRecallData(true) })

// TestIVFPQRecall is the recall floor: recall@10 ≥ 0.9 at nprobe 16 of 64
// cells with the default re-rank, under L2 and COSINE; without the re-rank
// (Refine 1: the shortlist is the top k by code) recall is clearly lower,
// so the re-rank is what reaches the floor. Memory per row is at most 1/8
// of its float32 size.
func TestIVFPQRecall(t *testing.T) {
	const dim = 128
	for _, c := range []struct {
		m    Metric
		data func() ([]float32, []float32)
	}{{L2, pqRecallL2}, {Cosine, pqRecallCos}} {
		data, queries := c.data()
		ix := mustBuild(t, pqSpec(c.m, 64, 0), BuildOptions{Threads: 2, Seed: 1}, data, dim)
		if got := ix.Spec().Params.PQM; got != 32 {
			t.Fatalf("%v: default pq_m at d=128 = %d, want 32", c.m, got)
		}
		raw := meanRecall(t, ix, c.m, data, queries, dim, 10, SearchParams{Nprobe: 16, Refine: 1}, nil)
		def := meanRecall(t, ix, c.m, data, queries, dim, 10, SearchParams{Nprobe: 16}, nil)
		all := meanRecall(t, ix, c.m, data, queries, dim, 10, SearchParams{Nprobe: 64, Refine: 32}, nil)
		perRow := float64(ix.MemoryBytes()) / float64(ix.Len())
		t.Logf("%v: recall@10 nprobe=16 refine=1 %.4f, refine=%d %.4f; nprobe=64 refine=32 %.4f; %.1f B/row (float32 %d B)",
			c.m, raw, DefaultRefine, def, all, perRow, 4*dim)
		if def < 0.9 {
			t.Fatalf("%v: recall@10 at nprobe=16 after re-rank = %.4f, want >= 0.9", c.m, def)
		}
		if raw > def-0.05 {
			t.Fatalf("%v: recall@10 without re-rank %.4f is not clearly below %.4f with it", c.m, raw, def)
		}
		if all < 0.97 {
			t.Fatalf("%v: recall@10 with every cell and refine 32 = %.4f, want >= 0.97", c.m, all)
		}
		if perRow > 4*dim/8 {
			t.Fatalf("%v: %.1f bytes per row, want <= %d (1/8 of float32)", c.m, perRow, 4*dim/8)
		}
	}
}

// TestPQCodesDecode checks the encoding: a decoded row is much closer to
// the row than its centroid alone, and the table-lookup distances of the
// scan equal the distances to the decoded rows.
func TestPQCodesDecode(t *testing.T) {
	const dim = 32
	rng := rand.New(rand.NewSource(42))
	data := clustered(rng, 3000, dim, 10)
	for _, m := range []Metric{L2, IP} {
		ix := mustBuild(t, pqSpec(m, 8, 8), BuildOptions{Threads: 2, Seed: 1}, data, dim).(*IVF)
		pq := ix.pq
		if pq.m != 8 || pq.dsub != 4 || pq.ksub != 256 || len(pq.codes) != 3000*8 || len(pq.codebook) != 256*dim {
			t.Fatalf("%v: pq m %d dsub %d ksub %d, %d codes, %d codebook floats", m, pq.m, pq.dsub, pq.ksub, len(pq.codes), len(pq.codebook))
		}
		var errPQ, errCell float64
		for pos, r := range ix.rows {
			x := data[int(r)*dim : int(r+1)*dim]
			errPQ += float64(L2Squared(x, ix.decodeRow(pos)))
			errCell += float64(L2Squared(x, ix.centroids[ix.cellOf(pos)*dim:][:dim]))
		}
		if errPQ > errCell/4 {
			t.Fatalf("%v: squared error of decoded rows %.1f, of centroids alone %.1f: want 4x lower", m, errPQ, errCell)
		}
		every := make([]Candidate, ix.nlist)
		q := randFloats(rng, dim)
		for c := range every {
			every[c] = Candidate{Row: uint32(c), Dist: distance(ix.l2, q, ix.centroids[c*dim:(c+1)*dim])}
		}
		s := ix.getScratch()
		list := ix.shortlistPQ(s, q, ix.n, every, nil)
		if list.Len() != ix.n {
			t.Fatalf("%v: shortlist of every row has %d of %d", m, list.Len(), ix.n)
		}
		pos := make(map[uint32]int, ix.n)
		for p, r := range ix.rows {
			pos[r] = p
		}
		for _, c := range list.heap {
			want := distance(ix.l2, q, ix.decodeRow(pos[c.Row]))
			if d := math.Abs(float64(c.Dist - want)); d > 1e-3*(1+math.Abs(float64(want))) {
				t.Fatalf("%v: row %d: table distance %v, distance to decoded row %v", m, c.Row, c.Dist, want)
			}
		}
		// With every row shortlisted the re-rank makes the scan exact.
		got := ix.scanPQ(s, q, 10, ix.n, every, nil)
		if want := FlatSearch(m, q, data, dim, 10, nil); !slices.Equal(got, want) {
			t.Fatalf("%v: full shortlist re-ranked = %v, want exact %v", m, got, want)
		}
	}
}

func TestPQSpec(t *testing.T) {
	for dim, want := range map[int]int{128: 32, 784: 196, 100: 25, 3: 1, 7: 1, 8: 2, 768: 192, 32768: 1024} {
		if got := DefaultPQM(dim); got != want {
			t.Fatalf("DefaultPQM(%d) = %d, want %d", dim, got, want)
		}
		if err := DefaultSpec(TypeIVFPQ, L2).WithDim(dim).ValidateDim(dim); err != nil {
			t.Fatalf("default IVF_PQ spec at dim %d: %v", dim, err)
		}
	}
	if got := pqSpec(L2, 64, 8).WithDim(128).Params.PQM; got != 8 {
		t.Fatalf("WithDim kept pq_m %d, want the given 8", got)
	}
	if got := (Spec{Type: TypeIVFSQ8, Metric: L2, Params: Params{PQM: 8}}).WithDim(128).Params.PQM; got != 0 {
		t.Fatalf("WithDim left pq_m %d on an IVF_SQ8 spec, want 0", got)
	}
	cases := []struct {
		pqm, dim int
		want     string
	}{
		{16, 128, ""},
		{128, 128, ""},
		{5, 128, "pq_m (5) must divide dim (128) and be at most 128"},
		{256, 128, "pq_m (256) must divide dim (128) and be at most 128"},
		{2048, 4096, "pq_m (2048) must be between 1 and 1024"},
	}
	for _, c := range cases {
		err := pqSpec(L2, 64, c.pqm).ValidateDim(c.dim)
		if c.want == "" {
			if err != nil {
				t.Fatalf("pq_m %d dim %d: %v", c.pqm, c.dim, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("pq_m %d dim %d: err %v, want %q", c.pqm, c.dim, err, c.want)
		}
	}
	// Build refuses a pq_m that does not divide dim.
	b, _ := NewCPUBuilder(BuildOptions{Threads: 1, Seed: 1})
	if _, err := b.Build(t.Context(), pqSpec(L2, 4, 3), make([]float32, 40*8), 8); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("build with pq_m 3 at dim 8: err %v, want ErrInvalidSpec", err)
	}
	if err := (SearchParams{Refine: MaxRefine + 1}).Validate(); err == nil || !strings.Contains(err.Error(), "refine (257) must be between 1 and 256") {
		t.Fatalf("refine out of range: %v", err)
	}
	if typ, err := ParseType("ivf_pq"); err != nil || typ != TypeIVFPQ || typ.String() != "IVF_PQ" {
		t.Fatalf("ParseType(ivf_pq) = %v, %v", typ, err)
	}
}

// TestIVFPQSmallAndFiltered covers fewer rows than centroids per subspace,
// the empty index, and the exact fallback of a filter that leaves too few.
func TestIVFPQSmallAndFiltered(t *testing.T) {
	rng := rand.New(rand.NewSource(43))
	const dim = 8
	data := clustered(rng, 2000, dim, 10)
	q := data[dim : 2*dim]
	for _, m := range []Metric{L2, IP} {
		ix := mustBuild(t, pqSpec(m, 16, 4), BuildOptions{Threads: 2, Seed: 1}, data, dim)
		rare := func(r uint32) bool { return r%97 == 5 }
		if got, want := ix.Search(q, 10, SearchParams{Nprobe: 1}, rare), FlatSearch(m, q, data, dim, 10, rare); !slices.Equal(got, want) {
			t.Fatalf("%v: rare filter = %v, want exact %v (fallback)", m, got, want)
		}
		small := mustBuild(t, pqSpec(m, 4, 2), BuildOptions{Seed: 1}, data[:40*dim], dim).(*IVF)
		if small.pq.ksub != 40 {
			t.Fatalf("%v: ksub on 40 rows = %d, want 40", m, small.pq.ksub)
		}
		got := small.Search(q, 5, SearchParams{Nprobe: 4, Refine: 8}, nil)
		if want := FlatSearch(m, q, data[:40*dim], dim, 5, nil); !slices.Equal(got, want) {
			t.Fatalf("%v: 40-row index, every cell, shortlist 40 = %v, want exact %v", m, got, want)
		}
		empty := mustBuild(t, pqSpec(m, 8, 0), BuildOptions{Seed: 1}, nil, dim)
		if got := empty.Search(q, 3, SearchParams{}, nil); got != nil || empty.Spec().Params.PQM != 2 {
			t.Fatalf("%v: empty index returned %v, pq_m %d", m, got, empty.Spec().Params.PQM)
		}
		blob := mustEncode(t, empty)
		if back, err := Decode(blob, nil, dim); err != nil || back.Spec() != empty.Spec() {
			t.Fatalf("%v: empty index round trip: %v, %v", m, back, err)
		}
	}
}

// TestDecodeRejectsPQDamage edits the IVF_PQ fields behind a valid
// checksum: the structural checks must catch every one.
func TestDecodeRejectsPQDamage(t *testing.T) {
	rng := rand.New(rand.NewSource(44))
	const dim, n, nlist = 4, 100, 4
	data := clustered(rng, n, dim, 4)
	ix := mustBuild(t, pqSpec(L2, nlist, 2), BuildOptions{Threads: 1, Seed: 1}, data, dim)
	blob := mustEncode(t, ix)
	if _, err := Decode(blob, data, dim); err != nil {
		t.Fatal(err)
	}
	pqm, ksub := headerSize+8, headerSize+12
	codes := headerSize + 16 + 4*nlist*dim + 4*(nlist+1) + 4*n + 4*n*dim // ksub = n centroids per subspace
	cases := []struct {
		name string
		edit func(b []byte)
	}{
		{"pq_m not dividing dim", func(b []byte) { binary.LittleEndian.PutUint32(b[pqm:], 3) }},
		{"pq_m zero", func(b []byte) { binary.LittleEndian.PutUint32(b[pqm:], 0) }},
		{"pq_m above dim", func(b []byte) { binary.LittleEndian.PutUint32(b[pqm:], 8) }},
		{"ksub", func(b []byte) { binary.LittleEndian.PutUint32(b[ksub:], 256) }},
		{"code out of range", func(b []byte) { b[codes+3] = n }},
	}
	for _, c := range cases {
		b := slices.Clone(blob)
		c.edit(b)
		if got, err := Decode(reseal(b), data, dim); !errors.Is(err, ErrCorrupt) || got != nil {
			t.Fatalf("%s: index %v, err %v; want ErrCorrupt", c.name, got, err)
		}
	}
	// IP stores no per-row terms: an L2 blob relabelled IP has n*4 extra bytes.
	b := slices.Clone(blob)
	b[7] = byte(IP)
	if _, err := Decode(reseal(b), data, dim); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("L2 blob as IP: err %v, want ErrCorrupt", err)
	}
}
