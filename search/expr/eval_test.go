package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func evalRows(t *testing.T, p *Program, cols Columns) []int {
	t.Helper()
	var out Bitset
	if err := p.Eval(cols, &out); err != nil {
		t.Fatalf("Eval(%s): %v", p, err)
	}
	if out.Len() != cols.Len() {
		t.Fatalf("Eval(%s): out has %d rows, want %d", p, out.Len(), cols.Len())
	}
	rows := []int{}
	for i := 0; i < out.Len(); i++ {
		if out.Test(i) {
			rows = append(rows, i)
		}
	}
	if len(rows) != out.Count() {
		t.Fatalf("Eval(%s): bits set beyond the rows", p)
	}
	return rows
}

func TestEval(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	none := []int{}
	tests := []struct {
		expr string
		want []int
	}{
		// int64 comparisons; row 1 has a null age.
		{`age > 18`, []int{0, 3, 6, 7}},
		{`18 < age`, []int{0, 3, 6, 7}},
		{`age <= 17`, []int{2, 4, 5}},
		{`age >= 18.0`, []int{0, 3, 6, 7}},
		{`age > 17.5`, []int{0, 3, 6, 7}},
		{`age == 9223372036854775807`, []int{6}},
		{`age > 9.2e18`, []int{6}},
		{`age == age`, []int{0, 2, 3, 4, 5, 6, 7}},
		{`age != 30`, []int{2, 3, 4, 5, 6, 7}},
		// double, and int64 against double (exact, no rounding).
		{`price < 100`, []int{0, 1, 4, 5, 7}},
		{`price == 20`, []int{1}},
		{`price >= 1e300`, []int{6}},
		{`price > 9223372036854775807`, []int{6}},
		{`age == price`, []int{7}},
		{`age != price`, []int{0, 3, 4, 5, 6}},
		{`price < age`, []int{0, 4}},
		// Primary key lists.
		{`id in [1, 3, 5, 99]`, []int{0, 2, 4}},
		{`id not in [1, 3, 5]`, []int{1, 3, 5, 6, 7}},
		{`id in [` + strings.Repeat("100,", 20) + `8]`, []int{7}},
		{`age in [30, 42.0, 17.5]`, []int{0, 7}},
		{`age not in [30, 42]`, []int{2, 3, 4, 5, 6}},
		{`price in [9.5, 100, -1.25]`, []int{0, 3, 4}},
		{`id in []`, none},
		{`id not in []`, all},
		// varchar and like; row 3 has a null name.
		{`name == "apple"`, []int{0}},
		{`name != "apple"`, []int{1, 2, 4, 5, 6, 7}},
		{`name < "b"`, []int{0, 4, 5, 6}},
		{`name == ""`, []int{6}},
		{`name in ["apple", "日本語", "zzz"]`, []int{0, 7}},
		{`name like "a%"`, []int{0}},
		{`name like "%e"`, []int{0, 2, 4}},
		{`name like "%an%"`, []int{1}},
		{`name like "apple"`, []int{0}},
		{`name like "_pple"`, []int{0, 4}},
		{`name like "_本_"`, []int{7}},
		{`name like "c%r%e"`, []int{2}},
		{`name like "%p%e%"`, []int{0, 2, 4}},
		{`name like "50\\% off"`, []int{5}},
		{`name like "50\\%%"`, []int{5}},
		{`name like "%"`, []int{0, 1, 2, 4, 5, 6, 7}},
		{`name like ""`, []int{6}},
		{`name not like "%a%"`, []int{2, 4, 5, 6, 7}},
		{`"abc" like "a_c"`, all},
		// bool and three-valued logic; active is null in rows 2 and 7.
		{`active`, []int{0, 3, 5}},
		{`not active`, []int{1, 4, 6}},
		{`!active`, []int{1, 4, 6}},
		{`active == false`, []int{1, 4, 6}},
		{`active != true`, []int{1, 4, 6}},
		{`active is null`, []int{2, 7}},
		{`active is not null`, []int{0, 1, 3, 4, 5, 6}},
		{`active in [true]`, []int{0, 3, 5}},
		{`active not in [true]`, []int{1, 4, 6}},
		{`active in [true, false]`, []int{0, 1, 3, 4, 5, 6}},
		{`active == (age > 18)`, []int{0, 3, 4}},
		{`active or age > 60`, []int{0, 3, 5, 6}},
		{`not (active or age > 60)`, []int{4}},
		{`active and age > 60`, []int{3}},
		{`not (active and age > 60)`, []int{0, 1, 2, 4, 5, 6, 7}},
		{`not (age > 18)`, []int{2, 4, 5}},
		{`age > 18 or age is null`, []int{0, 1, 3, 6, 7}},
		{`(age > 18) is null`, []int{1}},
		{`name is null or price is null`, []int{2, 3}},
		{`id == 7 || id == 8 && name == "x"`, []int{6}},
		{`(id == 7 || id == 8) && name == "日本語"`, []int{7}},
		{`true`, all},
		{`false`, none},
		{`not false`, all},
		{`1 == 1`, all},
		{`1 > 2 or id == 2`, []int{1}},
		// Arithmetic; row 6 holds the largest int64.
		{`age * 2 > 100`, []int{3}},
		{`age + 1 > 0`, []int{0, 2, 3, 4, 7}},
		{`not (age + 1 > 0)`, []int{5}},
		{`(age + 1) is null`, []int{1, 6}},
		{`age - 1 < 0`, []int{4, 5}},
		{`-age > 0`, []int{5}},
		{`100 / age > 2`, []int{0, 2}},
		{`not (100 / age > 2)`, []int{3, 5, 6, 7}},
		{`100 / age is null`, []int{1, 4}},
		{`age % 2 == 0`, []int{0, 4, 7}},
		{`age % 0 == 0 or age % 0 != 0`, none},
		{`(id - 9) % -1 == 0`, all},
		{`price / 0 == 1 or not (price / 0 == 1)`, none},
		{`price % 0 is null`, all},
		{`age + price > 50`, []int{3, 6, 7}},
		{`age - 0.5 < 17`, []int{2, 4, 5}},
		{`price * 2 == 19`, []int{0}},
		{`price % 2 == 1.5`, []int{0}},
		{`id * 1000000000000 * 1000000000000 > 0`, none},
		{`-9223372036854775808 - id < 0`, none},
		{`2 + 3 * 4 == 14`, all},
		{`(2 + 3) * 4 == 20`, all},
		{`7 / 2 == 3 and -7 / 2 == -3 and -7 % 2 == -1`, all},
		{`7 / 2.0 == 3.5`, all},
		// JSON: row 2 is a null column, row 3 a JSON null, row 5 an array.
		{`meta["color"] == "red"`, []int{0, 4}},
		{`meta["color"] != "red"`, []int{1, 7}},
		{`not (meta["color"] == "red")`, []int{1, 7}},
		{`meta["color"] is null`, []int{2, 3, 5, 6}},
		{`meta["color"] is not null`, []int{0, 1, 4, 7}},
		{`meta["color"] in ["red", "green"]`, []int{0, 4, 7}},
		{`meta["color"] not in ["red", "green"]`, []int{1}},
		{`meta["color"] like "%e%"`, []int{0, 1, 4, 7}},
		{`meta["color"] < "c"`, []int{1}},
		{`meta["color"] == 1`, none},
		{`meta["size"] > 5`, []int{1, 7}},
		{`meta["size"] == 3.0`, []int{0}},
		{`meta["size"] == age`, []int{7}},
		{`meta["size"] in [3, 42]`, []int{0, 7}},
		{`meta["size"] not in [3, 42]`, []int{1}},
		{`meta["size"] in [3, "big"]`, []int{0, 4}},
		{`meta["size"] * 2 == 84`, []int{7}},
		{`meta["size"] + 1 > 4`, []int{1, 7}},
		{`meta["size"] + 1 >= 4`, []int{0, 1, 7}},
		{`meta["size"] / 0 is null`, all},
		{`-meta["size"] < -5`, []int{1, 7}},
		{`meta["size"] == "big"`, []int{4}},
		{`meta["dims"]["w"] == 1`, []int{6}},
		{`meta["dims"]["h"] > 3`, []int{0}},
		{`meta["dims"]["w"] + meta["dims"]["h"] == 5.5`, []int{0}},
		{`meta["tags"][1] == "b"`, []int{0}},
		{`meta["tags"][5] is null`, all},
		{`meta["tags"][0]["x"] is null`, all},
		{`meta[0] == 1`, []int{5}},
		{`meta[1] + 1 == 3`, []int{5}},
		{`meta["ok"]`, []int{7}},
		{`meta["ok"] == true`, []int{7}},
		{`not meta["ok"]`, none},
		{`meta["ok"] or id == 1`, []int{0, 7}},
		{`meta["esc"] == "a\"b\u00e9"`, []int{7}},
		{`meta is null`, []int{2}},
		{`meta["tags"] is not null`, []int{0}},
		{`meta["tags"] == "a"`, none},
		{`meta["color"] == name`, none},
		{`meta["size"] > 1 and age > 40`, []int{7}},
		{`meta["color"] == "red" and active`, []int{0}},
		{`active and meta["color"] == "red"`, []int{0}},
		{`active or meta["color"] == "red"`, []int{0, 3, 4, 5}},
	}
	for _, tt := range tests {
		p, err := Compile(tt.expr, testSchema)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.expr, err)
			continue
		}
		if got := evalRows(t, p, fixture()); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: rows %v, want %v", tt.expr, got, tt.want)
		}
		// The canonical form means the same.
		p2, err := Compile(p.String(), testSchema)
		if err != nil {
			t.Errorf("Compile(%q): %v", p.String(), err)
			continue
		}
		if got := evalRows(t, p2, fixture()); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s (canonical %s): rows %v, want %v", tt.expr, p2, got, tt.want)
		}
	}
}

