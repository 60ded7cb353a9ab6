package expr

import (
	"encoding/json"
	"fmt"
)

// Columns is one segment's scalar data, column by column, as Program.Eval
// reads it. The growing segment and sealed segments both implement it.
//
// Eval calls the methods from its own goroutine, once per field the
// program references, before evaluating any row; several Evals on different
// segments may run concurrently, each with its own Columns. A column method
// is called only for a field whose schema type matches it; the primary key is
// read through Int64 or VarChar under its field name.
//
// Every returned slice must hold exactly Len() values and must not change
// while Eval runs; Eval only reads them. The null bitmap has a set bit for
// each null row; nil means the column has no nulls, otherwise its Len()
// must equal Len(). The value stored at a null row is ignored. JSON values
// are raw JSON text (a null row may hold nil). An error (for example the
// segment is closing) aborts Eval and is returned wrapped.
type Columns interface {
	Len() int
	Bool(field string) ([]bool, *Bitset, error)
	Int64(field string) ([]int64, *Bitset, error)
	Double(field string) ([]float64, *Bitset, error)
	VarChar(field string) ([]string, *Bitset, error)
	JSON(field string) ([][]byte, *Bitset, error)
}

// RowGetter is one row, for Program.Match. Value returns the field's value:
// a bool, int64, float64 or string for fields of those types, raw JSON text
// as []byte or json.RawMessage for a JSON field, and nil for null.
type RowGetter interface {
	Value(field string) (any, error)
}

// rowColumns presents one row as a one-row segment.
type rowColumns struct{ row RowGetter }

func (r rowColumns) Len() int { return 1 }

// one fetches a field's value and converts it to T, or reports null.
func one[T any](r rowColumns, field string) ([]T, *Bitset, error) {
	v, err := r.row.Value(field)
	if err != nil {
		return nil, nil, err
	}
	if v == nil {
		b := NewBitset(1)
		b.Set(0)
		return make([]T, 1), b, nil
	}
	t, ok := v.(T)
	if !ok {
		var want T
		return nil, nil, fmt.Errorf("field %q: row holds %T, want %T", field, v, want)
	}
	return []T{t}, nil, nil
}

func (r rowColumns) Bool(f string) ([]bool, *Bitset, error)      { return one[bool](r, f) }
func (r rowColumns) Int64(f string) ([]int64, *Bitset, error)    { return one[int64](r, f) }
func (r rowColumns) Double(f string) ([]float64, *Bitset, error) { return one[float64](r, f) }
func (r rowColumns) VarChar(f string) ([]string, *Bitset, error) { return one[string](r, f) }

func (r rowColumns) JSON(f string) ([][]byte, *Bitset, error) {
	v, err := r.row.Value(f)
	if err != nil {
		return nil, nil, err
	}
	switch v := v.(type) {
	case json.RawMessage:
		return [][]byte{v}, nil, nil
	case []byte:
		return [][]byte{v}, nil, nil
	}
	return one[[]byte](r, f)
}
