package expr

import (
	"fmt"
	"strconv"
)

// Compile parses s and checks it against schema: Parse then Check.
func Compile(s string, schema Schema) (*Program, error) {
	e, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return Check(e, schema)
}

// Check type-checks a parsed expression against schema and returns the
// program that evaluates it. Errors are *Error naming the field and types,
// for example: field "price" is double, cannot compare with string "x".
func Check(e *Expr, schema Schema) (*Program, error) {
	if e == nil || e.Root == nil {
		return nil, errorf(1, "expected expression, found nothing")
	}
	if err := checkDepth(e.Root, 1); err != nil {
		return nil, err
	}
	c := &checker{schema: schema, colIdx: map[colReq]int{}}
	o, err := c.node(e.Root)
	if err != nil {
		return nil, err
	}
	root, err := c.condition(o, "filter must be a boolean expression")
	if err != nil {
		return nil, err
	}
	return &Program{expr: e, root: root, cols: c.cols, keys: primaryKeys(e.Root, schema)}, nil
}

// typ is the static type of a subexpression.
type typ uint8

const (
	tyBool typ = iota + 1
	tyInt
	tyFloat
	tyString
	tyJSON // dynamic: known per row
)

func (t typ) String() string {
	return [...]string{tyBool: "bool", tyInt: "int64", tyFloat: "double", tyString: "string", tyJSON: "JSON"}[t]
}

// operand is a checked subexpression: its type, its source node, and the
// evaluation node of that type.
type operand struct {
	ty    typ
	src   Node
	field *Field // the schema field, when src is a field without JSON path
	b     boolExpr
	i     valExpr[int64]
	f     valExpr[float64]
	s     valExpr[string]
	d     valExpr[dyn]
}

func (o operand) numeric() bool { return o.ty == tyInt || o.ty == tyFloat }

// describe names an operand for an error message: field "age" (int64),
// string "x", int64 3, JSON value meta["a"], double expression "a / 2".
func (o operand) describe() string {
	switch n := o.src.(type) {
	case *FieldRef:
		if len(n.Path) == 0 && o.field != nil {
			return fmt.Sprintf("field %q (%s)", n.Name, o.field.Type)
		}
		return "JSON value " + clip(n.String())
	case *Literal:
		return o.ty.String() + " " + clip(n.String())
	}
	return o.ty.String() + " expression " + strconv.Quote(clip(o.src.String()))
}

type checker struct {
	schema Schema
	cols   []colReq
	colIdx map[colReq]int
}

func (c *checker) column(name string, ty FieldType) int {
	r := colReq{name: name, ty: ty}
	if i, ok := c.colIdx[r]; ok {
		return i
	}
	c.cols = append(c.cols, r)
	c.colIdx[r] = len(c.cols) - 1
	return len(c.cols) - 1
}

func (c *checker) node(n Node) (operand, error) {
	switch n := n.(type) {
	case *Literal:
		return literal(n), nil
	case *FieldRef:
		return c.fieldRef(n)
	case *Unary:
		return c.unary(n)
	case *Binary:
		if n.Op.IsArithmetic() {
			return c.arith(n)
		}
		return c.compare(n)
	case *Logical:
		return c.logical(n)
	case *Not:
		x, err := c.node(n.X)
		if err != nil {
			return operand{}, err
		}
		b, err := c.condition(x, `operator "not" requires a boolean operand`)
		if err != nil {
			return operand{}, err
		}
		return operand{ty: tyBool, src: n, b: &notNode{b}}, nil
	case *In:
		return c.in(n)
	case *Like:
		return c.like(n)
	case *IsNull:
		return c.isNull(n)
	}
	return operand{}, errorf(1, "unknown syntax node %T", n)
}

func literal(n *Literal) operand {
	switch v := n.Value.(type) {
	case int64:
		return operand{ty: tyInt, src: n, i: &constNode[int64]{[]int64{v}}}
	case float64:
		return operand{ty: tyFloat, src: n, f: &constNode[float64]{[]float64{v}}}
	case string:
		return operand{ty: tyString, src: n, s: &constNode[string]{[]string{v}}}
	case bool:
		return operand{ty: tyBool, src: n, b: &boolConst{v}}
	}
	return operand{}
}

