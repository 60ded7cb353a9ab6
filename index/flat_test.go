package index

import (
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