// rowMap is a RowGetter over a map.
type rowMap map[string]any

func (r rowMap) Value(f string) (any, error) {
	v, ok := r[f]
	if !ok {
		return nil, errors.New("no such field " + f)
	}
	return v, nil
}

func TestMatch(t *testing.T) {
	p, err := Compile(`age > 18 and meta["tags"][0] == "a" and name like "a%"`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		row  rowMap
		want bool
	}{
		{rowMap{"age": int64(20), "meta": json.RawMessage(`{"tags":["a"]}`), "name": "ab"}, true},
		{rowMap{"age": int64(20), "meta": []byte(`{"tags":["a"]}`), "name": "ab"}, true},
		{rowMap{"age": int64(2), "meta": []byte(`{"tags":["a"]}`), "name": "ab"}, false},
		{rowMap{"age": nil, "meta": []byte(`{"tags":["a"]}`), "name": "ab"}, false},
		{rowMap{"age": int64(20), "meta": nil, "name": "ab"}, false},
	}
	for i, tt := range tests {
		got, err := p.Match(tt.row)
		if err != nil || got != tt.want {
			t.Errorf("row %d: Match = %v, %v; want %v", i, got, err, tt.want)
		}
	}
	if _, err := p.Match(rowMap{"age": "twenty", "meta": nil, "name": "x"}); err == nil {
		t.Error("Match with a string for an int64 field: no error")
	}
	if _, err := p.Match(rowMap{"meta": nil, "name": "x"}); err == nil {
		t.Error("Match with a missing field: no error")
	}
}

