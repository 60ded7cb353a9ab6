package expr

import (
	"fmt"
	"math"
	"strconv"
)

// Parse parses a filter expression. It checks syntax and the limits
// (MaxLength, MaxDepth, MaxListLen) but not field names or types; see Check.
// Errors are *Error.
func Parse(s string) (*Expr, error) { return parse(s, MaxListLen) }

// parse is Parse with the list limit as a parameter: at MaxLength a list
// cannot reach MaxListLen elements, so tests lower it to see it enforced.
func parse(s string, maxList int) (*Expr, error) {
	if len(s) > MaxLength {
		return nil, errorf(MaxLength+1, "expression is %d bytes, longer than the limit of %d bytes", len(s), MaxLength)
	}
	p := &parser{lx: lexer{src: s}, maxList: maxList}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, errorf(p.tok.pos, "expected expression, found end of input")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("operator or end of input")
	}
	if err := checkDepth(root, 1); err != nil {
		return nil, err
	}
	return &Expr{Root: root}, nil
}

var tokOp = [...]Op{
	tEq: OpEq, tNe: OpNe, tLt: OpLt, tLe: OpLe, tGt: OpGt, tGe: OpGe,
	tStar: OpMul, tSlash: OpDiv, tPercent: OpMod,
}

type parser struct {
	lx   lexer
	tok  token // current token
	prev token // the token before it
	nest int   // open parentheses, "not" and unary minus around tok

	maxList int
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.prev, p.tok = p.tok, t
	return nil
}

func (p *parser) unexpected(expected string) *Error {
	return errorf(p.tok.pos, "expected %s, found %s", expected, p.tok.describe())
}

func (p *parser) enter() error {
	p.nest++
	if p.nest > MaxDepth {
		return errorf(p.tok.pos, "nesting depth exceeds the limit of %d", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.nest-- }

// parseOr parses: AndExpr { ("or" | "||") AndExpr }.
func (p *parser) parseOr() (Node, error) {
	x, err := p.parseAnd()
	if err != nil || p.tok.kind != tOr {
		return x, err
	}
	l := &Logical{At: p.tok.pos, Op: OpOr}
	l.Terms = appendTerm(l.Terms, OpOr, x)
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l.Terms = appendTerm(l.Terms, OpOr, y)
	}
	return l, nil
}

// parseAnd parses: NotExpr { ("and" | "&&") NotExpr }.
func (p *parser) parseAnd() (Node, error) {
	x, err := p.parseNot()
	if err != nil || p.tok.kind != tAnd {
		return x, err
	}
	l := &Logical{At: p.tok.pos, Op: OpAnd}
	l.Terms = appendTerm(l.Terms, OpAnd, x)
	for p.tok.kind == tAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l.Terms = appendTerm(l.Terms, OpAnd, y)
	}
	return l, nil
}

// appendTerm flattens a parenthesised chain of the same operator, so that
// "(a and b) and c" and "a and b and c" are the same tree.
func appendTerm(terms []Node, op Op, n Node) []Node {
	if l, ok := n.(*Logical); ok && l.Op == op {
		return append(terms, l.Terms...)
	}
	return append(terms, n)
}

// parseNot parses: ("not" | "!") NotExpr | Predicate.
func (p *parser) parseNot() (Node, error) {
	if p.tok.kind == tExists {
		// Milvus's "exists X" is "X is not null": a missing JSON key and
		// a JSON null are both null here.
		at := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &IsNull{At: at, X: x, Negated: true}, nil
	}
	if p.tok.kind != tNot {
		return p.parsePredicate()
	}
	at := p.tok.pos
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	p.leave()
	return &Not{At: at, X: x}, nil
}

