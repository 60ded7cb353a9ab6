package fsm

import "testing"

func TestGrowSlab(t *testing.T) {
	var v []float32
	limit := 10_000
	caps := []int{}
	for len(v) < limit {
		n := min(700, limit-len(v))
		v = growSlab(v, n, limit)
		if cap(v) < len(v)+n {
			t.Fatalf("growSlab left cap %d for %d + %d", cap(v), len(v), n)
		}
		if len(caps) == 0 || caps[len(caps)-1] != cap(v) {
			caps = append(caps, cap(v))
		}
		for range n {
			v = append(v, float32(len(v))) // the element's own position
		}
	}
	for i, x := range v {
		if x != float32(i) {
			t.Fatalf("element %d is %v after growing", i, x)
		}
	}
	// 4096, then doubling, then exactly the limit: a full slab wastes nothing.
	want := []int{4096, 8192, 10_000}
	if len(caps) != len(want) {
		t.Fatalf("capacities %v, want %v", caps, want)
	}
	for i := range want {
		if caps[i] != want[i] {
			t.Fatalf("capacities %v, want %v", caps, want)
		}
	}
	// Past the limit (a segment of unknown size) it keeps doubling.
	if v = growSlab(v, 1, limit); cap(v) != 20_000 {
		t.Fatalf("past the limit: cap %d, want 20000", cap(v))
	}
}

var slabSink []float32

// BenchmarkGrowingSlab fills a 100,000 × 128-d growing segment's vector
// slab in requests of 850 rows, as a bulk import over six shards does.
func BenchmarkGrowingSlab(b *testing.B) {
	const dim, rows, per = 128, 100_000, 850
	src := make([]float32, per*dim)
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			var v []float32
			for n := 0; n < rows; n += per {
				v = append(v, src[:min(per, rows-n)*dim]...)
			}
			slabSink = v
		}
	})
	b.Run("growSlab", func(b *testing.B) {
		for b.Loop() {
			var v []float32
			for n := 0; n < rows; n += per {
				k := min(per, rows-n) * dim
				v = growSlab(v, k, rows*dim)
				v = append(v, src[:k]...)
			}
			slabSink = v
		}
	})
}
