package fsm

import (
	"sort"
	"strings"
	"sync"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/search/expr"
)

// Scalar indexes: a sealed segment's int64 and varchar columns (the primary
// key included) are sorted once, on first use, into (value, row) pairs.
// A filter that is a conjunction with comparisons or "in" lists of such a
// field against constants answers those terms by binary search instead of a
// column scan, and evaluates only the rest column-wise. The index is
// derived, immutable data of an immutable segment, so it is kept in memory
// and not replicated or persisted.

// sortedColumn is one column sorted by value; nulls are left out.
type sortedColumn struct {
	ints []int64
	strs []string
	rows []uint32
}

type scalarIndexes struct {
	mu   sync.Mutex
	cols map[string]*sortedColumn
}

// sortedColumn returns the sorted form of an int64 or varchar column of a
// sealed segment, building it on first use; nil if the field is of
// another type.
func (v *View) sortedColumn(field string, t fsmpb.FieldType) *sortedColumn {
	g := v.seg
	g.scalar.mu.Lock()
	defer g.scalar.mu.Unlock()
	if c, ok := g.scalar.cols[field]; ok {
		return c
	}
	var sc *sortedColumn
	switch t {
	case fsmpb.FieldType_INT64:
		vals, nulls, err := v.Int64(field)
		if err != nil {
			return nil
		}
		sc = &sortedColumn{}
		for r, x := range vals {
			if nulls == nil || !nulls.Test(r) {
				sc.ints = append(sc.ints, x)
				sc.rows = append(sc.rows, uint32(r))
			}
		}
		sort.Sort(intOrder{sc})
	case fsmpb.FieldType_VARCHAR:
		vals, nulls, err := v.VarChar(field)
		if err != nil {
			return nil
		}
		sc = &sortedColumn{}
		for r, x := range vals {
			if nulls == nil || !nulls.Test(r) {
				sc.strs = append(sc.strs, x)
				sc.rows = append(sc.rows, uint32(r))
			}
		}
		sort.Sort(strOrder{sc})
	default:
		return nil
	}
	if g.scalar.cols == nil {
		g.scalar.cols = map[string]*sortedColumn{}
	}
	g.scalar.cols[field] = sc
	return sc
}

type intOrder struct{ *sortedColumn }

func (o intOrder) Len() int { return len(o.ints) }
func (o intOrder) Less(i, j int) bool {
	return o.ints[i] < o.ints[j] || (o.ints[i] == o.ints[j] && o.rows[i] < o.rows[j])
}
func (o intOrder) Swap(i, j int) {
	o.ints[i], o.ints[j] = o.ints[j], o.ints[i]
	o.rows[i], o.rows[j] = o.rows[j], o.rows[i]
}

type strOrder struct{ *sortedColumn }

func (o strOrder) Len() int { return len(o.strs) }
func (o strOrder) Less(i, j int) bool {
	return o.strs[i] < o.strs[j] || (o.strs[i] == o.strs[j] && o.rows[i] < o.rows[j])
}
func (o strOrder) Swap(i, j int) {
	o.strs[i], o.strs[j] = o.strs[j], o.strs[i]
	o.rows[i], o.rows[j] = o.rows[j], o.rows[i]
}

// span returns the positions [lo, hi) of values that satisfy "value op x".
func (c *sortedColumn) span(op expr.Op, x any) (lo, hi int, ok bool) {
	n := len(c.rows)
	var lower, upper func() int // first >= x, first > x
	switch x := x.(type) {
	case int64:
		if c.ints == nil && n > 0 {
			return 0, 0, false
		}
		lower = func() int { return sort.Search(n, func(i int) bool { return c.ints[i] >= x }) }
		upper = func() int { return sort.Search(n, func(i int) bool { return c.ints[i] > x }) }
	case string:
		if c.strs == nil && n > 0 {
			return 0, 0, false
		}
		lower = func() int { return sort.Search(n, func(i int) bool { return c.strs[i] >= x }) }
		upper = func() int { return sort.Search(n, func(i int) bool { return c.strs[i] > x }) }
	default:
		return 0, 0, false
	}
	switch op {
	case expr.OpEq:
		return lower(), upper(), true
	case expr.OpLt:
		return 0, lower(), true
	case expr.OpLe:
		return 0, upper(), true
	case expr.OpGt:
		return upper(), n, true
	case expr.OpGe:
		return lower(), n, true
	}
	return 0, 0, false
}

