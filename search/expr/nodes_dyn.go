package expr

import "math"

// Nodes over dynamic (JSON) values. They honour sel: a row outside sel is
// left null and its JSON is never decoded.

// jsonCol reads a JSON column and follows path in each selected row.
type jsonCol struct {
	idx  int
	path []PathElem
}

func (e *jsonCol) eval(c *evalCtx, sel []uint64) vec[dyn] {
	raws := c.cols[e.idx].vals.([][]byte)[c.lo : c.lo+c.n]
	null := c.nulls(e.idx)
	out := buf[dyn](c)
	clear(out)
	for w, s := range sel {
		for b := s &^ word(null, w); b != 0; b &= b - 1 {
			j := w*64 + trailingZeros(b)
			out[j] = jsonLookup(raws[j], e.path)
		}
	}
	return vec[dyn]{v: out, ownV: true}
}

// toDyn presents a typed value as a dynamic one, to compare it with JSON.
type toDyn[T any] struct {
	x    valExpr[T]
	conv func(T) dyn
}

func (e *toDyn[T]) eval(c *evalCtx, sel []uint64) vec[dyn] {
	a := e.x.eval(c, sel)
	defer release(c, a)
	if a.k {
		return vec[dyn]{v: []dyn{e.conv(a.v[0])}, k: true}
	}
	out := buf[dyn](c)
	for j, x := range a.v {
		if bit(a.null, j) {
			out[j] = dyn{}
		} else {
			out[j] = e.conv(x)
		}
	}
	return vec[dyn]{v: out, ownV: true}
}

func intDyn(i int64) dyn     { return dyn{kind: dInt, i: i} }
func floatDyn(f float64) dyn { return dyn{kind: dFloat, f: f} }
func strDyn(s string) dyn    { return dyn{kind: dString, s: s} }

// boolDyn presents a three-valued boolean as a dynamic value.
type boolDyn struct{ x boolExpr }

func (e *boolDyn) eval(c *evalCtx, sel []uint64) vec[dyn] {
	t, f := c.words(), c.words()
	e.x.evalBool(c, sel, t, f)
	out := buf[dyn](c)
	for j := range out {
		switch {
		case bit(t, j):
			out[j] = dynBool(true)
		case bit(f, j):
			out[j] = dynBool(false)
		default:
			out[j] = dyn{}
		}
	}
	c.putWords(t)
	c.putWords(f)
	return vec[dyn]{v: out, ownV: true}
}

// dynTruth uses a JSON value as a condition: JSON true and false are true
// and false, anything else is unknown.
type dynTruth struct{ x valExpr[dyn] }

func (e *dynTruth) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	clear(t)
	clear(f)
	forEach(sel, func(j int) {
		if d := a.at(j); d.kind == dBool {
			if d.i != 0 {
				t[j>>6] |= 1 << (uint(j) & 63)
			} else {
				f[j>>6] |= 1 << (uint(j) & 63)
			}
		}
	})
	release(c, a)
}

type dynArithNode struct {
	op   Op
	x, y valExpr[dyn]
}

func (e *dynArithNode) eval(c *evalCtx, sel []uint64) vec[dyn] {
	a, b := e.x.eval(c, sel), e.y.eval(c, sel)
	out := buf[dyn](c)
	clear(out)
	forEach(sel, func(j int) { out[j] = dynArith(e.op, a.at(j), b.at(j)) })
	release(c, a)
	release(c, b)
	return vec[dyn]{v: out, ownV: true}
}

type dynNeg struct{ x valExpr[dyn] }

func (e *dynNeg) eval(c *evalCtx, sel []uint64) vec[dyn] {
	a := e.x.eval(c, sel)
	out := buf[dyn](c)
	clear(out)
	forEach(sel, func(j int) {
		switch d := a.at(j); d.kind {
		case dInt:
			if d.i != math.MinInt64 {
				out[j] = intDyn(-d.i)
			}
		case dFloat:
			out[j] = floatDyn(-d.f)
		}
	})
	release(c, a)
	return vec[dyn]{v: out, ownV: true}
}

type cmpDyn struct {
	op   Op
	x, y valExpr[dyn]
}

func (e *cmpDyn) evalBool(c *evalCtx, sel, t, f []uint64) {
	a, b := e.x.eval(c, sel), e.y.eval(c, sel)
	clear(t)
	clear(f)
	forEach(sel, func(j int) {
		r, ok := dynCompare(e.op, a.at(j), b.at(j))
		switch {
		case !ok:
		case r:
			t[j>>6] |= 1 << (uint(j) & 63)
		default:
			f[j>>6] |= 1 << (uint(j) & 63)
		}
	})
	release(c, a)
	release(c, b)
}

