package fsm

import (
	"errors"
	"fmt"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/search/expr"
)

// DefaultPartition is the partition rows go to when an insert names none.
const DefaultPartition = "_default"

// exprSchema presents the collection schema to the filter language.
func (s *Schema) exprSchema() expr.Fields {
	out := make(expr.Fields, 0, len(s.pb.Fields))
	for _, f := range s.pb.Fields {
		var t expr.FieldType
		switch f.Type {
		case fsmpb.FieldType_BOOL:
			t = expr.Bool
		case fsmpb.FieldType_INT8, fsmpb.FieldType_INT16, fsmpb.FieldType_INT32, fsmpb.FieldType_INT64:
			t = expr.Int64
		case fsmpb.FieldType_FLOAT, fsmpb.FieldType_DOUBLE:
			t = expr.Double
		case fsmpb.FieldType_VARCHAR:
			t = expr.VarChar
		case fsmpb.FieldType_JSON:
			t = expr.JSON
		case fsmpb.FieldType_FLOAT_VECTOR:
			t = expr.FloatVector
		}
		out = append(out, expr.Field{Name: f.Name, Type: t, Nullable: f.Nullable, PrimaryKey: f.PrimaryKey, Dynamic: f.Dynamic})
	}
	return out
}

// CompileFilter parses and type-checks a filter expression against the
// schema. The error is ErrInvalid and says where and what was expected.
func (s *Schema) CompileFilter(text string) (*expr.Program, error) {
	p, err := expr.Compile(text, s.exprSchema())
	if err != nil {
		var pe *expr.Error
		if errors.As(err, &pe) {
			return nil, invalidf("filter: %v", pe)
		}
		return nil, invalidf("filter: %v", err)
	}
	return p, nil
}

// Filter narrows a read to the rows of some partitions that match an
// expression. The zero Filter admits every row.
type Filter struct {
	Expr *expr.Program
	// Partitions, if not nil, are the partition ids the read is limited to.
	Partitions []uint32
	// schema is set by readViews so that sealed segments can answer
	// indexable terms from their scalar indexes.
	schema *Schema
}

func (f Filter) empty() bool { return f.Expr == nil && f.Partitions == nil }

// apply narrows a view with the filter: it evaluates the expression over
// the view's columns once, into a bitset, and makes Visible consult it.
func (f Filter) apply(v *View) error {
	if f.empty() || v.n == 0 {
		return nil
	}
	var bits *expr.Bitset
	if f.Expr != nil {
		used := false
		if f.schema != nil {
			var err error
			if bits, used, err = v.evalIndexed(f.schema, f.Expr); err != nil {
				return fmt.Errorf("evaluate filter on segment %d: %w", v.seg.id, err)
			}
		}
		if !used {
			bits = expr.NewBitset(v.n)
			if err := f.Expr.Eval(v, bits); err != nil {
				return fmt.Errorf("evaluate filter on segment %d: %w", v.seg.id, err)
			}
		}
	}
	var parts map[uint32]bool
	if f.Partitions != nil {
		parts = make(map[uint32]bool, len(f.Partitions))
		for _, p := range f.Partitions {
			parts[p] = true
		}
	}
	v.allow = func(row uint32) bool {
		if bits != nil && !bits.Test(int(row)) {
			return false
		}
		return parts == nil || parts[v.parts[row]]
	}
	return nil
}

// --- View as expr.Columns ---

func (v *View) column(field string) (*fsmpb.Column, error) {
	for _, c := range v.cols {
		if c.Field == field {
			return c, nil
		}
	}
	return nil, fmt.Errorf("segment has no column %q", field)
}

func nullBits(c *fsmpb.Column, n int) *expr.Bitset {
	if len(c.Nulls) == 0 {
		return nil
	}
	b := expr.NewBitset(n)
	for i, null := range c.Nulls[:n] {
		if null {
			b.Set(i)
		}
	}
	return b
}

// Bool returns a bool column of the view.
func (v *View) Bool(field string) ([]bool, *expr.Bitset, error) {
	c, err := v.column(field)
	if err != nil {
		return nil, nil, err
	}
	return c.Bools[:v.n], nullBits(c, v.n), nil
}

// Int64 returns an int64 column (or the int64 primary key) of the view.
func (v *View) Int64(field string) ([]int64, *expr.Bitset, error) {
	if v.seg.pkName == field {
		return v.intPKs, nil, nil
	}
	c, err := v.column(field)
	if err != nil {
		return nil, nil, err
	}
	return c.Int64S[:v.n], nullBits(c, v.n), nil
}

// Double returns a double column of the view.
func (v *View) Double(field string) ([]float64, *expr.Bitset, error) {
	c, err := v.column(field)
	if err != nil {
		return nil, nil, err
	}
	return c.Doubles[:v.n], nullBits(c, v.n), nil
}

// VarChar returns a varchar column (or the varchar primary key).
func (v *View) VarChar(field string) ([]string, *expr.Bitset, error) {
	if v.seg.pkName == field {
		return v.strPKs, nil, nil
	}
	c, err := v.column(field)
	if err != nil {
		return nil, nil, err
	}
	return c.Strings[:v.n], nullBits(c, v.n), nil
}

// JSON returns a JSON column of the view.
func (v *View) JSON(field string) ([][]byte, *expr.Bitset, error) {
	c, err := v.column(field)
	if err != nil {
		return nil, nil, err
	}
	return c.Jsons[:v.n], nullBits(c, v.n), nil
}
