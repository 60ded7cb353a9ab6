package index

import (
	"context"
	"math/rand"
	"testing"
)

// clustered returns n rows of dim floats drawn around `clusters` random
// centres: a stand-in for real embeddings, which are far from uniform.
func clustered(rng *rand.Rand, n, dim, clusters int) []float32 {
	centres := make([]float32, clusters*dim)
	for i := range centres {
		centres[i] = rng.Float32()*2 - 1
	}
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		c := rng.Intn(clusters)
		for j := 0; j < dim; j++ {
			v[i*dim+j] = centres[c*dim+j] + float32(rng.NormFloat64())*0.15
		}
	}
	return v
}

// recall is |got ∩ truth| / |truth| on rows.
func recall(got, truth []Candidate) float64 {
	if len(truth) == 0 {
		return 1
	}
	in := make(map[uint32]bool, len(truth))
	for _, c := range truth {
		in[c.Row] = true
	}
	hit := 0
	for _, c := range got {
		if in[c.Row] {
			hit++
		}
	}
	return float64(hit) / float64(len(truth))
}

// meanRecall searches every query and compares with FlatSearch.
func meanRecall(t *testing.T, ix Index, m Metric, data, queries []float32, dim, k int, p SearchParams, allow Allow) float64 {
	t.Helper()
	nq := len(queries) / dim
	var sum float64
	for i := 0; i < nq; i++ {
		q := queries[i*dim : (i+1)*dim]
		got := ix.Search(q, k, p, allow)
		for j, c := range got {
			if allow != nil && !allow(c.Row) {
				t.Fatalf("query %d: row %d returned but not allowed", i, c.Row)
			}
			if j > 0 && less(c, got[j-1]) {
				t.Fatalf("query %d: results out of order at %d: %+v after %+v", i, j, c, got[j-1])
			}
		}
		sum += recall(got, FlatSearch(m, q, data, dim, k, allow))
	}
	return sum / float64(nq)
}

func mustBuild(t *testing.T, spec Spec, opts BuildOptions, data []float32, dim int) Index {
	t.Helper()
	b, err := NewCPUBuilder(opts)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := b.Build(context.Background(), spec, data, dim)
	if err != nil {
		t.Fatalf("build %v: %v", spec.Type, err)
	}
	return ix
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
