package expr

import (
	"cmp"
	"math"
	"math/bits"
)

// Evaluation nodes. A boolean node writes three-valued results for the
// batch: bit j of t is set when row j is true, bit j of f when it is false,
// neither when it is unknown (null). A value node returns a vec. Every node
// receives sel, the rows whose result matters; rows outside sel may get any
// result, which lets "and"/"or" skip work and expensive nodes (JSON, like)
// skip rows. Cheap kernels compute every row: that is faster than testing
// sel.

type boolExpr interface {
	evalBool(c *evalCtx, sel, t, f []uint64)
}

type valExpr[T any] interface {
	eval(c *evalCtx, sel []uint64) vec[T]
}

func trailingZeros(b uint64) int { return bits.TrailingZeros64(b) }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func fill(ws []uint64, v uint64) {
	for i := range ws {
		ws[i] = v
	}
}

// ---- leaves ----

// colNode reads a column of type T (int64, float64, string or []byte).
type colNode[T any] struct{ idx int }

func (e *colNode[T]) eval(c *evalCtx, _ []uint64) vec[T] {
	v := c.cols[e.idx].vals.([]T)
	return vec[T]{v: v[c.lo : c.lo+c.n], null: c.nulls(e.idx)}
}

// constNode is a literal; v has one element.
type constNode[T any] struct{ v []T }

func (e *constNode[T]) eval(*evalCtx, []uint64) vec[T] { return vec[T]{v: e.v, k: true} }

// boolCol reads a bool column.
type boolCol struct{ idx int }

func (e *boolCol) evalBool(c *evalCtx, _, t, f []uint64) {
	v := c.cols[e.idx].vals.([]bool)[c.lo : c.lo+c.n]
	null := c.nulls(e.idx)
	for w := range t {
		s := v[w*64 : min(w*64+64, len(v))]
		var b uint64
		for j, x := range s {
			b |= b2u(x) << uint(j)
		}
		nw := word(null, w)
		t[w] = b &^ nw
		f[w] = ^b &^ nw
	}
}

type boolConst struct{ v bool }

func (e *boolConst) evalBool(_ *evalCtx, _, t, f []uint64) {
	if e.v {
		fill(t, ^uint64(0))
		fill(f, 0)
	} else {
		fill(t, 0)
		fill(f, ^uint64(0))
	}
}

// ---- logic ----

type andNode struct{ terms []boolExpr }

func (e *andNode) evalBool(c *evalCtx, sel, t, f []uint64) {
	fill(t, ^uint64(0))
	fill(f, 0)
	s, ct, cf := c.words(), c.words(), c.words()
	copy(s, sel)
	for i, term := range e.terms {
		if i > 0 {
			// Rows already false need no more work.
			live := uint64(0)
			for w := range s {
				s[w] = sel[w] &^ f[w]
				live |= s[w]
			}
			if live == 0 {
				break
			}
		}
		term.evalBool(c, s, ct, cf)
		for w := range t {
			t[w] &= ct[w]
			f[w] |= cf[w]
		}
	}
	c.putWords(s)
	c.putWords(ct)
	c.putWords(cf)
}

type orNode struct{ terms []boolExpr }

func (e *orNode) evalBool(c *evalCtx, sel, t, f []uint64) {
	fill(t, 0)
	fill(f, ^uint64(0))
	s, ct, cf := c.words(), c.words(), c.words()
	copy(s, sel)
	for i, term := range e.terms {
		if i > 0 {
			live := uint64(0)
			for w := range s {
				s[w] = sel[w] &^ t[w]
				live |= s[w]
			}
			if live == 0 {
				break
			}
		}
		term.evalBool(c, s, ct, cf)
		for w := range t {
			t[w] |= ct[w]
			f[w] &= cf[w]
		}
	}
	c.putWords(s)
	c.putWords(ct)
	c.putWords(cf)
}

// notNode swaps true and false; unknown stays unknown.
type notNode struct{ x boolExpr }

func (e *notNode) evalBool(c *evalCtx, sel, t, f []uint64) { e.x.evalBool(c, sel, f, t) }

// ---- comparisons ----

// cmpNode compares two values of an ordered type.
type cmpNode[T cmp.Ordered] struct {
	op   Op
	x, y valExpr[T]
}

