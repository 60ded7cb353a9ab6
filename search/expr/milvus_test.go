package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// dynSchema is testSchema with meta as the dynamic field "$meta".
var dynSchema = Fields{
	{Name: "id", Type: Int64, PrimaryKey: true},
	{Name: "age", Type: Int64, Nullable: true},
	{Name: "$meta", Type: JSON, Nullable: true, Dynamic: true},
}

func dynFixture() *table {
	f := fixture()
	t := newTable(8)
	t.cols["id"], t.cols["age"], t.cols["$meta"] = f.cols["id"], f.cols["age"], f.cols["meta"]
	t.nulls["age"], t.nulls["$meta"] = f.nulls["age"], f.nulls["meta"]
	return t
}

// The Milvus forms the SDKs send: exists, $meta["k"], and bare dynamic keys.
func TestMilvusForms(t *testing.T) {
	tests := []struct {
		in   string
		rows []int
	}{
		{`$meta["color"] == "red"`, []int{0, 4}},
		{`color == "red"`, []int{0, 4}},
		{`color == "red" and size > 1`, []int{0}},
		{`dims["w"] >= 2`, []int{0}},
		{`exists color`, []int{0, 1, 4, 7}},
		{`exists $meta["size"] and age > 20`, []int{0, 7}},
		{`EXISTS color and not (color == "red")`, []int{1, 7}},
		{`id in [1, 2] or nope == 1`, []int{0, 1}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.in, dynSchema)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.in, err)
			continue
		}
		if got := evalRows(t, p, dynFixture()); !reflect.DeepEqual(got, tt.rows) {
			t.Errorf("%s: rows %v, want %v", tt.in, got, tt.rows)
		}
	}
}

func TestMilvusFormsRejected(t *testing.T) {
	tests := []struct {
		in     string
		schema Schema
		pos    int
		msg    string
	}{
		{`array_contains(tags, 1)`, dynSchema, 1, `function "array_contains" is not supported`},
		{`age > 1 and json_contains(meta["tags"], "a")`, testSchema, 13, `function "json_contains" is not supported`},
		{`color == "red"`, testSchema, 1, `unknown field "color"`},
		{`$meta["a"] == 1`, testSchema, 1, `unknown field "$meta"`},
		{`$ == 1`, dynSchema, 1, `unexpected character "$"`},
		{`exists`, dynSchema, 7, `expected`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.in, tt.schema)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Compile(%q) = %v, want *Error", tt.in, err)
			continue
		}
		if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Compile(%q) = %q, want position %d: %s", tt.in, err, tt.pos, tt.msg)
		}
	}
}
