package fsm

import (
	"math"

	"github.com/raftvec/raftvec/fsm/fsmpb"
	"github.com/raftvec/raftvec/index"
)

// Limits bound what one write may carry. They are checked on the leader
// before an op is proposed.
type Limits struct {
	// MaxBatchRows is the most rows one insert or delete may carry.
	MaxBatchRows int
}

// DefaultLimits returns the limits used when a config sets none.
func DefaultLimits() Limits { return Limits{MaxBatchRows: 100_000} }

// FieldValues is one scalar field's values, one per row (nil = null).
type FieldValues struct {
	Name   string
	Values []*fsmpb.Value
}

// RowsInput is an insert batch as a client sent it.
type RowsInput struct {
	IntPKs  []int64
	StrPKs  []string
	Vectors []float32
	Fields  []FieldValues
	// FromBackup: the rows are restored from a backup, as they were
	// stored: an auto_id collection's rows carry their ids, and COSINE
	// vectors are already normalised (and must be unit vectors).
	FromBackup bool
}

// BuildRows validates a batch against the schema and returns it in the
// codec's columnar form, ready to propose. COSINE vectors are normalised
// here, on the leader, so the log carries what every replica stores.
// Nothing in the input is modified.
func (s *Schema) BuildRows(in RowsInput, lim Limits) (*fsmpb.Rows, error) {
	pk := s.PK
	var n int
	switch {
	case pk.AutoId && in.FromBackup:
		if len(in.StrPKs) > 0 {
			return nil, invalidf("field %q: primary key is int64, got varchar ids", pk.Name)
		}
		n = len(in.IntPKs)
	case pk.AutoId:
		if len(in.IntPKs) > 0 || len(in.StrPKs) > 0 {
			return nil, invalidf("field %q: primary key is auto_id; rows must not carry ids", pk.Name)
		}
		if s.Dim > 0 {
			n = len(in.Vectors) / s.Dim
		}
	case pk.Type == fsmpb.FieldType_INT64:
		if len(in.StrPKs) > 0 {
			return nil, invalidf("field %q: primary key is int64, got varchar ids", pk.Name)
		}
		n = len(in.IntPKs)
	default:
		if len(in.IntPKs) > 0 {
			return nil, invalidf("field %q: primary key is varchar, got int64 ids", pk.Name)
		}
		n = len(in.StrPKs)
	}
	if n == 0 {
		return nil, invalidf("rows: empty batch (at least 1 row)")
	}
	if n > lim.MaxBatchRows {
		return nil, invalidf("rows: %d rows exceed the limit of %d per request", n, lim.MaxBatchRows)
	}
	if len(in.Vectors) != n*s.Dim {
		return nil, invalidf("field %q: got %d floats for %d rows; dim is %d, so want %d", s.Vector.Name, len(in.Vectors), n, s.Dim, n*s.Dim)
	}
	if err := checkPKs(pk, in.IntPKs, in.StrPKs); err != nil {
		return nil, err
	}
	for i, x := range in.Vectors {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, invalidf("field %q: row %d element %d is %v; NaN and Inf are not allowed", s.Vector.Name, i/s.Dim, i%s.Dim, x)
		}
	}
	out := &fsmpb.Rows{IntPks: in.IntPKs, StrPks: in.StrPKs, Vectors: in.Vectors}
	if s.Metric == index.Cosine {
		out.Vectors = make([]float32, len(in.Vectors))
		copy(out.Vectors, in.Vectors)
		for r := 0; r < n; r++ {
			v := out.Vectors[r*s.Dim : (r+1)*s.Dim]
			norm := index.Dot(v, v)
			switch {
			case norm == 0:
				return nil, invalidf("field %q: row %d is the zero vector, which has no cosine", s.Vector.Name, r)
			case in.FromBackup:
				// Normalising again would change the last bits.
				if math.Abs(float64(norm)-1) > 1e-3 {
					return nil, invalidf("field %q: row %d of a restore has squared norm %g; a COSINE collection stores unit vectors", s.Vector.Name, r, norm)
				}
			default:
				index.Normalize(v)
			}
		}
	}
	given := make(map[string]FieldValues, len(in.Fields))
	for _, fv := range in.Fields {
		f, ok := s.byName[fv.Name]
		if !ok {
			return nil, invalidf("field %q: not in the schema of collection %q", fv.Name, s.pb.Name)
		}
		if f == s.PK || f == s.Vector {
			return nil, invalidf("field %q: the primary key and vector go in their own lists, not in fields", fv.Name)
		}
		if _, dup := given[fv.Name]; dup {
			return nil, invalidf("field %q: given twice", fv.Name)
		}
		if len(fv.Values) != n {
			return nil, invalidf("field %q: got %d values for %d rows", fv.Name, len(fv.Values), n)
		}
		given[fv.Name] = fv
	}
	for _, f := range s.Scalars {
		col, err := buildColumn(f, given[f.Name].Values, n)
		if err != nil {
			return nil, err
		}
		out.Columns = append(out.Columns, col)
	}
	return out, nil
}

