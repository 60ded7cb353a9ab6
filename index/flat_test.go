package index

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

func TestFlatSearchMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n, dim, k = 500, 17, 10
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = rng.Float32()*2 - 1
	}
	q := vecs[3*dim : 4*dim]
	for _, m := range []Metric{L2, IP} {
		got := FlatSearch(m, q, vecs, dim, k, func(r uint32) bool { return r%2 == 1 })
		var all []Candidate
		for r := 1; r < n; r += 2 {
			all = append(all, Candidate{Row: uint32(r), Dist: m.Distance(q, vecs[r*dim:(r+1)*dim])})
		}
		sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
		if len(got) != k {
			t.Fatalf("%v: got %d results, want %d", m, len(got), k)
		}
		for i := range got {
			if got[i] != all[i] {
				t.Fatalf("%v: result %d = %+v, want %+v", m, i, got[i], all[i])
			}
		}
	}
}

func TestParseMetric(t *testing.T) {
	for s, want := range map[string]Metric{"l2": L2, "IP": IP, " cosine ": Cosine} {
		got, err := ParseMetric(s)
		if err != nil || got != want {
			t.Fatalf("ParseMetric(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseMetric("hamming"); err == nil {
		t.Fatal("ParseMetric(hamming) succeeded")
	}
}

func TestFlatSearchFilteredChunksAndEdges(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	const n, dim = 1000, 9 // spans several chunks, the last one partial
	vecs := randFloats(rng, n*dim)
	q := randFloats(rng, dim)
	for _, m := range []Metric{L2, IP, Cosine} {
		for _, allow := range []Allow{nil, func(r uint32) bool { return r%7 != 0 }, func(r uint32) bool { return r >= 300 && r < 700 }} {
			got := FlatSearch(m, q, vecs, dim, 25, allow)
			var all []Candidate
			for r := 0; r < n; r++ {
				if allow == nil || allow(uint32(r)) {
					all = append(all, Candidate{Row: uint32(r), Dist: m.Distance(q, vecs[r*dim:(r+1)*dim])})
				}
			}
			sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
			if len(got) != 25 {
				t.Fatalf("%v: %d results", m, len(got))
			}
			for i := range got {
				if got[i].Row != all[i].Row || math.Abs(float64(got[i].Dist-all[i].Dist)) > 1e-5 {
					t.Fatalf("%v: result %d = %+v, want %+v", m, i, got[i], all[i])
				}
			}
		}
	}
	if got := FlatSearch(L2, q, vecs[:3*dim], dim, 10, nil); len(got) != 3 {
		t.Fatalf("k above n: %d results", len(got))
	}
	if got := FlatSearch(L2, q[:dim-1], vecs, dim, 10, nil); got != nil {
		t.Fatalf("short query: %v", got)
	}
	// Ties: equal distances come back lowest row first.
	same := make([]float32, 600*2)
	if got := FlatSearch(L2, []float32{0, 0}, same, 2, 3, nil); got[0].Row != 0 || got[1].Row != 1 || got[2].Row != 2 {
		t.Fatalf("ties: %v", got)
	}
}
