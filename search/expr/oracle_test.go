package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEvalAgainstOracle compares the column-wise evaluator with a simple
// row-at-a-time interpreter of the syntax tree (big-number arithmetic,
// regexp for like) on random data with nulls and random expressions. It
// exercises batches, the selection masks of "and"/"or", and three-valued
// logic together.
func TestEvalAgainstOracle(t *testing.T) {
	const rows = batchRows + 904
	seed := int64(7)
	if s := os.Getenv("EXPR_ORACLE_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	rng := rand.New(rand.NewSource(seed))
	tb, data := randomTable(rng, rows)
	exprs := 400
	if testing.Short() {
		exprs = 100
	}
	g := &gen{rng: rng}
	for k := 0; k < exprs; k++ {
		src := g.boolean(3)
		p, err := Compile(src, testSchema)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		var out Bitset
		if err := p.Eval(tb, &out); err != nil {
			t.Fatalf("Eval(%q): %v", src, err)
		}
		for i := 0; i < rows; i++ {
			want := oracle(p.Expr().Root, data[i])
			got := out.Test(i)
			if got != (want.kind == 'b' && want.b) {
				t.Fatalf("%s\nrow %d %v: Eval %v, oracle %+v", src, i, data[i], got, want)
			}
		}
	}
}

// ov is an oracle value; kind 0 is null (or unknown), 'i' int64, 'f'
// double, 's' string, 'b' bool, 'o' JSON object or array.
type ov struct {
	kind byte
	i    int64
	f    float64
	s    string
	b    bool
}

type orow map[string]ov

var (
	names   = []string{"", "a", "ab", "abc", "b", "ba", "x%y", "x_y", "日本", "Apple", "banana"}
	pattern = []string{"a%", "%a", "%a%", "a_", "_", "%", "", "ab", "x\\%y", "x\\_y", "x_y", "%b%a%", "日%", "_本", "A%e"}
)

func randomTable(rng *rand.Rand, n int) (*table, []orow) {
	cols := map[string][]any{}
	data := make([]orow, n)
	null := func() bool { return rng.Intn(6) == 0 }
	for i := range data {
		r := orow{}
		r["id"] = ov{kind: 'i', i: int64(i)}
		cols["id"] = append(cols["id"], int64(i))

		var age any
		if !null() {
			a := int64(rng.Intn(121) - 20)
			switch rng.Intn(40) {
			case 0:
				a = math.MaxInt64
			case 1:
				a = math.MinInt64
			}
			age = a
			r["age"] = ov{kind: 'i', i: a}
		}
		cols["age"] = append(cols["age"], age)

		var price any
		if !null() {
			p := float64(rng.Intn(241)-40) / 2
			if rng.Intn(40) == 0 {
				p = 1e18
			}
			price = p
			r["price"] = ov{kind: 'f', f: p}
		}
		cols["price"] = append(cols["price"], price)

		var name any
		if !null() {
			s := names[rng.Intn(len(names))]
			name = s
			r["name"] = ov{kind: 's', s: s}
		}
		cols["name"] = append(cols["name"], name)

		var active any
		if !null() {
			b := rng.Intn(2) == 0
			active = b
			r["active"] = ov{kind: 'b', b: b}
		}
		cols["active"] = append(cols["active"], active)

		var meta any
		if !null() {
			m := map[string]any{}
			switch rng.Intn(6) {
			case 0:
				m["n"] = rng.Intn(21) - 10
			case 1:
				m["n"] = float64(rng.Intn(41)-20) / 4
			case 2:
				m["n"] = names[rng.Intn(len(names))]
			case 3:
				m["n"] = nil
			case 4:
				m["n"] = []int{1}
			}
			if rng.Intn(4) != 0 {
				m["s"] = names[rng.Intn(len(names))]
			}
			switch rng.Intn(3) {
			case 0:
				m["b"] = true
			case 1:
				m["b"] = false
			}
			raw, _ := json.Marshal(m)
			meta = raw
			r["meta"] = ov{kind: 'o', s: string(raw)}
		}
		cols["meta"] = append(cols["meta"], meta)
		data[i] = r
	}
	tb := newTable(n)
	for name, vals := range cols {
		tb.set(name, vals)
	}
	return tb, data
}

// gen writes random, well-typed filter expressions.
type gen struct{ rng *rand.Rand }

func (g *gen) pick(s ...string) string { return s[g.rng.Intn(len(s))] }

func (g *gen) cmpOp() string { return g.pick("==", "!=", "<", "<=", ">", ">=") }

func (g *gen) boolean(d int) string {
	n := 12
	if d > 0 {
		n = 16
	}
	switch g.rng.Intn(n) {
	case 0, 1, 2:
		return g.num(d) + " " + g.cmpOp() + " " + g.num(d)
	case 3:
		return g.str() + " " + g.cmpOp() + " " + g.str()
	case 4:
		var items []string
		for range g.rng.Intn(5) {
			items = append(items, g.pick("-3", "0", "1", "2", "5", "7.5", "30", "9223372036854775807"))
		}
		return g.num(0) + g.pick(" in [", " not in [") + strings.Join(items, ", ") + "]"
	case 5:
		var items []string
		for range g.rng.Intn(4) {
			items = append(items, strconv.Quote(names[g.rng.Intn(len(names))]))
		}
		return g.str() + g.pick(" in [", " not in [") + strings.Join(items, ", ") + "]"
	case 6:
		return g.str() + g.pick(" like ", " not like ") + strconv.Quote(pattern[g.rng.Intn(len(pattern))])
	case 7:
		return g.pick(g.num(d), g.str(), "active", `meta["b"]`, `meta`) + g.pick(" is null", " is not null")
	case 8:
		return g.pick("active", "not active", `meta["b"]`, "true", "false", `active == meta["b"]`, "active != false")
	case 9:
		return `meta["n"] ` + g.cmpOp() + " " + g.pick("0", "1", "-2.5", `"a"`, "age", "price", `meta["s"]`)
	case 10:
		return `meta["n"]` + g.pick(" in [", " not in [") + g.pick(`1, 2, -3`, `"a", "ab"`, `1, "a", true`, ``, `2.5, -0.25`) + "]"
	case 11:
		return g.pick(`meta["s"]`, `meta["n"]`) + g.pick(" like ", " not like ") + strconv.Quote(pattern[g.rng.Intn(len(pattern))])
	case 12, 13:
		return "(" + g.boolean(d-1) + ")" + g.pick(" and ", " or ", " && ", " || ") + "(" + g.boolean(d-1) + ")"
	case 14:
		return "not (" + g.boolean(d-1) + ")"
	default:
		return "(" + g.boolean(d-1) + ") " + g.pick("==", "!=") + " (" + g.boolean(d-1) + ")"
	}
}

func (g *gen) num(d int) string {
	n := 8
	if d > 0 {
		n = 11
	}
	switch g.rng.Intn(n) {
	case 0, 1:
		return "age"
	case 2:
		return "id"
	case 3:
		return "price"
	case 4:
		return g.pick("0", "1", "-1", "2", "7", "18", "9223372036854775807", "-9223372036854775808", "100000000000")
	case 5:
		return g.pick("0.5", "2.0", "-3.25", "1e18", "17.5")
	case 6:
		return `meta["n"]`
	case 7:
		return "-" + g.pick("age", "price", `meta["n"]`)
	default:
		return "(" + g.num(d-1) + " " + g.pick("+", "-", "*", "/", "%") + " " + g.num(d-1) + ")"
	}
}

func (g *gen) str() string {
	if g.rng.Intn(3) == 0 {
		return strconv.Quote(names[g.rng.Intn(len(names))])
	}
	return g.pick("name", "name", `meta["s"]`)
}

// oracle evaluates n on one row, without batches or bitmaps.
func oracle(n Node, r orow) ov {
	switch n := n.(type) {
	case *Literal:
		switch v := n.Value.(type) {
		case int64:
			return ov{kind: 'i', i: v}
		case float64:
			return ov{kind: 'f', f: v}
		case string:
			return ov{kind: 's', s: v}
		case bool:
			return ov{kind: 'b', b: v}
		}
	case *FieldRef:
		v := r[n.Name]
		if n.Name == "meta" && v.kind != 0 {
			return jsonOracle(v.s, n.Path)
		}
		return v
	case *Unary:
		x := oracle(n.X, r)
		switch {
		case x.kind == 'i' && x.i != math.MinInt64:
			return ov{kind: 'i', i: -x.i}
		case x.kind == 'f':
			return ov{kind: 'f', f: -x.f}
		}
		return ov{}
	case *Binary:
		x, y := oracle(n.X, r), oracle(n.Y, r)
		if n.Op.IsArithmetic() {
			return arithOracle(n.Op, x, y)
		}
		return cmpOracle(n.Op, x, y)
	case *Logical:
		identity := n.Op == OpAnd
		res := ov{kind: 'b', b: identity}
		for _, term := range n.Terms {
			v := truth(oracle(term, r))
			switch {
			case v.kind == 'b' && v.b != identity:
				return v // false decides "and", true decides "or"
			case v.kind == 0:
				res = ov{}
			}
		}
		return res
	case *Not:
		v := truth(oracle(n.X, r))
		if v.kind == 'b' {
			v.b = !v.b
		}
		return v
	case *In:
		x := oracle(n.X, r)
		if x.kind == 0 {
			return ov{}
		}
		res := ov{kind: 'b'}
		for _, l := range n.List {
			v := cmpOracle(OpEq, x, oracle(l, r))
			if v.kind == 'b' && v.b {
				res = v
				break
			}
			if v.kind == 0 {
				res = ov{}
			}
		}
		if n.Negated && res.kind == 'b' {
			res.b = !res.b
		}
		return res
	case *Like:
		x := oracle(n.X, r)
		if x.kind != 's' {
			return ov{}
		}
		return ov{kind: 'b', b: likeRegexp(n.Pattern).MatchString(x.s) != n.Negated}
	case *IsNull:
		return ov{kind: 'b', b: (oracle(n.X, r).kind == 0) != n.Negated}
	}
	panic(fmt.Sprintf("oracle: %T", n))
}

func truth(v ov) ov {
	if v.kind != 'b' {
		return ov{}
	}
	return v
}

func jsonOracle(raw string, path []PathElem) ov {
	if !json.Valid([]byte(raw)) {
		return ov{}
	}
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return ov{}
	}
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			if p.IsIndex {
				return ov{}
			}
			v = c[p.Key]
		case []any:
			if !p.IsIndex || p.Index >= len(c) {
				return ov{}
			}
			v = c[p.Index]
		default:
			return ov{}
		}
	}
	switch v := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if i, err := v.Int64(); err == nil {
				return ov{kind: 'i', i: i}
			}
		}
		f, _ := v.Float64()
		return ov{kind: 'f', f: f}
	case string:
		return ov{kind: 's', s: v}
	case bool:
		return ov{kind: 'b', b: v}
	case nil:
		return ov{}
	}
	return ov{kind: 'o'}
}