type inDyn struct {
	x   valExpr[dyn]
	set *valueSet
	neg bool
}

func (e *inDyn) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	clear(t)
	clear(f)
	forEach(sel, func(j int) {
		r, ok := e.set.hasDyn(a.at(j))
		switch {
		case !ok:
		case r != e.neg:
			t[j>>6] |= 1 << (uint(j) & 63)
		default:
			f[j>>6] |= 1 << (uint(j) & 63)
		}
	})
	release(c, a)
}

type likeDyn struct {
	x   valExpr[dyn]
	m   *likeMatcher
	neg bool
}

func (e *likeDyn) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	clear(t)
	clear(f)
	forEach(sel, func(j int) {
		d := a.at(j)
		if d.kind != dString {
			return
		}
		if e.m.match(d.s) != e.neg {
			t[j>>6] |= 1 << (uint(j) & 63)
		} else {
			f[j>>6] |= 1 << (uint(j) & 63)
		}
	})
	release(c, a)
}

type isNullDyn struct {
	x   valExpr[dyn]
	neg bool
}

func (e *isNullDyn) evalBool(c *evalCtx, sel, t, f []uint64) {
	a := e.x.eval(c, sel)
	clear(t)
	clear(f)
	forEach(sel, func(j int) {
		if (a.at(j).kind == dNull) != e.neg {
			t[j>>6] |= 1 << (uint(j) & 63)
		} else {
			f[j>>6] |= 1 << (uint(j) & 63)
		}
	})
	release(c, a)
}

// valueSet is the list of an "in", normalised: an integral double that fits
// int64 is stored as an int, so 2 and 2.0 are the same element and every
// lookup is exact.
type valueSet struct {
	ints              map[int64]struct{}
	floats            map[float64]struct{}
	strs              map[string]struct{}
	hasTrue, hasFalse bool
	hasNumber         bool
	hasString         bool
	empty             bool
}

func newValueSet(list []*Literal) *valueSet {
	s := &valueSet{
		ints:   map[int64]struct{}{},
		floats: map[float64]struct{}{},
		strs:   map[string]struct{}{},
		empty:  len(list) == 0,
	}
	for _, l := range list {
		switch v := l.Value.(type) {
		case int64:
			s.ints[v] = struct{}{}
			s.hasNumber = true
		case float64:
			if i, ok := exactInt(v); ok {
				s.ints[i] = struct{}{}
			} else {
				s.floats[v] = struct{}{}
			}
			s.hasNumber = true
		case string:
			s.strs[v] = struct{}{}
			s.hasString = true
		case bool:
			if v {
				s.hasTrue = true
			} else {
				s.hasFalse = true
			}
		}
	}
	return s
}

// exactInt returns f as an int64 when it is integral and in range.
func exactInt(f float64) (int64, bool) {
	if f >= -0x1p63 && f < 0x1p63 && f == math.Trunc(f) {
		return int64(f), true
	}
	return 0, false
}

func (s *valueSet) hasInt(i int64) bool {
	_, ok := s.ints[i]
	return ok
}

func (s *valueSet) hasFloat(f float64) bool {
	if i, ok := exactInt(f); ok {
		_, ok = s.ints[i]
		return ok
	}
	_, ok := s.floats[f]
	return ok
}

func (s *valueSet) hasStr(v string) bool {
	_, ok := s.strs[v]
	return ok
}

// hasDyn reports membership with the meaning of "d == e1 or d == e2 ...":
// ok is false (unknown) when d is null, when d is an object or array and the
// list is not empty, or when d is not found and the list holds elements d
// cannot be compared with.
func (s *valueSet) hasDyn(d dyn) (has, ok bool) {
	hasBool := s.hasTrue || s.hasFalse
	switch d.kind {
	case dInt:
		if s.hasInt(d.i) {
			return true, true
		}
		return false, !s.hasString && !hasBool
	case dFloat:
		if d.f == d.f && s.hasFloat(d.f) {
			return true, true
		}
		return false, !s.hasString && !hasBool
	case dString:
		if s.hasStr(d.s) {
			return true, true
		}
		return false, !s.hasNumber && !hasBool
	case dBool:
		if d.i != 0 && s.hasTrue || d.i == 0 && s.hasFalse {
			return true, true
		}
		return false, !s.hasNumber && !s.hasString
	case dOther:
		return false, s.empty
	}
	return false, false
}

// members returns the list or set an inNode scans: up to eight elements
// are compared one by one, more are hashed.
func members[T comparable](m map[T]struct{}) ([]T, map[T]struct{}) {
	if len(m) > 8 {
		return nil, m
	}
	list := make([]T, 0, len(m))
	for v := range m {
		list = append(list, v)
	}
	return list, nil
}