// mirror turns "x op field" into "field op' x".
func mirror(op expr.Op) expr.Op {
	switch op {
	case expr.OpLt:
		return expr.OpGt
	case expr.OpLe:
		return expr.OpGe
	case expr.OpGt:
		return expr.OpLt
	case expr.OpGe:
		return expr.OpLe
	}
	return op
}

// indexedTerm answers one conjunct from a scalar index, if it can: a
// comparison (not !=) or a non-negated "in" of an int64 or varchar field
// against constants of the same type.
func (v *View) indexedTerm(sc *Schema, n expr.Node) (*expr.Bitset, bool) {
	var field string
	var lits []any
	op := expr.OpEq
	switch t := n.(type) {
	case *expr.Binary:
		if !t.Op.IsComparison() || t.Op == expr.OpNe {
			return nil, false
		}
		f, fok := t.X.(*expr.FieldRef)
		l, lok := t.Y.(*expr.Literal)
		op = t.Op
		if !fok || !lok {
			f, fok = t.Y.(*expr.FieldRef)
			l, lok = t.X.(*expr.Literal)
			op = mirror(t.Op)
		}
		if !fok || !lok || len(f.Path) > 0 {
			return nil, false
		}
		field, lits = f.Name, []any{l.Value}
	case *expr.In:
		f, ok := t.X.(*expr.FieldRef)
		if !ok || t.Negated || len(f.Path) > 0 {
			return nil, false
		}
		field = f.Name
		for _, l := range t.List {
			lits = append(lits, l.Value)
		}
	default:
		return nil, false
	}
	fd, ok := sc.Field(field)
	if !ok || (fd.Type != fsmpb.FieldType_INT64 && fd.Type != fsmpb.FieldType_VARCHAR) {
		return nil, false
	}
	col := v.sortedColumn(field, fd.Type)
	if col == nil {
		return nil, false
	}
	bits := expr.NewBitset(v.n)
	for _, x := range lits {
		lo, hi, ok := col.span(op, x)
		if !ok {
			return nil, false
		}
		for _, r := range col.rows[lo:hi] {
			bits.Set(int(r))
		}
	}
	return bits, true
}

// evalIndexed evaluates a filter over a sealed segment, answering the
// indexable conjuncts from scalar indexes and the rest column-wise. ok is
// false when no conjunct could use an index (the caller evaluates as usual).
func (v *View) evalIndexed(sc *Schema, p *expr.Program) (*expr.Bitset, bool, error) {
	if !v.seg.sealedNow() {
		return nil, false, nil
	}
	root := p.Expr().Root
	terms := []expr.Node{root}
	if l, ok := root.(*expr.Logical); ok && l.Op == expr.OpAnd {
		terms = l.Terms
	}
	var bits *expr.Bitset
	var rest []string
	for _, t := range terms {
		if b, ok := v.indexedTerm(sc, t); ok {
			if bits == nil {
				bits = b
			} else {
				bits.And(b)
			}
			continue
		}
		rest = append(rest, "("+t.String()+")")
	}
	if bits == nil {
		return nil, false, nil
	}
	if len(rest) > 0 {
		rp, err := sc.CompileFilter(strings.Join(rest, " and "))
		if err != nil {
			return nil, false, err
		}
		rb := expr.NewBitset(v.n)
		if err := rp.Eval(v, rb); err != nil {
			return nil, false, err
		}
		bits.And(rb)
	}
	return bits, true, nil
}

func (g *segment) sealedNow() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.sealed
}
