package fsm

import (
	"strings"
	"testing"

	"github.com/raftvec/raftvec/fsm/fsmpb"
)

func typedSchema(t *testing.T, extra ...*fsmpb.Field) (*Schema, error) {
	t.Helper()
	pb := SimpleSchema("c", 2, fsmpb.Metric_L2, false)
	pb.Fields = append(pb.Fields, extra...)
	return NewSchema(pb)
}

func i64(v int64) *fsmpb.Value   { return &fsmpb.Value{Kind: &fsmpb.Value_Int64{Int64: v}} }
func f64(v float64) *fsmpb.Value { return &fsmpb.Value{Kind: &fsmpb.Value_Double{Double: v}} }
func js(v string) *fsmpb.Value   { return &fsmpb.Value{Kind: &fsmpb.Value_Json{Json: []byte(v)}} }

// Narrow numeric types are stored as int64/double but keep their ranges.
func TestNarrowTypes(t *testing.T) {
	tests := []struct {
		typ  fsmpb.FieldType
		v    *fsmpb.Value
		want string // "" accepts
	}{
		{fsmpb.FieldType_INT8, i64(127), ""},
		{fsmpb.FieldType_INT8, i64(128), "128 is out of range for INT8 (-128 to 127)"},
		{fsmpb.FieldType_INT8, i64(-129), "out of range for INT8"},
		{fsmpb.FieldType_INT16, i64(-32768), ""},
		{fsmpb.FieldType_INT16, i64(40000), "out of range for INT16"},
		{fsmpb.FieldType_INT32, i64(1 << 31), "out of range for INT32"},
		{fsmpb.FieldType_INT32, f64(1), "wrong type"},
		{fsmpb.FieldType_FLOAT, f64(3e38), ""},
		{fsmpb.FieldType_FLOAT, f64(1e39), "out of range for float"},
		{fsmpb.FieldType_FLOAT, i64(1), "wrong type"},
	}
	for _, tt := range tests {
		s, err := typedSchema(t, &fsmpb.Field{Name: "n", Type: tt.typ})
		if err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		_, err = s.BuildRows(RowsInput{IntPKs: []int64{1}, Vectors: []float32{0, 0},
			Fields: []FieldValues{{Name: "n", Values: []*fsmpb.Value{tt.v}}}}, DefaultLimits())
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %v: %v", tt.typ, tt.v, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %v: err %v, want %q", tt.typ, tt.v, err, tt.want)
		}
	}
}

func TestDynamicField(t *testing.T) {
	dyn := &fsmpb.Field{Name: DynamicField, Type: fsmpb.FieldType_JSON, Nullable: true, Dynamic: true}
	s, err := typedSchema(t, dyn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompileFilter(`color == "red" and $meta["size"] > 1`); err != nil {
		t.Errorf("dynamic keys: %v", err)
	}
	rows := func(v *fsmpb.Value) error {
		_, err := s.BuildRows(RowsInput{IntPKs: []int64{1}, Vectors: []float32{0, 0},
			Fields: []FieldValues{{Name: DynamicField, Values: []*fsmpb.Value{v}}}}, DefaultLimits())
		return err
	}
	if err := rows(js(`{"color":"red"}`)); err != nil {
		t.Errorf("object: %v", err)
	}
	if err := rows(js(`[1]`)); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("array in the dynamic field: %v", err)
	}
	for _, bad := range []*fsmpb.Field{
		{Name: DynamicField, Type: fsmpb.FieldType_JSON, Dynamic: true},            // not nullable
		{Name: "extra", Type: fsmpb.FieldType_JSON, Nullable: true, Dynamic: true}, // wrong name
		{Name: DynamicField, Type: fsmpb.FieldType_VARCHAR, Nullable: true, Dynamic: true, MaxLength: 4},
		{Name: DynamicField, Type: fsmpb.FieldType_JSON, Nullable: true}, // "$" without dynamic
	} {
		if _, err := typedSchema(t, bad); err == nil {
			t.Errorf("schema with %v: accepted", bad)
		}
	}
}