func (e *cmpNode[T]) evalBool(c *evalCtx, sel, t, f []uint64) {
	a, b := e.x.eval(c, sel), e.y.eval(c, sel)
	switch {
	case a.k && b.k:
		fill(t, -b2u(compareOp(e.op, cmp.Compare(a.v[0], b.v[0]))))
	case b.k:
		cmpColConst(e.op, a.v, b.v[0], t)
	case a.k:
		cmpColConst(flip(e.op), b.v, a.v[0], t)
	default:
		cmpColCol(e.op, a.v, b.v, t)
	}
	finish(t, f, a.null, b.null)
	release(c, a)
	release(c, b)
}

// finish turns raw comparison bits in t into three-valued t and f: a null
// operand makes the row unknown.
func finish(t, f, na, nb []uint64) {
	for w := range t {
		n := word(na, w) | word(nb, w)
		f[w] = ^t[w] &^ n
		t[w] &^= n
	}
}

// flip returns the operator with its operands swapped: a < b is b > a.
func flip(op Op) Op {
	switch op {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return op
}

// compareOp applies op to the result of a three-way comparison.
func compareOp(op Op, c int) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	}
	return false
}

// cmpColConst sets bit j of out when v[j] op k. NaN compares false except
// with !=, as in IEEE 754.
func cmpColConst[T cmp.Ordered](op Op, v []T, k T, out []uint64) {
	for w := range out {
		s := v[w*64 : min(w*64+64, len(v))]
		var b uint64
		switch op {
		case OpEq:
			for j, x := range s {
				b |= b2u(x == k) << uint(j)
			}
		case OpNe:
			for j, x := range s {
				b |= b2u(x != k) << uint(j)
			}
		case OpLt:
			for j, x := range s {
				b |= b2u(x < k) << uint(j)
			}
		case OpLe:
			for j, x := range s {
				b |= b2u(x <= k) << uint(j)
			}
		case OpGt:
			for j, x := range s {
				b |= b2u(x > k) << uint(j)
			}
		case OpGe:
			for j, x := range s {
				b |= b2u(x >= k) << uint(j)
			}
		}
		out[w] = b
	}
}

func cmpColCol[T cmp.Ordered](op Op, v, u []T, out []uint64) {
	for w := range out {
		lo, hi := w*64, min(w*64+64, len(v))
		s, r := v[lo:hi], u[lo:hi]
		var b uint64
		switch op {
		case OpEq:
			for j, x := range s {
				b |= b2u(x == r[j]) << uint(j)
			}
		case OpNe:
			for j, x := range s {
				b |= b2u(x != r[j]) << uint(j)
			}
		case OpLt:
			for j, x := range s {
				b |= b2u(x < r[j]) << uint(j)
			}
		case OpLe:
			for j, x := range s {
				b |= b2u(x <= r[j]) << uint(j)
			}
		case OpGt:
			for j, x := range s {
				b |= b2u(x > r[j]) << uint(j)
			}
		case OpGe:
			for j, x := range s {
				b |= b2u(x >= r[j]) << uint(j)
			}
		}
		out[w] = b
	}
}

// cmpMixed compares an int64 with a double exactly (no rounding of the int).
type cmpMixed struct {
	op Op
	x  valExpr[int64]
	y  valExpr[float64]
}

func (e *cmpMixed) evalBool(c *evalCtx, sel, t, f []uint64) {
	a, b := e.x.eval(c, sel), e.y.eval(c, sel)
	for w := range t {
		var r uint64
		for j := w * 64; j < min(w*64+64, c.n); j++ {
			cr, ok := cmpIntFloat(a.at(j), b.at(j))
			r |= b2u(ok && compareOp(e.op, cr) || !ok && e.op == OpNe) << uint(j&63)
		}
		t[w] = r
	}
	finish(t, f, a.null, b.null)
	release(c, a)
	release(c, b)
}

// cmpIntFloat compares i with d exactly; ok is false when d is NaN.
func cmpIntFloat(i int64, d float64) (c int, ok bool) {
	switch {
	case d != d:
		return 0, false
	case d >= 0x1p63:
		return -1, true
	case d < -0x1p63:
		return 1, true
	}
	tr := math.Trunc(d)
	if c := cmp.Compare(i, int64(tr)); c != 0 {
		return c, true
	}
	return cmp.Compare(tr, d), true
}

// cmpBool compares two booleans with == or != (three-valued).
type cmpBool struct {
	op   Op
	x, y boolExpr
}