func checkPKs(pk *fsmpb.Field, ints []int64, strs []string) error {
	if len(ints) > 0 {
		seen := make(map[int64]int, len(ints))
		for i, id := range ints {
			if j, dup := seen[id]; dup {
				return invalidf("field %q: primary key %d appears at rows %d and %d of one batch", pk.Name, id, j, i)
			}
			seen[id] = i
		}
	}
	if len(strs) > 0 {
		seen := make(map[string]int, len(strs))
		for i, id := range strs {
			if id == "" {
				return invalidf("field %q: row %d has an empty primary key", pk.Name, i)
			}
			if len(id) > int(pk.MaxLength) {
				return invalidf("field %q: row %d primary key length %d exceeds max_length %d", pk.Name, i, len(id), pk.MaxLength)
			}
			if j, dup := seen[id]; dup {
				return invalidf("field %q: primary key %q appears at rows %d and %d of one batch", pk.Name, id, j, i)
			}
			seen[id] = i
		}
	}
	return nil
}

// ValidateDeleteKeys checks the keys of a delete.
func (s *Schema) ValidateDeleteKeys(ints []int64, strs []string, lim Limits) error {
	n := len(ints) + len(strs)
	if n == 0 {
		return invalidf("ids: empty delete (at least 1 id)")
	}
	if n > lim.MaxBatchRows {
		return invalidf("ids: %d ids exceed the limit of %d per request", n, lim.MaxBatchRows)
	}
	if s.PK.Type == fsmpb.FieldType_INT64 && len(strs) > 0 {
		return invalidf("field %q: primary key is int64, got varchar ids", s.PK.Name)
	}
	if s.PK.Type == fsmpb.FieldType_VARCHAR && len(ints) > 0 {
		return invalidf("field %q: primary key is varchar, got int64 ids", s.PK.Name)
	}
	return checkPKs(s.PK, ints, strs)
}

// buildColumn turns one field's values (nil slice = field not given) into a
// typed column, applying defaults and checking nullability and types.
func buildColumn(f *fsmpb.Field, vals []*fsmpb.Value, n int) (*fsmpb.Column, error) {
	col := &fsmpb.Column{Field: f.Name}
	anyNull := false
	nulls := make([]bool, n)
	for i := 0; i < n; i++ {
		var v *fsmpb.Value
		if vals != nil {
			v = vals[i]
		}
		if v == nil || v.Kind == nil {
			v = f.DefaultValue
		}
		if v == nil || v.Kind == nil {
			if !f.Nullable {
				return nil, invalidf("field %q: row %d is null but the field is not nullable and has no default", f.Name, i)
			}
			nulls[i] = true
			anyNull = true
			v = zeroValue(f.Type)
		} else if err := checkValue(f, v); err != nil {
			return nil, invalidf("%v (row %d)", trimInvalid(err), i)
		}
		switch k := v.Kind.(type) {
		case *fsmpb.Value_Bool:
			col.Bools = append(col.Bools, k.Bool)
		case *fsmpb.Value_Int64:
			col.Int64S = append(col.Int64S, k.Int64)
		case *fsmpb.Value_Double:
			col.Doubles = append(col.Doubles, k.Double)
		case *fsmpb.Value_Varchar:
			col.Strings = append(col.Strings, k.Varchar)
		case *fsmpb.Value_Json:
			col.Jsons = append(col.Jsons, k.Json)
		}
	}
	if anyNull {
		col.Nulls = nulls
	}
	return col, nil
}

func zeroValue(t fsmpb.FieldType) *fsmpb.Value {
	switch t {
	case fsmpb.FieldType_BOOL:
		return &fsmpb.Value{Kind: &fsmpb.Value_Bool{}}
	case fsmpb.FieldType_INT8, fsmpb.FieldType_INT16, fsmpb.FieldType_INT32, fsmpb.FieldType_INT64:
		return &fsmpb.Value{Kind: &fsmpb.Value_Int64{}}
	case fsmpb.FieldType_FLOAT, fsmpb.FieldType_DOUBLE:
		return &fsmpb.Value{Kind: &fsmpb.Value_Double{}}
	case fsmpb.FieldType_VARCHAR:
		return &fsmpb.Value{Kind: &fsmpb.Value_Varchar{}}
	}
	return &fsmpb.Value{Kind: &fsmpb.Value_Json{Json: []byte("null")}}
}

func trimInvalid(err error) string {
	s := err.Error()
	const p = "invalid argument: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// ColumnValue returns row i of a column as a Value (nil when null).
func ColumnValue(c *fsmpb.Column, i int) *fsmpb.Value {
	if len(c.Nulls) > 0 && c.Nulls[i] {
		return nil
	}
	switch {
	case c.Bools != nil:
		return &fsmpb.Value{Kind: &fsmpb.Value_Bool{Bool: c.Bools[i]}}
	case c.Int64S != nil:
		return &fsmpb.Value{Kind: &fsmpb.Value_Int64{Int64: c.Int64S[i]}}
	case c.Doubles != nil:
		return &fsmpb.Value{Kind: &fsmpb.Value_Double{Double: c.Doubles[i]}}
	case c.Strings != nil:
		return &fsmpb.Value{Kind: &fsmpb.Value_Varchar{Varchar: c.Strings[i]}}
	case c.Jsons != nil:
		return &fsmpb.Value{Kind: &fsmpb.Value_Json{Json: c.Jsons[i]}}
	}
	return nil
}