func arithOracle(op Op, x, y ov) ov {
	num := func(v ov) bool { return v.kind == 'i' || v.kind == 'f' }
	if !num(x) || !num(y) {
		return ov{}
	}
	if x.kind == 'i' && y.kind == 'i' {
		a, b := big.NewInt(x.i), big.NewInt(y.i)
		r := new(big.Int)
		switch op {
		case OpAdd:
			r.Add(a, b)
		case OpSub:
			r.Sub(a, b)
		case OpMul:
			r.Mul(a, b)
		case OpDiv, OpMod:
			if y.i == 0 {
				return ov{}
			}
			if op == OpDiv {
				r.Quo(a, b)
			} else {
				r.Rem(a, b)
			}
		}
		if !r.IsInt64() {
			return ov{}
		}
		return ov{kind: 'i', i: r.Int64()}
	}
	f := func(v ov) float64 {
		if v.kind == 'i' {
			return float64(v.i)
		}
		return v.f
	}
	a, b := f(x), f(y)
	switch op {
	case OpAdd:
		return ov{kind: 'f', f: a + b}
	case OpSub:
		return ov{kind: 'f', f: a - b}
	case OpMul:
		return ov{kind: 'f', f: a * b}
	}
	if b == 0 {
		return ov{}
	}
	if op == OpDiv {
		return ov{kind: 'f', f: a / b}
	}
	return ov{kind: 'f', f: math.Mod(a, b)}
}

