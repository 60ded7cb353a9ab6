package fsm

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
)

// live is the delete ts of a row that is not deleted.
const live = math.MaxUint64

// rowRef names a row: segment id in the high 32 bits, row in the low 32.
// Segment ids start at 1, so 0 means "no row".
type rowRef uint64

func makeRef(seg uint64, row uint32) rowRef { return rowRef(seg<<32 | uint64(row)) }
func (r rowRef) seg() uint64                { return uint64(r) >> 32 }
func (r rowRef) row() uint32                { return uint32(r) }

// segment holds one segment's rows in columnar slabs. Only the apply
// goroutine appends; readers take a view under mu and read it without the
// lock. deleteTs is read and written atomically: a concurrent delete always
// has a ts above any view's ts, so a view sees the same answer either way.
type segment struct {
	id     uint64
	dim    int
	pkName string

	// capRows is the most rows the segment will hold (the seal threshold
	// of a growing segment; 0: unknown), which caps how far the vector
	// slab grows ahead of need.
	capRows int

	mu       sync.RWMutex // guards the slice headers and sealed
	sealed   bool
	sealTs   uint64
	vectors  []float32
	intPKs   []int64
	strPKs   []string
	insertTs []uint64
	deleteTs []uint64
	prev     []rowRef
	parts    []uint32        // partition of each row
	cols     []*fsmpb.Column // one per scalar field, in schema order

	ix       atomic.Pointer[indexHolder] // set once the sealed segment is indexed
	building atomic.Bool
	scalar   scalarIndexes // sorted columns, built on first use once sealed
}

func newSegment(id uint64, sc *Schema) *segment {
	s := &segment{id: id, dim: sc.Dim, pkName: sc.PK.Name}
	scalars := sc.Scalars
	for _, f := range scalars {
		s.cols = append(s.cols, &fsmpb.Column{Field: f.Name})
	}
	return s
}

func (s *segment) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.insertTs)
}

// rowMeta says when and where rows were inserted: one ts and partition for
// all of them, or (rows moved by compaction) one of each per row.
type rowMeta struct {
	ts         uint64
	partition  uint32
	tss        []uint64
	partitions []uint32
}

// appendRows appends rows [from, to) of r. Called by the apply goroutine
// only.
func (s *segment) appendRows(r *fsmpb.Rows, from, to int, m rowMeta, prev []rowRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vectors = growSlab(s.vectors, (to-from)*s.dim, s.capRows*s.dim)
	s.vectors = append(s.vectors, r.Vectors[from*s.dim:to*s.dim]...)
	if len(r.IntPks) > 0 {
		s.intPKs = append(s.intPKs, r.IntPks[from:to]...)
	} else {
		s.strPKs = append(s.strPKs, r.StrPks[from:to]...)
	}
	for i := from; i < to; i++ {
		if m.tss != nil {
			s.insertTs = append(s.insertTs, m.tss[i])
			s.parts = append(s.parts, m.partitions[i])
		} else {
			s.insertTs = append(s.insertTs, m.ts)
			s.parts = append(s.parts, m.partition)
		}
		s.deleteTs = append(s.deleteTs, live)
	}
	s.prev = append(s.prev, prev...)
	for ci, c := range r.Columns {
		if ci >= len(s.cols) {
			break
		}
		appendColumn(s.cols[ci], c, from, to, len(s.insertTs)-(to-from))
	}
}

// growSlab returns v with room for n more elements, doubling its capacity
// when it must grow, but not beyond limit (when limit > 0 and the need
// fits). append alone grows a large slice by about 1.25×, so a growing
// segment's vector slab (51 MB at 100,000 × 128-d) was copied and freshly
// faulted in a dozen times on its way to the seal threshold: a third of
// the nodes' CPU in a bulk import. Doubling copies each element about once;
// the cap keeps a full segment's slab exactly its size. Views taken
// earlier keep the old array, so readers are unaffected.
func growSlab(v []float32, n, limit int) []float32 {
	need := len(v) + n
	if need <= cap(v) {
		return v
	}
	c := max(2*cap(v), need, 4096)
	if limit > 0 && need <= limit {
		c = min(c, limit)
	}
	out := make([]float32, len(v), c)
	copy(out, v)
	return out
}

