package expr

import (
	"fmt"
	"sort"
)

// Rows are evaluated in batches so that intermediate vectors stay in cache
// and memory does not grow with segment size. A multiple of 64, so a batch
// starts on a bitmap word.
const (
	batchRows  = 4096
	batchWords = batchRows / 64
)

// Program is a type-checked filter, ready to evaluate. It is immutable and
// safe for concurrent use: every Eval or Match call has its own scratch
// state.
type Program struct {
	expr *Expr
	root boolExpr
	cols []colReq
	keys keyList
}

type colReq struct {
	name string
	ty   FieldType
}

// String is the canonical form of the filter (see Expr.String).
func (p *Program) String() string { return p.expr.String() }

// Expr is the syntax tree the program was checked from. Callers must not
// modify it.
func (p *Program) Expr() *Expr { return p.expr }

// Fields lists the fields the filter reads, sorted, each once.
func (p *Program) Fields() []string {
	var out []string
	for _, c := range p.cols {
		out = append(out, c.name)
	}
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// Eval evaluates the filter on every row of cols and leaves in out exactly
// the rows for which it is true (out is reset to cols.Len() rows first).
// Rows where it is false or unknown (null) are not in out. Eval fails only
// when cols fails or returns a column of the wrong length.
func (p *Program) Eval(cols Columns, out *Bitset) error {
	n := cols.Len()
	out.Reset(n)
	if n == 0 {
		return nil
	}
	c := &evalCtx{size: min(n, batchRows), cols: make([]colData, len(p.cols))}
	for i, r := range p.cols {
		if err := c.cols[i].load(cols, r, n); err != nil {
			return err
		}
	}
	sel := make([]uint64, batchWords)
	f := make([]uint64, batchWords)
	for lo := 0; lo < n; lo += batchRows {
		hi := min(lo+batchRows, n)
		c.lo, c.n, c.nw = lo, hi-lo, (hi-lo+63)/64
		s := sel[:c.nw]
		for w := range s {
			s[w] = ^uint64(0)
		}
		if r := c.n & 63; r != 0 {
			s[c.nw-1] = 1<<uint(r) - 1
		}
		t := out.words[lo/64 : lo/64+c.nw]
		p.root.evalBool(c, s, t, f[:c.nw])
		for w := range t {
			t[w] &= s[w]
		}
	}
	return nil
}

// Match evaluates the filter on a single row. It is a convenience for
// occasional checks (for example one row fetched by primary key); to filter
// many rows use Eval, which is much faster per row.
func (p *Program) Match(row RowGetter) (bool, error) {
	var b Bitset
	if err := p.Eval(rowColumns{row}, &b); err != nil {
		return false, err
	}
	return b.Test(0), nil
}

// colData is one loaded column: vals is []bool, []int64, []float64,
// []string or [][]byte; nulls are the null bitmap's words or nil.
type colData struct {
	vals  any
	nulls []uint64
}

func (d *colData) load(cols Columns, r colReq, n int) error {
	var (
		nulls *Bitset
		err   error
		count int
	)
	switch r.ty {
	case Bool:
		var v []bool
		v, nulls, err = cols.Bool(r.name)
		d.vals, count = v, len(v)
	case Int64:
		var v []int64
		v, nulls, err = cols.Int64(r.name)
		d.vals, count = v, len(v)
	case Double:
		var v []float64
		v, nulls, err = cols.Double(r.name)
		d.vals, count = v, len(v)
	case VarChar:
		var v []string
		v, nulls, err = cols.VarChar(r.name)
		d.vals, count = v, len(v)
	case JSON:
		var v [][]byte
		v, nulls, err = cols.JSON(r.name)
		d.vals, count = v, len(v)
	default:
		return fmt.Errorf("filter: field %q has type %s, which cannot be read", r.name, r.ty)
	}
	if err != nil {
		return fmt.Errorf("filter: read field %q: %w", r.name, err)
	}
	if count != n {
		return fmt.Errorf("filter: field %q has %d values, the segment has %d rows", r.name, count, n)
	}
	if nulls != nil {
		if nulls.Len() != n {
			return fmt.Errorf("filter: null bitmap of field %q covers %d rows, the segment has %d", r.name, nulls.Len(), n)
		}
		d.nulls = nulls.words
	}
	return nil
}

// evalCtx is the scratch state of one Eval: the loaded columns, the current
// batch, and pools of batch-sized buffers. Nodes take buffers from the pools
// for their results and the consumer of a result gives them back, so memory
// is bounded by the depth of the expression, not by its size.
type evalCtx struct {
	cols []colData
	lo   int // first row of the batch
	n    int // rows in the batch
	nw   int // bitmap words in the batch
	size int // rows per buffer

	wordPool pool[uint64]
	ints     pool[int64]
	floats   pool[float64]
	strs     pool[string]
	dyns     pool[dyn]
}

type pool[T any] struct{ free [][]T }

func poolFor[T any](c *evalCtx) *pool[T] {
	if p, ok := any(&c.ints).(*pool[T]); ok {
		return p
	}
	if p, ok := any(&c.floats).(*pool[T]); ok {
		return p
	}
	if p, ok := any(&c.dyns).(*pool[T]); ok {
		return p
	}
	return any(&c.strs).(*pool[T])
}

// buf returns a buffer of c.n values; its contents are garbage.
func buf[T any](c *evalCtx) []T {
	p := poolFor[T](c)
	if k := len(p.free); k > 0 {
		b := p.free[k-1]
		p.free = p.free[:k-1]
		return b[:c.n]
	}
	return make([]T, c.size)[:c.n]
}

func put[T any](c *evalCtx, b []T) {
	p := poolFor[T](c)
	p.free = append(p.free, b)
}

// words returns a bitmap buffer of c.nw words; its contents are garbage.
func (c *evalCtx) words() []uint64 {
	if k := len(c.wordPool.free); k > 0 {
		b := c.wordPool.free[k-1]
		c.wordPool.free = c.wordPool.free[:k-1]
		return b[:c.nw]
	}
	return make([]uint64, (c.size+63)/64)[:c.nw]
}

func (c *evalCtx) putWords(w []uint64) { c.wordPool.free = append(c.wordPool.free, w) }

// nulls returns the null words of column i for the current batch, or nil.
func (c *evalCtx) nulls(i int) []uint64 {
	nw := c.cols[i].nulls
	if nw == nil {
		return nil
	}
	return nw[c.lo/64 : c.lo/64+c.nw]
}

// vec is a batch of values of one type. v[j] is row c.lo+j, or v[0] for
// every row when k (a constant). null has a set bit per null row; nil means
// none. ownV and ownN say which parts came from the pools; the consumer
// releases them. For dyn vectors null is always nil: the value carries it.
type vec[T any] struct {
	v          []T
	null       []uint64
	k          bool
	ownV, ownN bool
}

func (x vec[T]) at(j int) T {
	if x.k {
		return x.v[0]
	}
	return x.v[j]
}

func release[T any](c *evalCtx, x vec[T]) {
	if x.ownV {
		put(c, x.v)
	}
	if x.ownN {
		c.putWords(x.null)
	}
}

// expand turns a constant into a full batch so kernels need one shape.
func expand[T any](c *evalCtx, x vec[T]) vec[T] {
	if !x.k {
		return x
	}
	b := buf[T](c)
	for j := range b {
		b[j] = x.v[0]
	}
	return vec[T]{v: b, ownV: true}
}

// bit reports whether bit j of ws is set; a nil ws has none set.
func bit(ws []uint64, j int) bool {
	return ws != nil && ws[j>>6]&(1<<(uint(j)&63)) != 0
}

func word(ws []uint64, w int) uint64 {
	if ws == nil {
		return 0
	}
	return ws[w]
}

// unionNulls returns a fresh null bitmap holding the nulls of a and b.
func (c *evalCtx) unionNulls(a, b []uint64) []uint64 {
	w := c.words()
	for i := range w {
		w[i] = word(a, i) | word(b, i)
	}
	return w
}

// forEach calls fn for each row set in sel.
func forEach(sel []uint64, fn func(j int)) {
	for w, bitsw := range sel {
		for b := bitsw; b != 0; b &= b - 1 {
			fn(w*64 + trailingZeros(b))
		}
	}
}
