package index

// Small binary heaps of candidates used on the graph search paths. They
// compare distances only (the search loop's hottest comparison); results stay
// deterministic because the same sequence of pushes and pops always leaves
// ties in the same places, and Search sorts its final hits by less. They
// reuse their backing arrays: no allocation once warm.

// minHeap pops the closest candidate first.
type minHeap []Candidate

func (h *minHeap) push(c Candidate) {
	s := append(*h, c)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(s[i].Dist < s[p].Dist) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
	*h = s
}

func (h *minHeap) pop() Candidate {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].Dist < s[l].Dist {
			m = r
		}
		if !(s[m].Dist < s[i].Dist) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// maxHeap pops the farthest candidate first; it holds the current results.
type maxHeap []Candidate

func (h *maxHeap) push(c Candidate) {
	s := append(*h, c)
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(s[p].Dist < s[i].Dist) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
	*h = s
}

func (h *maxHeap) pop() Candidate {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[l].Dist < s[r].Dist {
			m = r
		}
		if !(s[i].Dist < s[m].Dist) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// drainSorted empties h into dst (reused), closest first.
func (h *maxHeap) drainSorted(dst []Candidate) []Candidate {
	n := len(*h)
	if cap(dst) < n {
		dst = make([]Candidate, n)
	}
	dst = dst[:n]
	for i := n - 1; i >= 0; i-- {
		dst[i] = h.pop()
	}
	return dst
}