func (c *checker) fieldRef(n *FieldRef) (operand, error) {
	f, ok := c.schema.Field(n.Name)
	if !ok {
		ds, dyn := c.schema.(DynamicSchema)
		if !dyn {
			return operand{}, errorf(n.At, "unknown field %q", n.Name)
		}
		if f, ok = ds.DynamicField(); !ok {
			return operand{}, errorf(n.At, "unknown field %q", n.Name)
		}
		n = &FieldRef{At: n.At, Name: f.Name, Path: append([]PathElem{{Key: n.Name}}, n.Path...)}
	}
	o := operand{src: n}
	if len(n.Path) == 0 {
		o.field = &f
	}
	if len(n.Path) > 0 && f.Type != JSON {
		return operand{}, errorf(n.At, "field %q is %s, only JSON fields can be indexed with [...]", n.Name, f.Type)
	}
	switch f.Type {
	case Bool:
		o.ty, o.b = tyBool, &boolCol{c.column(n.Name, Bool)}
	case Int64:
		o.ty, o.i = tyInt, &colNode[int64]{c.column(n.Name, Int64)}
	case Double:
		o.ty, o.f = tyFloat, &colNode[float64]{c.column(n.Name, Double)}
	case VarChar:
		o.ty, o.s = tyString, &colNode[string]{c.column(n.Name, VarChar)}
	case JSON:
		o.ty, o.d = tyJSON, &jsonCol{idx: c.column(n.Name, JSON), path: n.Path}
	case FloatVector:
		return operand{}, errorf(n.At, "field %q is a float vector and cannot be used in a filter", n.Name)
	default:
		return operand{}, errorf(n.At, "field %q has type %s, which cannot be used in a filter", n.Name, f.Type)
	}
	return o, nil
}

// condition returns o as a boolean: bool as is, a JSON value by its truth
// (JSON true or false; anything else unknown).
func (c *checker) condition(o operand, what string) (boolExpr, error) {
	switch o.ty {
	case tyBool:
		return o.b, nil
	case tyJSON:
		return &dynTruth{o.d}, nil
	}
	return nil, errorf(o.src.Pos(), "%s, found %s", what, o.describe())
}

// dynOf presents any operand as a dynamic value.
func dynOf(o operand) valExpr[dyn] {
	switch o.ty {
	case tyInt:
		return &toDyn[int64]{o.i, intDyn}
	case tyFloat:
		return &toDyn[float64]{o.f, floatDyn}
	case tyString:
		return &toDyn[string]{o.s, strDyn}
	case tyBool:
		return &boolDyn{o.b}
	}
	return o.d
}

// floatOf presents a numeric operand as a double.
func floatOf(o operand) valExpr[float64] {
	if o.ty == tyFloat {
		return o.f
	}
	if l, ok := o.src.(*Literal); ok {
		return &constNode[float64]{[]float64{float64(l.Value.(int64))}}
	}
	return &toFloat{o.i}
}

func (c *checker) unary(n *Unary) (operand, error) {
	x, err := c.node(n.X)
	if err != nil {
		return operand{}, err
	}
	o := operand{ty: x.ty, src: n}
	switch x.ty {
	case tyInt:
		o.i = &negInt{x.i}
	case tyFloat:
		o.f = &negFloat{x.f}
	case tyJSON:
		o.d = &dynNeg{x.d}
	default:
		return operand{}, errorf(n.At, `operator "-" requires a numeric operand, found %s`, x.describe())
	}
	return o, nil
}

func (c *checker) arith(n *Binary) (operand, error) {
	x, y, err := c.pair(n.X, n.Y)
	if err != nil {
		return operand{}, err
	}
	for _, o := range []operand{x, y} {
		if !o.numeric() && o.ty != tyJSON {
			return operand{}, errorf(n.At, "operator %q requires numeric operands, found %s", n.Op.String(), o.describe())
		}
	}
	switch {
	case x.ty == tyJSON || y.ty == tyJSON:
		return operand{ty: tyJSON, src: n, d: &dynArithNode{n.Op, dynOf(x), dynOf(y)}}, nil
	case x.ty == tyInt && y.ty == tyInt:
		return operand{ty: tyInt, src: n, i: &intArith{n.Op, x.i, y.i}}, nil
	}
	return operand{ty: tyFloat, src: n, f: &floatArith{n.Op, floatOf(x), floatOf(y)}}, nil
}

func (c *checker) pair(a, b Node) (x, y operand, err error) {
	if x, err = c.node(a); err != nil {
		return
	}
	y, err = c.node(b)
	return
}

func (c *checker) compare(n *Binary) (operand, error) {
	x, y, err := c.pair(n.X, n.Y)
	if err != nil {
		return operand{}, err
	}
	x, y = foldLiteral(x, y), foldLiteral(y, x)
	o := operand{ty: tyBool, src: n}
	switch {
	case x.ty == tyJSON || y.ty == tyJSON:
		o.b = &cmpDyn{n.Op, dynOf(x), dynOf(y)}
	case x.ty == tyInt && y.ty == tyInt:
		o.b = &cmpNode[int64]{n.Op, x.i, y.i}
	case x.ty == tyFloat && y.ty == tyFloat:
		o.b = &cmpNode[float64]{n.Op, x.f, y.f}
	case x.ty == tyInt && y.ty == tyFloat:
		o.b = &cmpMixed{n.Op, x.i, y.f}
	case x.ty == tyFloat && y.ty == tyInt:
		o.b = &cmpMixed{flip(n.Op), y.i, x.f}
	case x.ty == tyString && y.ty == tyString:
		o.b = &cmpNode[string]{n.Op, x.s, y.s}
	case x.ty == tyBool && y.ty == tyBool:
		if n.Op != OpEq && n.Op != OpNe {
			return operand{}, errorf(n.At, "operator %q is not defined on bool, found %s and %s", n.Op.String(), x.describe(), y.describe())
		}
		o.b = &cmpBool{n.Op, x.b, y.b}
	default:
		return operand{}, mismatch(n.At, x, y)
	}
	return o, nil
}

