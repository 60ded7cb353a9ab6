package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/raftvec/raftvec/bench/internal/benchutil"
	"github.com/raftvec/raftvec/index"
)

// dataset is Fashion-MNIST as the HNSW comparison uses it: the 60k train
// images are the base, the 10k test images the queries, 784-d float32, L2,
// with exact top-10 ground truth from index.FlatSearch (ties by lower row).
type dataset struct {
	name          string
	metric        index.Metric
	dim, n, nq    int
	base, queries []float32
	truth         [][]index.Candidate
	truthSec      float64
}

func loadFashion(dir string) (*dataset, error) {
	n, dim, base, err := readIDX(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist (install Debian's dataset-fashion-mnist): %w", err)
	}
	nq, qdim, queries, err := readIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist: %w", err)
	}
	if qdim != dim {
		return nil, fmt.Errorf("fashion-mnist: train is %d-d, t10k is %d-d", dim, qdim)
	}
	ds := &dataset{name: "Fashion-MNIST", metric: index.L2, dim: dim, n: n, nq: nq, base: base, queries: queries, truth: make([][]index.Candidate, nq)}
	ds.computeTruth()
	return ds, nil
}

func (ds *dataset) query(q int) []float32 { return ds.queries[q*ds.dim : (q+1)*ds.dim] }

// writeTruth writes the ground truth as little-endian int32, nq×10.
func (ds *dataset) writeTruth(path string) error {
	buf := make([]byte, 0, ds.nq*topK*4)
	for _, t := range ds.truth {
		for j := range topK {
			buf = binary.LittleEndian.AppendUint32(buf, t[j].Row)
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

// readIDX reads a gzipped IDX3 uint8 image file as float32 rows.
func readIDX(path string) (rows, dim int, data []float32, err error) {
	rows, dim, raw, err := benchutil.ReadIDXBytes(path)
	if err != nil {
		return 0, 0, nil, err
	}
	data = make([]float32, len(raw))
	for i, b := range raw {
		data[i] = float32(b)
	}
	return rows, dim, data, nil
}

// hits counts the rows of got that are in the true top-k.
func hits(got, truth []index.Candidate) int {
	h := 0
	for _, g := range got {
		for _, t := range truth {
			if g.Row == t.Row {
				h++
				break
			}
		}
	}
	return h
}

type ivfRow struct {
	nprobe int
	recall float64
	qps    []float64 // one per round
}

type ivfIndex struct {
	typ         index.Type
	nlist       int
	pqm         int // IVF_PQ: subquantizers
	refine      int // IVF_PQ: re-rank factor searched with (1: no re-rank)
	buildS      float64
	bytesPerVec float64
	rows        []ivfRow
}

// label names the index in the tables.
func (ii *ivfIndex) label() string {
	if ii.typ != index.TypeIVFPQ {
		return ii.typ.String()
	}
	if ii.refine == 1 {
		return fmt.Sprintf("IVF_PQ (pq_m %d), refine 1 = no re-rank", ii.pqm)
	}
	return fmt.Sprintf("IVF_PQ (pq_m %d), refine %d", ii.pqm, ii.refine)
}

type ivfResult struct {
	name               string
	metric             index.Metric
	n, nq, dim, rounds int
	truthSec           float64
	indexes            []*ivfIndex
	flatQueries        int
	flatQPS            float64
}

// runIVF builds every IVF type on ds (IVF_PQ once per entry of pqms) and
// measures recall@10 and QPS per nprobe.
func runIVF(o options, ds *dataset, pqms []int) (*ivfResult, error) {
	res := &ivfResult{name: ds.name, metric: ds.metric, n: ds.n, nq: ds.nq, dim: ds.dim, rounds: o.rounds, truthSec: ds.truthSec}
	var built []index.Index
	type build struct {
		typ index.Type
		pqm int
	}
	builds := []build{{index.TypeIVFFlat, 0}, {index.TypeIVFSQ8, 0}}
	for _, m := range pqms {
		builds = append(builds, build{index.TypeIVFPQ, m})
	}
	for _, bd := range builds {
		typ := bd.typ
		spec := index.DefaultSpec(typ, ds.metric)
		spec.Params.Nlist, spec.Params.PQM = o.nlist, bd.pqm
		runtime.GC()
		t0 := time.Now()
		ix, err := index.BuildIVF(context.Background(), spec, ds.base, ds.dim, rand.New(rand.NewSource(1)), buildThread)
		if err != nil {
			return nil, err
		}
		buildS := time.Since(t0).Seconds()
		refines := []int{0}
		if typ == index.TypeIVFPQ {
			refines = o.refines
		}
		for _, rf := range refines {
			ii := &ivfIndex{typ: typ, nlist: ix.Spec().Params.Nlist, pqm: ix.Spec().Params.PQM, refine: rf, buildS: buildS,
				bytesPerVec: float64(ix.MemoryBytes()) / float64(ix.Len())}
			for _, np := range o.nprobes {
				ii.rows = append(ii.rows, ivfRow{nprobe: np})
			}
			res.indexes = append(res.indexes, ii)
			built = append(built, ix)
		}
		logf("%v nlist=%d pq_m=%d built in %.2fs, %.1f B/vector", typ, ix.Spec().Params.Nlist, ix.Spec().Params.PQM, buildS, float64(ix.MemoryBytes())/float64(ix.Len()))
	}
	// Rounds of single-threaded passes, one query at a time.
	for r := range o.rounds {
		for i, ii := range res.indexes {
			for j := range ii.rows {
				row := &ii.rows[j]
				p := index.SearchParams{Nprobe: row.nprobe, Refine: ii.refine}
				h := 0
				t0 := time.Now()
				for q := range ds.nq {
					h += hits(built[i].Search(ds.query(q), topK, p, nil), ds.truth[q])
				}
				qps := float64(ds.nq) / time.Since(t0).Seconds()
				row.recall = float64(h) / float64(ds.nq*topK) // deterministic: the same every round
				row.qps = append(row.qps, qps)
				logf("round %d %s nprobe=%d recall@10=%.4f qps=%.0f", r+1, ii.label(), row.nprobe, row.recall, qps)
			}
		}
	}
	if o.flatQueries > 0 {
		nq := min(o.flatQueries, ds.nq)
		t0 := time.Now()
		for q := range nq {
			_ = index.FlatSearch(ds.metric, ds.query(q), ds.base, ds.dim, topK, nil)
		}
		res.flatQueries, res.flatQPS = nq, float64(nq)/time.Since(t0).Seconds()
		logf("FLAT %d queries qps=%.0f", nq, res.flatQPS)
	}
	return res, nil
}
