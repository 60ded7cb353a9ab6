package expr

import "testing"

func TestBitset(t *testing.T) {
	b := NewBitset(130)
	for _, i := range []int{0, 63, 64, 129} {
		b.Set(i)
	}
	if b.Len() != 130 || b.Count() != 4 || !b.Test(63) || b.Test(62) || b.Test(130) || b.Test(-1) {
		t.Fatalf("after Set: len %d count %d", b.Len(), b.Count())
	}
	b.Clear(63)
	if b.Test(63) || b.Count() != 3 {
		t.Fatal("Clear(63) did not clear")
	}

	o := NewBitset(130)
	o.Set(0)
	o.Set(129)
	o.Set(5)
	a := NewBitset(130)
	a.Or(b)
	a.And(o)
	if a.Count() != 2 || !a.Test(0) || !a.Test(129) {
		t.Fatalf("And: count %d", a.Count())
	}
	a.AndNot(o)
	if a.Count() != 0 {
		t.Fatalf("AndNot: count %d", a.Count())
	}

	all := NewBitset(70)
	all.SetAll()
	if all.Count() != 70 || all.Words()[1] != 1<<6-1 {
		t.Fatalf("SetAll: count %d, last word %x", all.Count(), all.Words()[1])
	}
	short := NewBitset(10)
	short.SetAll()
	all.And(short)
	if all.Count() != 10 {
		t.Fatalf("And with a shorter set: count %d, want 10", all.Count())
	}
	all.Reset(3)
	if all.Len() != 3 || all.Count() != 0 {
		t.Fatalf("Reset: len %d count %d", all.Len(), all.Count())
	}

	var nilSet *Bitset
	if nilSet.Len() != 0 || nilSet.Count() != 0 || nilSet.Test(0) || nilSet.Words() != nil {
		t.Fatal("nil Bitset is not empty")
	}
	b.And(nil)
	if b.Count() != 0 {
		t.Fatal("And(nil) left rows")
	}
}