func (e *cmpBool) evalBool(c *evalCtx, sel, t, f []uint64) {
	xt, xf, yt, yf := c.words(), c.words(), c.words(), c.words()
	e.x.evalBool(c, sel, xt, xf)
	e.y.evalBool(c, sel, yt, yf)
	for w := range t {
		eq := xt[w]&yt[w] | xf[w]&yf[w]
		ne := xt[w]&yf[w] | xf[w]&yt[w]
		if e.op == OpNe {
			eq, ne = ne, eq
		}
		t[w], f[w] = eq, ne
	}
	c.putWords(xt)
	c.putWords(xf)
	c.putWords(yt)
	c.putWords(yf)
}

// ---- in ----

// inNode tests membership of an int64, double or string value: a short
// list is scanned, a long one hashed, doubles go through fn (which knows
// that 2 and 2.0 are the same element).
type inNode[T comparable] struct {
	x     valExpr[T]
	small []T
	set   map[T]struct{}
	fn    func(T) bool
	neg   bool
}

func (e *inNode[T]) has(x T) bool {
	switch {
	case e.fn != nil:
		return e.fn(x)
	case e.set != nil:
		_, ok := e.set[x]
		return ok
	}
	for _, v := range e.small {
		if v == x {
			return true
		}
	}
	return false
}

func (e *inNode[T]) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	switch {
	case a.k:
		fill(t, -b2u(e.has(a.v[0])))
	case e.fn == nil && e.set == nil:
		for w := range t {
			s := a.v[w*64 : min(w*64+64, len(a.v))]
			var r uint64
			for j, x := range s {
				hit := false
				for _, v := range e.small {
					hit = hit || v == x
				}
				r |= b2u(hit) << uint(j)
			}
			t[w] = r
		}
	default:
		for w := range t {
			s := a.v[w*64 : min(w*64+64, len(a.v))]
			var r uint64
			for j, x := range s {
				r |= b2u(e.has(x)) << uint(j)
			}
			t[w] = r
		}
	}
	finish(t, f, a.null, nil)
	if e.neg {
		swap(t, f)
	}
	release(c, a)
}

func swap(t, f []uint64) {
	for w := range t {
		t[w], f[w] = f[w], t[w]
	}
}

// inBool tests membership of a boolean.
type inBool struct {
	x                 boolExpr
	hasTrue, hasFalse bool
	neg               bool
}

func (e *inBool) evalBool(c *evalCtx, sel, t, f []uint64) {
	e.x.evalBool(c, sel, t, f)
	ht, hf := -b2u(e.hasTrue), -b2u(e.hasFalse)
	for w := range t {
		xt, xf := t[w], f[w]
		t[w] = xt&ht | xf&hf
		f[w] = xt&^ht | xf&^hf
	}
	if e.neg {
		swap(t, f)
	}
}

// ---- like ----

type likeNode struct {
	x   valExpr[string]
	m   *likeMatcher
	neg bool
}

func (e *likeNode) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	for w := range t {
		rows := sel[w] &^ word(a.null, w)
		var r uint64
		for b := rows; b != 0; b &= b - 1 {
			j := trailingZeros(b)
			r |= b2u(e.m.match(a.at(w*64+j))) << uint(j)
		}
		t[w], f[w] = r, rows&^r
	}
	if e.neg {
		swap(t, f)
	}
	release(c, a)
}

// ---- is null ----

type isNullNode[T any] struct {
	x   valExpr[T]
	neg bool
}

func (e *isNullNode[T]) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	for w := range t {
		t[w] = word(a.null, w)
		f[w] = ^t[w]
	}
	if e.neg {
		swap(t, f)
	}
	release(c, a)
}

// isNullBool tests whether a boolean expression is unknown.
type isNullBool struct {
	x   boolExpr
	neg bool
}

func (e *isNullBool) evalBool(c *evalCtx, sel, t, f []uint64) {
	e.x.evalBool(c, sel, t, f)
	for w := range t {
		known := t[w] | f[w]
		t[w], f[w] = ^known, known
	}
	if e.neg {
		swap(t, f)
	}
}

// ---- arithmetic ----

// intArith computes + - * / % on int64. Overflow and division by zero make
// the row null, so it matches no comparison.
type intArith struct {
	op   Op
	x, y valExpr[int64]
}