// appendColumn appends rows [from, to) of src to dst, which already holds
// have rows.
func appendColumn(dst, src *fsmpb.Column, from, to, have int) {
	switch {
	case src.Bools != nil:
		dst.Bools = append(dst.Bools, src.Bools[from:to]...)
	case src.Int64S != nil:
		dst.Int64S = append(dst.Int64S, src.Int64S[from:to]...)
	case src.Doubles != nil:
		dst.Doubles = append(dst.Doubles, src.Doubles[from:to]...)
	case src.Strings != nil:
		dst.Strings = append(dst.Strings, src.Strings[from:to]...)
	case src.Jsons != nil:
		dst.Jsons = append(dst.Jsons, src.Jsons[from:to]...)
	}
	if len(src.Nulls) > 0 || len(dst.Nulls) > 0 {
		for len(dst.Nulls) < have {
			dst.Nulls = append(dst.Nulls, false)
		}
		if len(src.Nulls) > 0 {
			dst.Nulls = append(dst.Nulls, src.Nulls[from:to]...)
		} else {
			dst.Nulls = append(dst.Nulls, make([]bool, to-from)...)
		}
	}
}

func (s *segment) markDeleted(row uint32, ts uint64) {
	s.mu.RLock()
	atomic.StoreUint64(&s.deleteTs[row], ts)
	s.mu.RUnlock()
}

func (s *segment) deletedAt(row uint32) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return atomic.LoadUint64(&s.deleteTs[row])
}

// view returns the segment as of ts.
func (s *segment) view(ts uint64) *View {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.insertTs)
	var ix index.Index
	if h := s.ix.Load(); h != nil && s.sealed {
		ix = h.ix
	}
	v := &View{
		seg: s, ts: ts, n: n, ix: ix,
		vectors:  s.vectors[:n*s.dim],
		insertTs: s.insertTs[:n],
		deleteTs: s.deleteTs[:n],
		parts:    s.parts[:n],
		intPKs:   s.intPKs[:min(n, len(s.intPKs))],
		strPKs:   s.strPKs[:min(n, len(s.strPKs))],
	}
	for _, c := range s.cols {
		v.cols = append(v.cols, columnPrefix(c, n))
	}
	return v
}

// columnPrefix returns the first n rows of a column, sharing its arrays.
func columnPrefix(c *fsmpb.Column, n int) *fsmpb.Column {
	out := &fsmpb.Column{Field: c.Field}
	switch {
	case c.Bools != nil:
		out.Bools = c.Bools[:n]
	case c.Int64S != nil:
		out.Int64S = c.Int64S[:n]
	case c.Doubles != nil:
		out.Doubles = c.Doubles[:n]
	case c.Strings != nil:
		out.Strings = c.Strings[:n]
	case c.Jsons != nil:
		out.Jsons = c.Jsons[:n]
	}
	if len(c.Nulls) > 0 {
		out.Nulls = c.Nulls[:min(n, len(c.Nulls))]
	}
	return out
}

// View is a segment as of a read ts. It implements search.Segment.
type View struct {
	seg      *segment
	ts       uint64
	n        int
	vectors  []float32
	insertTs []uint64
	deleteTs []uint64
	ix       index.Index
	parts    []uint32
	intPKs   []int64
	strPKs   []string
	cols     []*fsmpb.Column
	allow    func(row uint32) bool // extra filter (expression, partitions), or nil
}

// Index is the segment's built index, or nil (search it exactly).
func (v *View) Index() index.Index { return v.ix }

// Len is the number of rows in the view (visible or not).
func (v *View) Len() int { return v.n }

// Vectors returns the view's vectors, row after row.
func (v *View) Vectors() []float32 { return v.vectors }

// Visible reports whether row was inserted at or before the view's ts and
// not deleted at or before it.
func (v *View) Visible(row uint32) bool {
	if v.insertTs[row] > v.ts || atomic.LoadUint64(&v.deleteTs[row]) <= v.ts {
		return false
	}
	return v.allow == nil || v.allow(row)
}

// SegmentID is the id of the viewed segment.
func (v *View) SegmentID() uint64 { return v.seg.id }
