package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{`pricee < 3`, 1, `unknown field "pricee"`},
		{`price == "x"`, 7, `field "price" is double, cannot compare with string "x"`},
		{`"x" == price`, 5, `field "price" is double, cannot compare with string "x"`},
		{`name > 3`, 6, `field "name" is varchar, cannot compare with int64 3`},
		{`name == age`, 6, `field "name" is varchar, cannot compare with field "age" (int64)`},
		{`active == 1`, 8, `field "active" is bool, cannot compare with int64 1`},
		{`active < true`, 8, `operator "<" is not defined on bool, found field "active" (bool) and bool true`},
		{`(age + 1) == "x"`, 11, `cannot compare int64 expression "age + 1" with string "x"`},
		{`1 == "x"`, 3, `cannot compare int64 1 with string "x"`},
		{`age + name > 1`, 5, `operator "+" requires numeric operands, found field "name" (varchar)`},
		{`active * 2 > 1`, 8, `operator "*" requires numeric operands, found field "active" (bool)`},
		{`-name > 1`, 1, `operator "-" requires a numeric operand, found field "name" (varchar)`},
		{`vec == 1`, 1, `field "vec" is a float vector and cannot be used in a filter`},
		{`age["a"] == 1`, 1, `field "age" is int64, only JSON fields can be indexed with [...]`},
		{`age`, 1, `filter must be a boolean expression, found field "age" (int64)`},
		{`age + 1`, 5, `filter must be a boolean expression, found int64 expression "age + 1"`},
		{`"x"`, 1, `filter must be a boolean expression, found string "x"`},
		{`active and age`, 12, `operator "and" requires boolean operands, found field "age" (int64)`},
		{`name or active`, 1, `operator "or" requires boolean operands, found field "name" (varchar)`},
		{`not name`, 5, `operator "not" requires a boolean operand, found field "name" (varchar)`},
		{`age like "1%"`, 5, `operator "like" requires a varchar or JSON operand, found field "age" (int64)`},
		{`name in ["a", 1]`, 15, `field "name" is varchar, cannot compare with int64 1`},
		{`age in [1, "a"]`, 12, `field "age" is int64, cannot compare with string "a"`},
		{`active in [true, 0]`, 18, `field "active" is bool, cannot compare with int64 0`},
		{`name like "abc\\"`, 6, `like pattern ends with an escape character`},
		{`age > 1 and (price < 2 or nope == 3)`, 27, `unknown field "nope"`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.in, testSchema)
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

func TestCheckAccepts(t *testing.T) {
	for _, s := range []string{
		`age > 1.5`, `price == 3`, `age + price > 2`, `age / 2 == 1`,
		`meta["x"] == 1`, `meta["x"] == "s"`, `meta["x"] == true`, `meta["x"] == name`,
		`meta["a"] + 1 > age`, `-meta["a"] < 0`, `meta["x"]`, `not meta["x"]`, `meta`,
		`meta["x"] in [1, "a", true]`, `meta["x"] like "a%"`, `meta is null`,
		`active`, `active == (age > 1)`, `active in [true, false]`, `true`, `1 < 2`,
		`id in [1, 2, 3]`, `age in [1, 2.5]`, `price in [1, 2.5]`, `name in []`,
		`(age > 1) is not null`, `name is null`, `"a" like "a%"`,
	} {
		if _, err := Compile(s, testSchema); err != nil {
			t.Errorf("Compile(%q): %v", s, err)
		}
	}
}

func TestCheckVarCharPrimaryKey(t *testing.T) {
	schema := Fields{{Name: "pk", Type: VarChar, PrimaryKey: true}}
	p, err := Compile(`pk in ["a", "c"]`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tb := newTable(3).set("pk", []any{"a", "b", "c"})
	if got := evalRows(t, p, tb); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Fatalf("rows = %v", got)
	}
	if _, err := Compile(`pk in [1]`, schema); err == nil {
		t.Fatal("int list on a varchar key: no error")
	}
}

func TestProgramFields(t *testing.T) {
	p, err := Compile(`age > 1 and (meta["a"] == 1 or age < price) and meta["b"] is null`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Fields(), []string{"age", "meta", "price"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields() = %v, want %v", got, want)
	}
	if got := p.String(); got != `age > 1 and (meta["a"] == 1 or age < price) and meta["b"] is null` {
		t.Fatalf("String() = %q", got)
	}
	if len(p.cols) != 3 {
		t.Fatalf("columns loaded = %v, want each once", p.cols)
	}
}

func TestCheckNil(t *testing.T) {
	if _, err := Check(nil, testSchema); err == nil {
		t.Fatal("Check(nil): no error")
	}
}

func TestKeys(t *testing.T) {
	strSchema := Fields{{Name: "pk", Type: VarChar, PrimaryKey: true}, {Name: "n", Type: Int64}}
	tests := []struct {
		expr   string
		schema Schema
		ints   []int64
		strs   []string
		ok     bool
	}{
		{`id in [3, 1, 3, 2.0, 2.5]`, testSchema, []int64{3, 1, 2}, nil, true},
		{`id == 7`, testSchema, []int64{7}, nil, true},
		{`7 == id`, testSchema, []int64{7}, nil, true},
		{`id in []`, testSchema, nil, nil, true},
		{`pk in ["b", "a", "b"]`, strSchema, nil, []string{"b", "a"}, true},
		{`pk == "x"`, strSchema, nil, []string{"x"}, true},
		{`id not in [1]`, testSchema, nil, nil, false},
		{`id != 1`, testSchema, nil, nil, false},
		{`id > 1`, testSchema, nil, nil, false},
		{`age in [1]`, testSchema, nil, nil, false},
		{`id in [1] and age > 2`, testSchema, nil, nil, false},
		{`n in [1]`, strSchema, nil, nil, false},
	}
	for _, tt := range tests {
		p, err := Compile(tt.expr, tt.schema)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.expr, err)
		}
		ints, strs, ok := p.Keys()
		if ok != tt.ok || !reflect.DeepEqual(ints, tt.ints) || !reflect.DeepEqual(strs, tt.strs) {
			t.Errorf("%s: Keys() = %v, %v, %v; want %v, %v, %v", tt.expr, ints, strs, ok, tt.ints, tt.strs, tt.ok)
		}
	}
}