func cmpOracle(op Op, x, y ov) ov {
	var c int
	switch {
	case (x.kind == 'i' || x.kind == 'f') && (y.kind == 'i' || y.kind == 'f'):
		bf := func(v ov) *big.Float {
			if v.kind == 'i' {
				return new(big.Float).SetInt64(v.i)
			}
			return big.NewFloat(v.f)
		}
		if x.kind == 'f' && math.IsNaN(x.f) || y.kind == 'f' && math.IsNaN(y.f) {
			return ov{kind: 'b', b: op == OpNe}
		}
		c = bf(x).Cmp(bf(y))
	case x.kind == 's' && y.kind == 's':
		c = strings.Compare(x.s, y.s)
	case x.kind == 'b' && y.kind == 'b':
		if op != OpEq && op != OpNe {
			return ov{}
		}
		if x.b != y.b {
			c = 1
		}
	default:
		return ov{}
	}
	return ov{kind: 'b', b: compareOp(op, c)}
}

var likeCache = map[string]*regexp.Regexp{}

func likeRegexp(pat string) *regexp.Regexp {
	if re, ok := likeCache[pat]; ok {
		return re
	}
	var b bytes.Buffer
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '\\':
			i++
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString(`)$`)
	re := regexp.MustCompile(b.String())
	likeCache[pat] = re
	return re
}