// mismatch reports two operands that cannot be compared, field first.
func mismatch(pos int, x, y operand) *Error {
	if y.field != nil && x.field == nil {
		x, y = y, x
	}
	if x.field != nil {
		return errorf(pos, "field %q is %s, cannot compare with %s", x.field.Name, x.field.Type, y.describe())
	}
	return errorf(pos, "cannot compare %s with %s", x.describe(), y.describe())
}

// foldLiteral lets a numeric literal take the type of the column it is
// compared with when that is exact, so "price < 100" runs the double kernel
// and "age >= 18.0" the int64 kernel instead of the mixed one.
func foldLiteral(o, other operand) operand {
	l, ok := o.src.(*Literal)
	if !ok {
		return o
	}
	switch v := l.Value.(type) {
	case int64:
		if other.ty == tyFloat && v >= -1<<53 && v <= 1<<53 {
			return operand{ty: tyFloat, src: l, f: &constNode[float64]{[]float64{float64(v)}}}
		}
	case float64:
		if i, ok := exactInt(v); ok && other.ty == tyInt {
			return operand{ty: tyInt, src: l, i: &constNode[int64]{[]int64{i}}}
		}
	}
	return o
}

func (c *checker) logical(n *Logical) (operand, error) {
	terms := make([]boolExpr, 0, len(n.Terms))
	for _, t := range n.Terms {
		x, err := c.node(t)
		if err != nil {
			return operand{}, err
		}
		b, err := c.condition(x, fmt.Sprintf("operator %q requires boolean operands", n.Op.String()))
		if err != nil {
			return operand{}, err
		}
		terms = append(terms, b)
	}
	o := operand{ty: tyBool, src: n}
	if n.Op == OpAnd {
		o.b = &andNode{terms}
	} else {
		o.b = &orNode{terms}
	}
	return o, nil
}

func (c *checker) in(n *In) (operand, error) {
	x, err := c.node(n.X)
	if err != nil {
		return operand{}, err
	}
	for _, l := range n.List {
		e := literal(l)
		ok := x.ty == tyJSON || x.ty == e.ty || x.numeric() && e.numeric()
		if !ok {
			return operand{}, mismatch(l.At, x, e)
		}
	}
	set := newValueSet(n.List)
	o := operand{ty: tyBool, src: n}
	switch x.ty {
	case tyInt:
		small, hashed := members(set.ints)
		o.b = &inNode[int64]{x: x.i, small: small, set: hashed, neg: n.Negated}
	case tyFloat:
		o.b = &inNode[float64]{x: x.f, fn: set.hasFloat, neg: n.Negated}
	case tyString:
		small, hashed := members(set.strs)
		o.b = &inNode[string]{x: x.s, small: small, set: hashed, neg: n.Negated}
	case tyBool:
		o.b = &inBool{x: x.b, hasTrue: set.hasTrue, hasFalse: set.hasFalse, neg: n.Negated}
	case tyJSON:
		o.b = &inDyn{x: x.d, set: set, neg: n.Negated}
	}
	return o, nil
}

func (c *checker) like(n *Like) (operand, error) {
	x, err := c.node(n.X)
	if err != nil {
		return operand{}, err
	}
	m, msg := compileLike(n.Pattern)
	if msg != "" {
		return operand{}, errorf(n.At, "%s", msg)
	}
	o := operand{ty: tyBool, src: n}
	switch x.ty {
	case tyString:
		o.b = &likeNode{x: x.s, m: m, neg: n.Negated}
	case tyJSON:
		o.b = &likeDyn{x: x.d, m: m, neg: n.Negated}
	default:
		return operand{}, errorf(n.At, `operator "like" requires a varchar or JSON operand, found %s`, x.describe())
	}
	return o, nil
}

func (c *checker) isNull(n *IsNull) (operand, error) {
	x, err := c.node(n.X)
	if err != nil {
		return operand{}, err
	}
	o := operand{ty: tyBool, src: n}
	switch x.ty {
	case tyBool:
		o.b = &isNullBool{x.b, n.Negated}
	case tyInt:
		o.b = &isNullNode[int64]{x.i, n.Negated}
	case tyFloat:
		o.b = &isNullNode[float64]{x.f, n.Negated}
	case tyString:
		o.b = &isNullNode[string]{x.s, n.Negated}
	case tyJSON:
		o.b = &isNullDyn{x.d, n.Negated}
	}
	return o, nil
}