// parsePredicate parses: Sum [ CompareOp Sum | ["not"] "in" List |
// ["not"] "like" string | "is" ["not"] "null" ].
func (p *parser) parsePredicate() (Node, error) {
	x, err := p.parseSum()
	if err != nil {
		return nil, err
	}
	at := p.tok.pos
	switch p.tok.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		op := tokOp[p.tok.kind]
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseSum()
		if err != nil {
			return nil, err
		}
		return &Binary{At: at, Op: op, X: x, Y: y}, nil
	case tIn:
		return p.parseIn(at, x, false)
	case tLike:
		return p.parseLike(at, x, false)
	case tNot:
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tIn:
			return p.parseIn(at, x, true)
		case tLike:
			return p.parseLike(at, x, true)
		}
		return nil, p.unexpected(`"in" or "like" after "not"`)
	case tIs:
		if err := p.advance(); err != nil {
			return nil, err
		}
		neg := false
		if p.tok.kind == tNot {
			neg = true
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if p.tok.kind != tNull {
			if neg {
				return nil, p.unexpected(`"null" after "is not"`)
			}
			return nil, p.unexpected(`"null" or "not null" after "is"`)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return &IsNull{At: at, X: x, Negated: neg}, nil
	}
	return x, nil
}

// parseIn parses the list after "in"; the current token is "in".
func (p *parser) parseIn(at int, x Node, neg bool) (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLBrack {
		return nil, p.unexpected(fmt.Sprintf("%q after %q", "[", p.prev.text))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	in := &In{At: at, X: x, Negated: neg}
	for p.tok.kind != tRBrack {
		if len(in.List) == p.maxList {
			return nil, errorf(p.tok.pos, "in list exceeds the limit of %d elements", p.maxList)
		}
		lit, err := p.parseListItem()
		if err != nil {
			return nil, err
		}
		in.List = append(in.List, lit)
		if p.tok.kind == tComma {
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		}
		if p.tok.kind != tRBrack {
			return nil, p.unexpected(`"," or "]" in list`)
		}
	}
	return in, p.advance()
}

// parseListItem parses: ["-"] (int | float) | string | "true" | "false".
func (p *parser) parseListItem() (*Literal, error) {
	switch p.tok.kind {
	case tMinus:
		at := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tInt && p.tok.kind != tFloat {
			return nil, p.unexpected(`number after "-" in list`)
		}
		return p.number(at, true)
	case tInt, tFloat:
		return p.number(p.tok.pos, false)
	case tString, tTrue, tFalse:
		return p.literal()
	case tNull:
		return nil, errorf(p.tok.pos, `expected literal value in list, found "null" (null never equals anything; use "is null")`)
	}
	return nil, p.unexpected("literal value in list")
}

// parseLike parses the pattern after "like"; the current token is "like".
func (p *parser) parseLike(at int, x Node, neg bool) (Node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tString {
		return nil, p.unexpected(`string pattern after "like"`)
	}
	pat := p.tok.str
	if err := p.advance(); err != nil {
		return nil, err
	}
	return &Like{At: at, X: x, Pattern: pat, Negated: neg}, nil
}

// parseSum parses: Product { ("+" | "-") Product }.
func (p *parser) parseSum() (Node, error) {
	x, err := p.parseProduct()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tPlus || p.tok.kind == tMinus {
		at, op := p.tok.pos, OpAdd
		if p.tok.kind == tMinus {
			op = OpSub
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseProduct()
		if err != nil {
			return nil, err
		}
		x = &Binary{At: at, Op: op, X: x, Y: y}
	}
	return x, nil
}

// parseProduct parses: Unary { ("*" | "/" | "%") Unary }.
func (p *parser) parseProduct() (Node, error) {
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tStar || p.tok.kind == tSlash || p.tok.kind == tPercent {
		at, op := p.tok.pos, tokOp[p.tok.kind]
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		x = &Binary{At: at, Op: op, X: x, Y: y}
	}
	return x, nil
}

// parseUnary parses: "-" Unary | Primary. A minus directly before a number
// is part of the literal, so -9223372036854775808 is a valid int64; a minus
// before any other numeric literal is folded into it.
func (p *parser) parseUnary() (Node, error) {
	if p.tok.kind != tMinus {
		return p.parsePrimary()
	}
	at := p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tInt || p.tok.kind == tFloat {
		return p.number(at, true)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.leave()
	if l, ok := x.(*Literal); ok {
		switch v := l.Value.(type) {
		case int64:
			if v != math.MinInt64 {
				return &Literal{At: at, Value: -v}, nil
			}
		case float64:
			return &Literal{At: at, Value: -v}, nil
		}
	}
	return &Unary{At: at, Op: OpNeg, X: x}, nil
}

// parsePrimary parses: Literal | FieldRef | "(" OrExpr ")".
func (p *parser) parsePrimary() (Node, error) {
	switch p.tok.kind {
	case tInt, tFloat:
		return p.number(p.tok.pos, false)
	case tString, tTrue, tFalse:
		return p.literal()
	case tIdent:
		return p.parseField()
	case tLParen:
		open := p.tok.pos
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected(fmt.Sprintf(`operator or ")" to close "(" at position %d`, open))
		}
		p.leave()
		return x, p.advance()
	}
	what := "value"
	switch p.prev.kind {
	case tEOF, tAnd, tOr, tNot, tLParen:
		what = "expression"
	}
	where := ""
	if p.prev.text != "" {
		where = fmt.Sprintf(" after %q", p.prev.text)
	}
	if p.tok.kind == tNull {
		return nil, errorf(p.tok.pos, `expected %s%s, found "null" (use "is null" or "is not null" to test for null)`, what, where)
	}
	return nil, p.unexpected(what + where)
}

func (p *parser) literal() (*Literal, error) {
	l := &Literal{At: p.tok.pos}
	switch p.tok.kind {
	case tString:
		l.Value = p.tok.str
	case tTrue:
		l.Value = true
	case tFalse:
		l.Value = false
	}
	return l, p.advance()
}

// number converts the current number token, negated when neg (at is then
// the position of the minus sign).
func (p *parser) number(at int, neg bool) (*Literal, error) {
	text := p.tok.text
	if neg {
		text = "-" + text
	}
	l := &Literal{At: at}
	if p.tok.kind == tInt {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, errorf(at, "integer %s is out of range for int64", clip(text))
		}
		l.Value = v
	} else {
		// The lexer only produces well-formed numbers, so the only error
		// is overflow to ±Inf. Underflow rounds to zero, as in Go.
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, errorf(at, "number %s is out of range for double", clip(text))
		}
		l.Value = v
	}
	return l, p.advance()
}

