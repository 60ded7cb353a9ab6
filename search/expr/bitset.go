package expr

import "math/bits"

// Bitset is a fixed-length set of row numbers, one bit per row in 64-bit
// words. It is the allow-set Program.Eval produces and the null bitmap
// Columns returns (a set bit means null).
//
// A nil *Bitset is an empty set of length 0: Test reports false, Count is 0.
// That makes nil the natural "no nulls" bitmap. A Bitset is not safe for
// concurrent mutation.
type Bitset struct {
	words []uint64
	n     int
}

// NewBitset returns an empty set for rows [0, n).
func NewBitset(n int) *Bitset {
	b := &Bitset{}
	b.Reset(n)
	return b
}

// Reset makes b an empty set of length n, reusing its memory when it can.
func (b *Bitset) Reset(n int) {
	if n < 0 {
		n = 0
	}
	nw := (n + 63) / 64
	if cap(b.words) >= nw {
		b.words = b.words[:nw]
		clear(b.words)
	} else {
		b.words = make([]uint64, nw)
	}
	b.n = n
}

// Len is the number of rows the set covers.
func (b *Bitset) Len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// Set adds row i, which must be in [0, Len()).
func (b *Bitset) Set(i int) { b.words[i>>6] |= 1 << (uint(i) & 63) }

// Clear removes row i, which must be in [0, Len()).
func (b *Bitset) Clear(i int) { b.words[i>>6] &^= 1 << (uint(i) & 63) }

// Test reports whether row i is in the set; false for rows out of range.
func (b *Bitset) Test(i int) bool {
	if b == nil || i < 0 || i >= b.n {
		return false
	}
	return b.words[i>>6]&(1<<(uint(i)&63)) != 0
}

// Count is the number of rows in the set.
func (b *Bitset) Count() int {
	if b == nil {
		return 0
	}
	c := 0
	for _, w := range b.words {
		c += bits.OnesCount64(w)
	}
	return c
}

// And keeps only the rows also in o. Rows beyond o's length are removed.
func (b *Bitset) And(o *Bitset) {
	var ow []uint64
	if o != nil {
		ow = o.words
	}
	for i := range b.words {
		if i < len(ow) {
			b.words[i] &= ow[i]
		} else {
			b.words[i] = 0
		}
	}
	b.trim()
}

// Or adds the rows of o that are below Len().
func (b *Bitset) Or(o *Bitset) {
	if o == nil {
		return
	}
	for i := range min(len(b.words), len(o.words)) {
		b.words[i] |= o.words[i]
	}
	b.trim()
}

// AndNot removes the rows that are in o.
func (b *Bitset) AndNot(o *Bitset) {
	if o == nil {
		return
	}
	for i := range min(len(b.words), len(o.words)) {
		b.words[i] &^= o.words[i]
	}
}

// SetAll adds every row in [0, Len()).
func (b *Bitset) SetAll() {
	for i := range b.words {
		b.words[i] = ^uint64(0)
	}
	b.trim()
}

// Words exposes the underlying words: bit i%64 of word i/64 is row i. Bits
// at or beyond Len() are zero. Callers may read them; writes must keep that
// invariant.
func (b *Bitset) Words() []uint64 {
	if b == nil {
		return nil
	}
	return b.words
}

// trim clears the bits at and beyond n in the last word.
func (b *Bitset) trim() {
	if r := b.n & 63; r != 0 && len(b.words) > 0 {
		b.words[len(b.words)-1] &= (1 << uint(r)) - 1
	}
}
