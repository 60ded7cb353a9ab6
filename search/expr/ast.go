package expr

import (
	"math"
	"strconv"
	"strings"
)

// Expr is a parsed, not yet type-checked, filter expression.
type Expr struct {
	Root Node
}

// String is the canonical form of the expression: lower-case keywords,
// double-quoted strings, the fewest parentheses that keep the meaning. It
// parses back to an expression with the same String, provided it is not
// longer than MaxLength (it can be longer than the input: "&&" prints as
// "and", list elements are separated by ", ").
func (e *Expr) String() string { return e.Root.String() }

// Node is a node of the syntax tree. The concrete types are *Literal,
// *FieldRef, *Unary, *Binary, *Logical, *Not, *In, *Like and *IsNull.
type Node interface {
	// Pos is the 1-based byte column the node is reported at: its first
	// byte for literals and fields, its operator for the others.
	Pos() int
	String() string
	node()
}

// Op is an operator.
type Op uint8

// Operators.
const (
	OpAdd Op = iota + 1
	OpSub
	OpMul
	OpDiv
	OpMod
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpAnd
	OpOr
	OpNeg
)

var opText = [...]string{
	OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
	OpEq: "==", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
	OpAnd: "and", OpOr: "or", OpNeg: "-",
}

func (o Op) String() string {
	if int(o) < len(opText) && opText[o] != "" {
		return opText[o]
	}
	return "?"
}

// IsComparison reports whether o is one of == != < <= > >=.
func (o Op) IsComparison() bool { return o >= OpEq && o <= OpGe }

// IsArithmetic reports whether o is one of + - * / %.
func (o Op) IsArithmetic() bool { return o >= OpAdd && o <= OpMod }

// Literal is a constant: Value is an int64, float64, string or bool.
type Literal struct {
	At    int
	Value any
}

// PathElem is one step of a JSON path: ["key"] or [index].
type PathElem struct {
	Key     string
	Index   int
	IsIndex bool
}

// FieldRef names a field, optionally followed by a JSON path.
type FieldRef struct {
	At   int
	Name string
	Path []PathElem
}

// Unary is unary minus (Op is OpNeg).
type Unary struct {
	At int
	Op Op
	X  Node
}

// Binary is an arithmetic operation or a comparison.
type Binary struct {
	At   int
	Op   Op
	X, Y Node
}

// Logical is a chain of "and" (Op is OpAnd) or of "or" (OpOr). The parser
// flattens nested chains of the same operator into one node.
type Logical struct {
	At    int
	Op    Op
	Terms []Node
}

// Not is logical negation.
type Not struct {
	At int
	X  Node
}

// In is "X in [List]", or "X not in [List]" when Negated.
type In struct {
	At      int
	X       Node
	List    []*Literal
	Negated bool
}

// Like is `X like "Pattern"`, or `X not like "Pattern"` when Negated.
// Pattern is the pattern after string-literal unescaping.
type Like struct {
	At      int
	X       Node
	Pattern string
	Negated bool
}

// IsNull is "X is null", or "X is not null" when Negated.
type IsNull struct {
	At      int
	X       Node
	Negated bool
}

func (n *Literal) Pos() int  { return n.At }
func (n *FieldRef) Pos() int { return n.At }
func (n *Unary) Pos() int    { return n.At }
func (n *Binary) Pos() int   { return n.At }
func (n *Logical) Pos() int  { return n.At }
func (n *Not) Pos() int      { return n.At }
func (n *In) Pos() int       { return n.At }
func (n *Like) Pos() int     { return n.At }
func (n *IsNull) Pos() int   { return n.At }

func (*Literal) node()  {}
func (*FieldRef) node() {}
func (*Unary) node()    {}
func (*Binary) node()   {}
func (*Logical) node()  {}
func (*Not) node()      {}
func (*In) node()       {}
func (*Like) node()     {}
func (*IsNull) node()   {}

// Precedence levels, loosest first. They drive both the parser's structure
// and the printer's parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precPredicate
	precSum
	precProduct
	precUnary
	precPrimary
)

func prec(n Node) int {
	switch n := n.(type) {
	case *Logical:
		if n.Op == OpOr {
			return precOr
		}
		return precAnd
	case *Not:
		return precNot
	case *In, *Like, *IsNull:
		return precPredicate
	case *Binary:
		switch n.Op {
		case OpAdd, OpSub:
			return precSum
		case OpMul, OpDiv, OpMod:
			return precProduct
		}
		return precPredicate
	case *Unary:
		return precUnary
	}
	return precPrimary
}

func write(b *strings.Builder, n Node, minPrec int) {
	if prec(n) < minPrec {
		b.WriteByte('(')
		n.(interface{ write(*strings.Builder) }).write(b)
		b.WriteByte(')')
		return
	}
	n.(interface{ write(*strings.Builder) }).write(b)
}

func str(n interface{ write(*strings.Builder) }) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *Literal) String() string  { return str(n) }
func (n *FieldRef) String() string { return str(n) }
func (n *Unary) String() string    { return str(n) }
func (n *Binary) String() string   { return str(n) }
func (n *Logical) String() string  { return str(n) }
func (n *Not) String() string      { return str(n) }
func (n *In) String() string       { return str(n) }
func (n *Like) String() string     { return str(n) }
func (n *IsNull) String() string   { return str(n) }

func (n *Literal) write(b *strings.Builder) { b.WriteString(literalText(n.Value)) }

func literalText(v any) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return floatText(v)
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return "?"
}

// floatText formats a double so that it reads back as a double, not an int.
func floatText(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "?" // the lexer never produces these
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func (n *FieldRef) write(b *strings.Builder) {
	b.WriteString(n.Name)
	writePath(b, n.Path)
}

func writePath(b *strings.Builder, path []PathElem) {
	for _, p := range path {
		b.WriteByte('[')
		if p.IsIndex {
			b.WriteString(strconv.Itoa(p.Index))
		} else {
			b.WriteString(strconv.Quote(p.Key))
		}
		b.WriteByte(']')
	}
}

func (n *Unary) write(b *strings.Builder) {
	b.WriteString(n.Op.String())
	write(b, n.X, precUnary)
}

func (n *Binary) write(b *strings.Builder) {
	p := prec(n)
	if p == precPredicate {
		write(b, n.X, precSum)
		b.WriteString(" " + n.Op.String() + " ")
		write(b, n.Y, precSum)
		return
	}
	write(b, n.X, p)
	b.WriteString(" " + n.Op.String() + " ")
	write(b, n.Y, p+1)
}

func (n *Logical) write(b *strings.Builder) {
	p := prec(n)
	for i, t := range n.Terms {
		if i > 0 {
			b.WriteString(" " + n.Op.String() + " ")
		}
		write(b, t, p+1)
	}
}

func (n *Not) write(b *strings.Builder) {
	b.WriteString("not ")
	write(b, n.X, precNot)
}

func (n *In) write(b *strings.Builder) {
	write(b, n.X, precSum)
	if n.Negated {
		b.WriteString(" not")
	}
	b.WriteString(" in [")
	for i, l := range n.List {
		if i > 0 {
			b.WriteString(", ")
		}
		l.write(b)
	}
	b.WriteByte(']')
}

func (n *Like) write(b *strings.Builder) {
	write(b, n.X, precSum)
	if n.Negated {
		b.WriteString(" not")
	}
	b.WriteString(" like ")
	b.WriteString(strconv.Quote(n.Pattern))
}

func (n *IsNull) write(b *strings.Builder) {
	write(b, n.X, precSum)
	if n.Negated {
		b.WriteString(" is not null")
	} else {
		b.WriteString(" is null")
	}
}
