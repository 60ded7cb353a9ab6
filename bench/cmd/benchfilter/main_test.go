package main

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestCategorySelectivity(t *testing.T) {
	const n = 60000
	counts := map[int64]int{}
	for id := int64(0); id < n; id++ {
		c := category(id)
		if c < 0 || c >= 1000 {
			t.Fatalf("category(%d) = %d, want 0..999", id, c)
		}
		for _, th := range []int64{500, 100, 10, 1} {
			if c < th {
				counts[th]++
			}
		}
	}
	for th, got := range counts {
		want := float64(n) * float64(th) / 1000
		if d := float64(got) - want; d*d > 16*want { // within 4 sigma-ish
			t.Errorf("category < %d: %d rows, want about %.0f", th, got, want)
		}
	}
}

func TestGroundTruthMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const dim, rows, nq, k = 16, 500, 20, 10
	train := make([]byte, rows*dim)
	for i := range train {
		train[i] = byte(r.IntN(4)) // few values: many ties
	}
	queries := make([]byte, nq*dim)
	for i := range queries {
		queries[i] = byte(r.IntN(4))
	}
	var allowed []int64
	for id := int64(0); id < rows; id++ {
		if id%3 != 0 {
			allowed = append(allowed, id)
		}
	}
	got := groundTruth(train, dim, queries, allowed, k, 3)
	for q := 0; q < nq; q++ {
		qv := queries[q*dim : (q+1)*dim]
		ids := slices.Clone(allowed)
		sort.SliceStable(ids, func(i, j int) bool {
			return sqDist(qv, train[ids[i]*dim:(ids[i]+1)*dim]) < sqDist(qv, train[ids[j]*dim:(ids[j]+1)*dim])
		})
		if !slices.Equal(got[q].ids, ids[:k]) {
			t.Fatalf("query %d: got %v, want %v", q, got[q].ids, ids[:k])
		}
		if want := sqDist(qv, train[ids[k-1]*dim:(ids[k-1]+1)*dim]); got[q].kth != want {
			t.Fatalf("query %d: kth %d, want %d", q, got[q].kth, want)
		}
	}
	if tr := groundTruth(train, dim, queries[:dim], allowed[:3], k, 1)[0]; len(tr.ids) != 3 {
		t.Fatalf("fewer admitted rows than k: got %d ids, want 3", len(tr.ids))
	}
}

func TestSqDist(t *testing.T) {
	a := []byte{0, 255, 10, 3, 7}
	b := []byte{255, 0, 13, 3, 0}
	if got, want := sqDist(a, b), int32(255*255*2+9+49); got != want {
		t.Fatalf("sqDist = %d, want %d", got, want)
	}
}

func TestScore(t *testing.T) {
	tr := truth{ids: []int64{1, 2, 3}, kth: 5}
	dist := map[int64]int32{1: 1, 2: 3, 3: 5, 4: 5, 5: 9, 6: 0}
	pass := func(id int64) bool { return id != 6 }
	d := func(id int64) int32 { return dist[id] }
	// 4 ties with the 3rd, so it is not a miss; 5 is a miss; 6 fails the
	// filter; the duplicate 1 counts once.
	good, bad := score([]int64{1, 4, 5, 6, 1}, tr, pass, d)
	if good != 2 || bad != 1 {
		t.Fatalf("score = %d good, %d bad; want 2, 1", good, bad)
	}
	if good, _ := score([]int64{1, 2, 3, 4}, tr, pass, d); good != 3 {
		t.Fatalf("score caps at the truth's size: got %d", good)
	}
}

func TestGraphSegments(t *testing.T) {
	all := func(int64) bool { return true }
	none := func(int64) bool { return false }
	half := func(id int64) bool { return id%2 == 0 }
	tenth := func(id int64) bool { return id%10 == 0 }
	for _, c := range []struct {
		name      string
		pass      func(int64) bool
		ef        int
		wantGraph int
	}{
		{"all", all, 64, 6}, {"none", none, 64, 0}, {"half ef64", half, 64, 6},
		{"tenth ef64", tenth, 64, 0}, {"tenth ef128", tenth, 128, 0},
	} {
		g, s := graphSegments(60000, 10000, c.pass, c.ef, 10, 16)
		if g != c.wantGraph || s != 6 {
			t.Errorf("%s: %d/%d graph segments, want %d/6", c.name, g, s, c.wantGraph)
		}
	}
	// A partial trailing segment is growing, not sealed.
	if _, s := graphSegments(65000, 10000, all, 64, 10, 16); s != 6 {
		t.Errorf("65000 rows: %d sealed, want 6", s)
	}
}