func TestEvalColumnErrors(t *testing.T) {
	p, err := Compile(`age > 1`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	var out Bitset

	short := fixture()
	short.cols["age"] = []int64{1, 2}
	if err := p.Eval(short, &out); err == nil || !strings.Contains(err.Error(), `field "age" has 2 values, the segment has 8 rows`) {
		t.Errorf("short column: %v", err)
	}

	badNulls := fixture()
	badNulls.nulls["age"] = NewBitset(3)
	if err := p.Eval(badNulls, &out); err == nil || !strings.Contains(err.Error(), `null bitmap of field "age" covers 3 rows`) {
		t.Errorf("short null bitmap: %v", err)
	}

	closing := errors.New("segment closing")
	failing := fixture()
	failing.fail["age"] = closing
	if err := p.Eval(failing, &out); !errors.Is(err, closing) {
		t.Errorf("failing column: %v, want it wrapped", err)
	}

	empty := newTable(0)
	if err := p.Eval(empty, &out); err != nil || out.Len() != 0 {
		t.Errorf("empty segment: %v, len %d", err, out.Len())
	}
}

// TestEvalInvalidJSON: text that is not JSON reads as null, never panics.
func TestEvalInvalidJSON(t *testing.T) {
	tb := newTable(5).set("meta", []any{js(`{"a":`), js(`not json`), js(``), js(`{"a":1}`), js(`"\x"`)})
	for _, s := range []string{`meta["a"] == 1`, `meta is null`, `meta == "x"`} {
		p, err := Compile(s, testSchema)
		if err != nil {
			t.Fatal(err)
		}
		got := evalRows(t, p, tb)
		switch s {
		case `meta["a"] == 1`:
			if !reflect.DeepEqual(got, []int{3}) {
				t.Errorf("%s: %v", s, got)
			}
		case `meta == "x"`:
			if len(got) != 0 {
				t.Errorf("%s: %v", s, got)
			}
		}
	}
}

// TestEvalBatches crosses batch and word boundaries with a column whose
// value is the row number.
func TestEvalBatches(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, batchRows - 1, batchRows, batchRows + 1, 3*batchRows + 17} {
		ids := make([]any, n)
		ages := make([]any, n)
		for i := range ids {
			ids[i] = int64(i)
			if i%3 != 1 {
				ages[i] = int64(i)
			}
		}
		tb := newTable(n).set("id", ids).set("age", ages)
		p, err := Compile(`id >= 10 and (age is null or age % 2 == 0)`, testSchema)
		if err != nil {
			t.Fatal(err)
		}
		got := evalRows(t, p, tb)
		var want []int
		for i := 0; i < n; i++ {
			if i >= 10 && (i%3 == 1 || i%2 == 0) {
				want = append(want, i)
			}
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("n=%d: %d rows, want %d", n, len(got), len(want))
		}
	}
}

func TestEvalReusesOut(t *testing.T) {
	p, err := Compile(`id > 4`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	out := NewBitset(100)
	out.SetAll()
	if err := p.Eval(fixture(), out); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 8 || out.Count() != 4 {
		t.Fatalf("len %d count %d", out.Len(), out.Count())
	}
}

// TestEvalConcurrent shares one Program between goroutines (run with -race).
func TestEvalConcurrent(t *testing.T) {
	p, err := Compile(`(age > 18 or meta["color"] == "red") and name like "%a%" and id in [1, 2, 5, 8]`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := evalRows(t, p, fixture())
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			tb := fixture()
			for range 50 {
				var out Bitset
				if err := p.Eval(tb, &out); err != nil {
					errs <- err
					return
				}
				if out.Count() != len(want) {
					errs <- errors.New("different result")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
