package index

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
)

// Index benchmarks on a seeded clustered 20k×128 dataset. Search benchmarks
// report queries/s (1/ns-per-op) and recall@10 against FlatSearch.

const benchN, benchD, benchQ = 20000, 128, 200

var benchSet = sync.OnceValues(func() (data, queries []float32) {
	rng := rand.New(rand.NewSource(99))
	all := clustered(rng, benchN+benchQ, benchD, 100)
	return all[:benchN*benchD], all[benchN*benchD:]
})

var benchIndexes sync.Map // Type -> Index

func benchIndex(b *testing.B, typ Type) Index {
	if ix, ok := benchIndexes.Load(typ); ok {
		return ix.(Index)
	}
	data, _ := benchSet()
	spec := DefaultSpec(typ, L2)
	spec.Params.Nlist = 256
	bl, _ := NewCPUBuilder(BuildOptions{Seed: 1})
	ix, err := bl.Build(context.Background(), spec, data, benchD)
	if err != nil {
		b.Fatal(err)
	}
	benchIndexes.Store(typ, ix)
	return ix
}

func BenchmarkHNSWBuild(b *testing.B) {
	data, _ := benchSet()
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("20kx128/threads=%d", threads), func(b *testing.B) {
			for b.Loop() {
				_, err := BuildHNSW(context.Background(), L2, DefaultSpec(TypeHNSW, L2).Params, data, benchD, rand.New(rand.NewSource(1)), threads)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	data, queries := benchSet()
	truth := make([][]Candidate, benchQ)
	for i := range truth {
		truth[i] = FlatSearch(L2, queries[i*benchD:(i+1)*benchD], data, benchD, 10, nil)
	}
	run := func(name string, ix Index, p SearchParams, allow Allow) {
		b.Run(name, func(b *testing.B) {
			var rsum float64
			i := 0
			for b.Loop() {
				qi := i % benchQ
				got := ix.Search(queries[qi*benchD:(qi+1)*benchD], 10, p, allow)
				if i < benchQ {
					rsum += recall(got, truth[qi])
				}
				i++
			}
			b.ReportMetric(rsum/float64(min(i, benchQ)), "recall@10")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "qps")
		})
	}
	h := benchIndex(b, TypeHNSW)
	for _, ef := range []int{10, 20, 40, 80, 160} {
		run(fmt.Sprintf("HNSW/ef=%d", ef), h, SearchParams{Ef: ef}, nil)
	}
	for _, typ := range []Type{TypeIVFFlat, TypeIVFSQ8} {
		ix := benchIndex(b, typ)
		for _, np := range []int{1, 4, 16} {
			run(fmt.Sprintf("%v/nprobe=%d", typ, np), ix, SearchParams{Nprobe: np}, nil)
		}
	}
	run("FLAT", &flatIndex{spec: DefaultSpec(TypeFlat, L2), dim: benchD, vectors: data}, SearchParams{}, nil)
}
