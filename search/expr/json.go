package expr

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// dyn is a value of a JSON field (or a typed value compared with one). Its
// kind is decided per row, when the row is looked at.
type dyn struct {
	kind dynKind
	i    int64 // dInt; dBool as 0 or 1
	f    float64
	s    string
}

type dynKind uint8

const (
	dNull   dynKind = iota // JSON null, a missing key, or a null field
	dBool                  // i is 0 or 1
	dInt                   // a JSON number written without fraction or exponent that fits int64
	dFloat                 // any other JSON number
	dString                // s
	dOther                 // an object or array: not null, equal to nothing
)

func dynBool(b bool) dyn { return dyn{kind: dBool, i: int64(b2u(b))} }

// jsonLookup follows path in raw JSON text and decodes the scalar there. A
// missing key, an index out of range, stepping into a non-container, or text
// that is not valid JSON all give null; with a repeated key the last one
// counts, as in encoding/json.
//
// The text is checked with json.Valid, then the path is followed by skipping
// over the values that are not on it, without decoding them: decoding whole
// objects per row (map[string]json.RawMessage) costs an order of magnitude
// more in allocations.
func jsonLookup(raw []byte, path []PathElem) dyn {
	if !json.Valid(raw) {
		return dyn{}
	}
	v := bytes.TrimSpace(raw)
	for _, p := range path {
		var ok bool
		if p.IsIndex {
			v, ok = jsonIndex(v, p.Index)
		} else {
			v, ok = jsonField(v, p.Key)
		}
		if !ok {
			return dyn{}
		}
	}
	return jsonScalar(v)
}

// The scanners below assume valid JSON (checked by jsonLookup) and return
// the text of one value, without surrounding whitespace.

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at v[i] == '"'.
func skipString(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(v)
}

// skipValue returns the index after the value starting at v[i].
func skipValue(v []byte, i int) int {
	switch v[i] {
	case '"':
		return skipString(v, i)
	case '{', '[':
		depth := 0
		for i < len(v) {
			switch v[i] {
			case '"':
				i = skipString(v, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(v)
	}
	for i < len(v) {
		switch v[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// jsonField returns the value of key in the object v.
func jsonField(v []byte, key string) ([]byte, bool) {
	if len(v) == 0 || v[0] != '{' {
		return nil, false
	}
	var found []byte
	ok := false
	i := skipSpace(v, 1)
	for i < len(v) && v[i] == '"' {
		end := skipString(v, i)
		k := v[i+1 : end-1]
		var match bool
		if bytes.IndexByte(k, '\\') < 0 && utf8.Valid(k) {
			match = string(k) == key
		} else {
			var s string
			match = json.Unmarshal(v[i:end], &s) == nil && s == key
		}
		i = skipSpace(v, end)
		i = skipSpace(v, i+1) // the colon
		vend := skipValue(v, i)
		if match {
			found, ok = v[i:vend], true
		}
		i = skipSpace(v, vend)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return found, ok
}

// jsonIndex returns element idx of the array v.
func jsonIndex(v []byte, idx int) ([]byte, bool) {
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	i := skipSpace(v, 1)
	for n := 0; i < len(v) && v[i] != ']'; n++ {
		end := skipValue(v, i)
		if n == idx {
			return v[i:end], true
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return nil, false
}

func jsonScalar(raw []byte) dyn {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return dyn{}
	}
	switch raw[0] {
	case 'n':
		return dyn{}
	case 't':
		if string(raw) == "true" {
			return dynBool(true)
		}
		return dyn{}
	case 'f':
		if string(raw) == "false" {
			return dynBool(false)
		}
		return dyn{}
	case '{', '[':
		return dyn{kind: dOther}
	case '"':
		// Without escapes or invalid UTF-8 (which encoding/json replaces
		// with U+FFFD) the text between the quotes is the value.
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			return dyn{kind: dString, s: string(raw[1 : len(raw)-1])}
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return dyn{}
		}
		return dyn{kind: dString, s: s}
	}
	if !bytes.ContainsAny(raw, ".eE") {
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return dyn{kind: dInt, i: i}
		}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return dyn{}
	}
	return dyn{kind: dFloat, f: f}
}

// dynCompare compares two dynamic values. ok is false when they cannot be
// compared with op: different kinds (other than int and double), a null, an
// object or array, an ordering of booleans, or NaN. The comparison is then
// unknown, like a comparison with null.
func dynCompare(op Op, a, b dyn) (result, ok bool) {
	var c int
	switch {
	case a.kind == dInt && b.kind == dInt:
		c = cmp.Compare(a.i, b.i)
	case a.kind == dInt && b.kind == dFloat:
		var o bool
		if c, o = cmpIntFloat(a.i, b.f); !o {
			return false, false
		}
	case a.kind == dFloat && b.kind == dInt:
		var o bool
		if c, o = cmpIntFloat(b.i, a.f); !o {
			return false, false
		}
		c = -c
	case a.kind == dFloat && b.kind == dFloat:
		if a.f != a.f || b.f != b.f {
			return false, false
		}
		c = cmp.Compare(a.f, b.f)
	case a.kind == dString && b.kind == dString:
		c = cmp.Compare(a.s, b.s)
	case a.kind == dBool && b.kind == dBool:
		if op != OpEq && op != OpNe {
			return false, false
		}
		c = cmp.Compare(a.i, b.i)
	default:
		return false, false
	}
	return compareOp(op, c), true
}

// dynArith applies an arithmetic operator: int64 with int64 stays int64
// (overflow is null), any other pair of numbers is computed in double,
// anything else, and division by zero, is null.
func dynArith(op Op, a, b dyn) dyn {
	if a.kind == dInt && b.kind == dInt {
		x, y := a.i, b.i
		var r int64
		switch op {
		case OpAdd:
			r = x + y
			if (x^r)&(y^r) < 0 {
				return dyn{}
			}
		case OpSub:
			r = x - y
			if (x^y)&(x^r) < 0 {
				return dyn{}
			}
		case OpMul:
			r = x * y
			if x != 0 && (r/x != y || x == -1 && y == math.MinInt64) {
				return dyn{}
			}
		case OpDiv:
			if y == 0 || y == -1 && x == math.MinInt64 {
				return dyn{}
			}
			r = x / y
		case OpMod:
			if y == 0 {
				return dyn{}
			}
			if y != -1 {
				r = x % y
			}
		}
		return dyn{kind: dInt, i: r}
	}
	x, ok1 := a.number()
	y, ok2 := b.number()
	if !ok1 || !ok2 {
		return dyn{}
	}
	var r float64
	switch op {
	case OpAdd:
		r = x + y
	case OpSub:
		r = x - y
	case OpMul:
		r = x * y
	case OpDiv, OpMod:
		if y == 0 {
			return dyn{}
		}
		if op == OpDiv {
			r = x / y
		} else {
			r = math.Mod(x, y)
		}
	}
	return dyn{kind: dFloat, f: r}
}

func (d dyn) number() (float64, bool) {
	switch d.kind {
	case dInt:
		return float64(d.i), true
	case dFloat:
		return d.f, true
	}
	return 0, false
}
