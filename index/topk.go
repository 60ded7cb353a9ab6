package index

import "sort"

// Candidate is one search hit inside a segment: a row number and its
// distance (smaller is closer).
type Candidate struct {
	Row  uint32
	Dist float32
}

// less orders candidates by distance, then by row so that results are
// deterministic when distances tie.
func less(a, b Candidate) bool {
	if a.Dist != b.Dist {
		return a.Dist < b.Dist
	}
	return a.Row < b.Row
}

// TopK keeps the k closest candidates seen so far in a bounded max-heap.
// The zero value is not usable; call NewTopK.
type TopK struct {
	k    int
	heap []Candidate // max-heap on (Dist, Row): heap[0] is the worst kept
}

// NewTopK returns a collector of the k closest candidates.
func NewTopK(k int) *TopK { return &TopK{k: k, heap: make([]Candidate, 0, k)} }

// Worst returns the distance a new candidate must beat once the collector
// is full, and whether it is full.
func (t *TopK) Worst() (float32, bool) {
	if len(t.heap) < t.k || t.k == 0 {
		return 0, false
	}
	return t.heap[0].Dist, true
}

// Push offers a candidate.
func (t *TopK) Push(c Candidate) {
	if t.k <= 0 {
		return
	}
	if len(t.heap) < t.k {
		t.heap = append(t.heap, c)
		t.up(len(t.heap) - 1)
		return
	}
	if !less(c, t.heap[0]) {
		return
	}
	t.heap[0] = c
	t.down(0)
}

// Len is the number of candidates kept.
func (t *TopK) Len() int { return len(t.heap) }

// Sorted returns the kept candidates, closest first. The collector is left
// empty.
func (t *TopK) Sorted() []Candidate {
	out := t.heap
	t.heap = nil
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

func (t *TopK) up(i int) {
	h := t.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *TopK) down(i int) {
	h := t.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(h[l], h[r]) {
			m = r
		}
		if !less(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