// parseField parses: identifier { "[" (string | int) "]" }.
func (p *parser) parseField() (Node, error) {
	f := &FieldRef{At: p.tok.pos, Name: p.tok.text}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tLParen {
		return nil, errorf(f.At, "function %q is not supported", clip(f.Name))
	}
	for p.tok.kind == tLBrack {
		if len(f.Path) == MaxDepth {
			return nil, errorf(p.tok.pos, "JSON path exceeds the limit of %d keys", MaxDepth)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		var e PathElem
		switch p.tok.kind {
		case tString:
			e.Key = p.tok.str
		case tInt:
			i, err := strconv.ParseInt(p.tok.text, 10, 32)
			if err != nil {
				return nil, errorf(p.tok.pos, "array index %s is out of range", clip(p.tok.text))
			}
			e.Index, e.IsIndex = int(i), true
		default:
			return nil, p.unexpected(`string key or array index after "["`)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tRBrack {
			return nil, p.unexpected(`"]" after JSON key`)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		f.Path = append(f.Path, e)
	}
	return f, nil
}

// checkDepth reports the first node, in source order, deeper than MaxDepth.
// It recurses at most MaxDepth+1 levels.
func checkDepth(n Node, d int) error {
	if d > MaxDepth {
		return errorf(n.Pos(), "nesting depth exceeds the limit of %d", MaxDepth)
	}
	var kids []Node
	switch n := n.(type) {
	case *Unary:
		kids = []Node{n.X}
	case *Binary:
		kids = []Node{n.X, n.Y}
	case *Logical:
		kids = n.Terms
	case *Not:
		kids = []Node{n.X}
	case *In:
		kids = []Node{n.X}
	case *Like:
		kids = []Node{n.X}
	case *IsNull:
		kids = []Node{n.X}
	}
	for _, k := range kids {
		if err := checkDepth(k, d+1); err != nil {
			return err
		}
	}
	return nil
}
