package index

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The Fashion-MNIST benchmark compares with bench/hnswlib (same data, M,
// efConstruction, build threads, single-threaded queries one at a time, ef
// values, exact ground truth). Data: Debian's dataset-fashion-mnist package,
// or the directory in RAFTVEC_FASHION_MNIST. Skipped when absent.
//
//	go test -run x -bench FashionMNIST -benchtime 1x -timeout 30m ./index/

func fashionDir() string {
	if d := os.Getenv("RAFTVEC_FASHION_MNIST"); d != "" {
		return d
	}
	return "/usr/share/datasets/fashion-mnist"
}

// readIDX reads an IDX3 uint8 image file (gzip) as float32 rows.
func readIDX(path string) (rows, dim int, data []float32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return 0, 0, nil, err
	}
	var hdr [16]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	rows = int(binary.BigEndian.Uint32(hdr[4:]))
	dim = int(binary.BigEndian.Uint32(hdr[8:]) * binary.BigEndian.Uint32(hdr[12:]))
	raw := make([]byte, rows*dim)
	if _, err := io.ReadFull(z, raw); err != nil {
		return 0, 0, nil, err
	}
	data = make([]float32, len(raw))
	for i, b := range raw {
		data[i] = float32(b)
	}
	return rows, dim, data, nil
}

func BenchmarkFashionMNIST(b *testing.B) {
	dir := fashionDir()
	_, dim, base, err := readIDX(filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	if err != nil {
		b.Skipf("fashion-mnist not available: %v", err)
	}
	nq, _, queries, err := readIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		b.Skipf("fashion-mnist not available: %v", err)
	}
	const k, threads = 10, 2
	truth := make([][]Candidate, nq)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := t; q < nq; q += threads {
				truth[q] = FlatSearch(L2, queries[q*dim:(q+1)*dim], base, dim, k, nil)
			}
		}()
	}
	wg.Wait()

	t0 := time.Now()
	h, err := BuildHNSW(context.Background(), L2, DefaultSpec(TypeHNSW, L2).Params, base, dim, newRand(1), threads)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("raftvec build_threads=%d build_s=%.3f\n", threads, time.Since(t0).Seconds())
	fmt.Printf("raftvec graph_bytes_per_vector=%.1f\n", float64(h.MemoryBytes())/float64(h.Len()))
	for _, ef := range []int{10, 20, 40, 80, 160} {
		p := SearchParams{Ef: ef}
		hit := 0
		t1 := time.Now()
		for q := 0; q < nq; q++ {
			hit += int(recall(h.Search(queries[q*dim:(q+1)*dim], k, p, nil), truth[q])*k + 0.5)
		}
		el := time.Since(t1).Seconds()
		fmt.Printf("raftvec ef=%d recall@10=%.4f qps=%.0f\n", ef, float64(hit)/float64(nq*k), float64(nq)/el)
	}
	for b.Loop() {
	}
}
