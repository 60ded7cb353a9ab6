package expr

import "fmt"

// table is an in-memory Columns: typed columns by name plus null rows.
type table struct {
	n     int
	cols  map[string]any // []bool, []int64, []float64, []string, [][]byte
	nulls map[string]*Bitset
	fail  map[string]error
}

func newTable(n int) *table {
	return &table{n: n, cols: map[string]any{}, nulls: map[string]*Bitset{}, fail: map[string]error{}}
}

// set stores a column; vals[i] == nil makes row i null.
func (t *table) set(name string, vals []any) *table {
	nulls := NewBitset(t.n)
	var col any
	switch vals[firstNonNil(vals)].(type) {
	case bool:
		col = conv[bool](vals, nulls)
	case int64:
		col = conv[int64](vals, nulls)
	case float64:
		col = conv[float64](vals, nulls)
	case string:
		col = conv[string](vals, nulls)
	case []byte:
		col = conv[[]byte](vals, nulls)
	}
	t.cols[name] = col
	if nulls.Count() > 0 {
		t.nulls[name] = nulls
	}
	return t
}

func firstNonNil(vals []any) int {
	for i, v := range vals {
		if v != nil {
			return i
		}
	}
	return 0
}

func conv[T any](vals []any, nulls *Bitset) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		if v == nil {
			nulls.Set(i)
			continue
		}
		out[i] = v.(T)
	}
	return out
}

func (t *table) Len() int { return t.n }

func get[T any](t *table, name string) ([]T, *Bitset, error) {
	if err := t.fail[name]; err != nil {
		return nil, nil, err
	}
	v, ok := t.cols[name].([]T)
	if !ok {
		return nil, nil, fmt.Errorf("no %T column %q", v, name)
	}
	return v, t.nulls[name], nil
}

func (t *table) Bool(f string) ([]bool, *Bitset, error)      { return get[bool](t, f) }
func (t *table) Int64(f string) ([]int64, *Bitset, error)    { return get[int64](t, f) }
func (t *table) Double(f string) ([]float64, *Bitset, error) { return get[float64](t, f) }
func (t *table) VarChar(f string) ([]string, *Bitset, error) { return get[string](t, f) }
func (t *table) JSON(f string) ([][]byte, *Bitset, error)    { return get[[]byte](t, f) }

var testSchema = Fields{
	{Name: "id", Type: Int64, PrimaryKey: true},
	{Name: "age", Type: Int64, Nullable: true},
	{Name: "price", Type: Double, Nullable: true},
	{Name: "name", Type: VarChar, Nullable: true},
	{Name: "active", Type: Bool, Nullable: true},
	{Name: "meta", Type: JSON, Nullable: true},
	{Name: "vec", Type: FloatVector},
}

func js(s string) any { return []byte(s) }

// fixture has eight rows with nulls in every nullable column.
func fixture() *table {
	const maxInt = int64(1<<63 - 1)
	return newTable(8).
		set("id", []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8)}).
		set("age", []any{int64(30), nil, int64(17), int64(65), int64(0), int64(-5), maxInt, int64(42)}).
		set("price", []any{9.5, 20.0, nil, 100.0, -1.25, 0.0, 1e300, 42.0}).
		set("name", []any{"apple", "banana", "cherry pie", nil, "Apple", "50% off", "", "日本語"}).
		set("active", []any{true, false, nil, true, false, true, false, nil}).
		set("meta", []any{
			js(`{"color":"red","size":3,"tags":["a","b"],"dims":{"w":2,"h":3.5}}`),
			js(`{"color":"blue","size":10.5}`),
			nil,
			js(`{"color":null}`),
			js(` {"color":"red","size":"big"} `),
			js(`[1,2]`),
			js(`{"dims":{"w":1}}`),
			js(`{"color":"green","size":42,"ok":true,"esc":"a\"b\u00e9"}`),
		})
}