func (e *intArith) eval(c *evalCtx, sel []uint64) vec[int64] {
	a, b := expand(c, e.x.eval(c, sel)), expand(c, e.y.eval(c, sel))
	out := buf[int64](c)
	null := c.unionNulls(a.null, b.null)
	bad := func(j int) { out[j] = 0; null[j>>6] |= 1 << (uint(j) & 63) }
	switch e.op {
	case OpAdd:
		for j := range out {
			x, y := a.v[j], b.v[j]
			r := x + y
			out[j] = r
			if (x^r)&(y^r) < 0 {
				bad(j)
			}
		}
	case OpSub:
		for j := range out {
			x, y := a.v[j], b.v[j]
			r := x - y
			out[j] = r
			if (x^y)&(x^r) < 0 {
				bad(j)
			}
		}
	case OpMul:
		for j := range out {
			x, y := a.v[j], b.v[j]
			r := x * y
			out[j] = r
			if x != 0 && (r/x != y || x == -1 && y == math.MinInt64) {
				bad(j)
			}
		}
	case OpDiv:
		for j := range out {
			x, y := a.v[j], b.v[j]
			if y == 0 || y == -1 && x == math.MinInt64 {
				bad(j)
				continue
			}
			out[j] = x / y
		}
	case OpMod:
		for j := range out {
			x, y := a.v[j], b.v[j]
			switch y {
			case 0:
				bad(j)
			case -1:
				out[j] = 0
			default:
				out[j] = x % y
			}
		}
	}
	release(c, a)
	release(c, b)
	return vec[int64]{v: out, null: null, ownV: true, ownN: true}
}

// floatArith computes + - * / % on doubles; division (or %) by zero makes
// the row null.
type floatArith struct {
	op   Op
	x, y valExpr[float64]
}

func (e *floatArith) eval(c *evalCtx, sel []uint64) vec[float64] {
	a, b := expand(c, e.x.eval(c, sel)), expand(c, e.y.eval(c, sel))
	out := buf[float64](c)
	null := c.unionNulls(a.null, b.null)
	switch e.op {
	case OpAdd:
		for j := range out {
			out[j] = a.v[j] + b.v[j]
		}
	case OpSub:
		for j := range out {
			out[j] = a.v[j] - b.v[j]
		}
	case OpMul:
		for j := range out {
			out[j] = a.v[j] * b.v[j]
		}
	case OpDiv, OpMod:
		for j := range out {
			y := b.v[j]
			if y == 0 {
				out[j] = 0
				null[j>>6] |= 1 << (uint(j) & 63)
				continue
			}
			if e.op == OpDiv {
				out[j] = a.v[j] / y
			} else {
				out[j] = math.Mod(a.v[j], y)
			}
		}
	}
	release(c, a)
	release(c, b)
	return vec[float64]{v: out, null: null, ownV: true, ownN: true}
}

// negInt is unary minus on int64; -MinInt64 overflows to null.
type negInt struct{ x valExpr[int64] }

func (e *negInt) eval(c *evalCtx, sel []uint64) vec[int64] {
	a := expand(c, e.x.eval(c, sel))
	out := buf[int64](c)
	null := c.unionNulls(a.null, nil)
	for j, x := range a.v {
		out[j] = -x
		if x == math.MinInt64 {
			null[j>>6] |= 1 << (uint(j) & 63)
		}
	}
	release(c, a)
	return vec[int64]{v: out, null: null, ownV: true, ownN: true}
}

type negFloat struct{ x valExpr[float64] }

func (e *negFloat) eval(c *evalCtx, sel []uint64) vec[float64] {
	a := e.x.eval(c, sel)
	if a.k {
		return vec[float64]{v: []float64{-a.v[0]}, k: true}
	}
	out := buf[float64](c)
	for j, x := range a.v {
		out[j] = -x
	}
	if a.ownV {
		put(c, a.v)
	}
	return vec[float64]{v: out, null: a.null, ownV: true, ownN: a.ownN}
}

// toFloat converts int64 to double for mixed arithmetic.
type toFloat struct{ x valExpr[int64] }

func (e *toFloat) eval(c *evalCtx, sel []uint64) vec[float64] {
	a := e.x.eval(c, sel)
	if a.k {
		return vec[float64]{v: []float64{float64(a.v[0])}, k: true}
	}
	out := buf[float64](c)
	for j, x := range a.v {
		out[j] = float64(x)
	}
	if a.ownV {
		put(c, a.v)
	}
	return vec[float64]{v: out, null: a.null, ownV: true, ownN: a.ownN}
}
