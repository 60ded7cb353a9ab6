package main

import (
	"sync"
)

// category is the synthetic scalar field of row id: splitmix64(id) mod
// 1000. Its values are close to uniform over 0..999, so `category < t`
// passes about t/1000 of the rows, and they are spread evenly over the
// segments.
func category(id int64) int64 {
	z := uint64(id) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % 1000)
}

// sqDist is the exact squared L2 distance between two rows of uint8
// pixels, in integer arithmetic (at most 784·255² < 2³¹), so the ground
// truth does not depend on any float kernel.
func sqDist(a, b []byte) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := int32(a[i]) - int32(b[i])
		d1 := int32(a[i+1]) - int32(b[i+1])
		d2 := int32(a[i+2]) - int32(b[i+2])
		d3 := int32(a[i+3]) - int32(b[i+3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := int32(a[i]) - int32(b[i])
		s0 += d * d
	}
	return s0 + s1 + s2 + s3
}

// truth is the exact answer to one filtered query.
type truth struct {
	ids   []int64 // the k closest admitted ids, closest first (ties by id)
	dists []int32
	kth   int32 // distance of the last of them (-1 when none pass)
}

// groundTruth brute-forces the k nearest admitted rows of every query:
// allowed lists the admitted row ids in increasing order.
func groundTruth(train []byte, dim int, queries []byte, allowed []int64, k, threads int) []truth {
	nq := len(queries) / dim
	out := make([]truth, nq)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			ids := make([]int64, 0, k+1)
			ds := make([]int32, 0, k+1)
			for q := t; q < nq; q += threads {
				qv := queries[q*dim : (q+1)*dim]
				ids, ds = ids[:0], ds[:0]
				for _, id := range allowed {
					d := sqDist(qv, train[int(id)*dim:(int(id)+1)*dim])
					if len(ds) == k && d >= ds[k-1] {
						continue // ids ascend, so an equal distance loses the tie
					}
					j := len(ds)
					if j < k {
						ids, ds = append(ids, 0), append(ds, 0)
					} else {
						j = k - 1
					}
					for j > 0 && ds[j-1] > d {
						ids[j], ds[j] = ids[j-1], ds[j-1]
						j--
					}
					ids[j], ds[j] = id, d
				}
				tr := truth{ids: append([]int64(nil), ids...), dists: append([]int32(nil), ds...), kth: -1}
				if len(ds) > 0 {
					tr.kth = ds[len(ds)-1]
				}
				out[q] = tr
			}
		}(t)
	}
	wg.Wait()
	return out
}

// score grades one answer against the truth. A hit counts as correct when
// its exact distance is at most the truth's k-th distance (so a tie at the
// boundary resolved differently is not a miss); duplicates count once.
// bad counts hits that must not be there: unknown ids and ids the filter
// rejects.
func score(hits []int64, tr truth, pass func(id int64) bool, dist func(id int64) int32) (good, bad int) {
	seen := make(map[int64]bool, len(hits))
	for _, id := range hits {
		if !pass(id) {
			bad++
			continue
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(tr.ids) > 0 && dist(id) <= tr.kth {
			good++
		}
	}
	return min(good, len(tr.ids)), bad
}

// graphSegments predicts, for one filter and ef, on how many of the
// sealed segments the HNSW index runs its filtered graph search rather than
// an exact scan of the admitted rows. It mirrors HNSW.preferFlat in
// index/hnsw.go: the admitted fraction s is estimated on 512 evenly spaced
// rows of the segment, and the scan is chosen when 2·s²·n < ef·2M. Rows are
// loaded in id order by one loader, so sealed segment j holds ids
// [j·sealRows, (j+1)·sealRows) as rows 0..sealRows-1.
func graphSegments(rows, sealRows int, pass func(id int64) bool, ef, k, m int) (graph, sealed int) {
	const filterSample = 512
	efEff := max(ef, k)
	n := sealRows
	for lo := 0; lo+sealRows <= rows; lo += sealRows {
		sealed++
		sample := min(n, filterSample)
		hit := 0
		for i := 0; i < sample; i++ {
			if pass(int64(lo + i*n/sample)) {
				hit++
			}
		}
		s := float64(hit) / float64(sample)
		if !(2*s*s*float64(n) < float64(efEff*2*m)) {
			graph++
		}
	}
	return graph, sealed
}
