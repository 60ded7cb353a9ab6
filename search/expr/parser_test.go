package expr

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a == 1`, `a == 1`},
		{`a==1&&b<2.5||!c`, `a == 1 and b < 2.5 or not c`},
		{`a == 1 AND b != 2 Or NOT c`, `a == 1 and b != 2 or not c`},
		{`(a or b) and c`, `(a or b) and c`},
		{`a or (b and c)`, `a or b and c`},
		{`(a and b) and (c and d)`, `a and b and c and d`},
		{`((a or b)) or c`, `a or b or c`},
		{`not (a and b)`, `not (a and b)`},
		{`not not a`, `not not a`},
		{`!(a > 1)`, `not a > 1`},
		{`(not a) == b`, `(not a) == b`},
		{`(a == b) == c`, `(a == b) == c`},
		{`a + b * c - d / e % f > -3`, `a + b * c - d / e % f > -3`},
		{`(a + b) * c >= 0`, `(a + b) * c >= 0`},
		{`a - (b - c) < 1`, `a - (b - c) < 1`},
		{`(a - b) - c < 1`, `a - b - c < 1`},
		{`-a < 0`, `-a < 0`},
		{`- -a < 0`, `--a < 0`},
		{`-(1)`, `-1`},
		{`-(-1)`, `1`},
		{`-(2.5)`, `-2.5`},
		{`a > -9223372036854775808`, `a > -9223372036854775808`},
		{`-(-9223372036854775808) > 0`, `--9223372036854775808 > 0`},
		{`x == 1.0`, `x == 1.0`},
		{`x == 1e10`, `x == 1e+10`},
		{`x == 2.5E-3`, `x == 0.0025`},
		{`x == 1e-400`, `x == 0.0`},
		{`meta["color"] == "red"`, `meta["color"] == "red"`},
		{`meta['a']["b"][0] == 'x\'y'`, `meta["a"]["b"][0] == "x'y"`},
		{`s == "tab\there \u00e9 \x41 \"q\" \\"`, `s == "tab\there é A \"q\" \\"`},
		{`id in [1,2,3]`, `id in [1, 2, 3]`},
		{`x not in [1, -2, 3.5, "a", true,]`, `x not in [1, -2, 3.5, "a", true]`},
		{`x IN []`, `x in []`},
		{`name like "ab%"`, `name like "ab%"`},
		{`name NOT LIKE '%x_'`, `name not like "%x_"`},
		{`a is null`, `a is null`},
		{`a IS NOT NULL`, `a is not null`},
		{`NOT x IS NOT NULL`, `not x is not null`},
		{`a + 1 is null`, `a + 1 is null`},
		{`(a > 1) is null`, `(a > 1) is null`},
		{`TRUE`, `true`},
		{`flag == False`, `flag == false`},
		{"  a\t==\n1\r", `a == 1`},
		{`_x9 >= 0`, `_x9 >= 0`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		e2, err := Parse(e.String())
		if err != nil || e2.String() != e.String() {
			t.Errorf("re-parse of %q: %v, %v", e.String(), e2, err)
		}
	}
}

func TestParseTree(t *testing.T) {
	e, err := Parse(`a > 1 and not b in [2, "x"] or c like "p%"`)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := e.Root.(*Logical)
	if !ok || or.Op != OpOr || len(or.Terms) != 2 || or.Pos() != 29 {
		t.Fatalf("root = %#v", e.Root)
	}
	and := or.Terms[0].(*Logical)
	if and.Op != OpAnd || len(and.Terms) != 2 {
		t.Fatalf("and = %#v", and)
	}
	cmp := and.Terms[0].(*Binary)
	if cmp.Op != OpGt || cmp.Pos() != 3 || cmp.X.(*FieldRef).Name != "a" || cmp.Y.(*Literal).Value != int64(1) {
		t.Fatalf("cmp = %#v", cmp)
	}
	in := and.Terms[1].(*Not).X.(*In)
	if in.Negated || len(in.List) != 2 || in.List[1].Value != "x" {
		t.Fatalf("in = %#v", in)
	}
	like := or.Terms[1].(*Like)
	if like.Pattern != "p%" || like.X.(*FieldRef).Name != "c" {
		t.Fatalf("like = %#v", like)
	}
	f := mustParse(t, `m["k"][3] == 1`).Root.(*Binary).X.(*FieldRef)
	if len(f.Path) != 2 || f.Path[0] != (PathElem{Key: "k"}) || f.Path[1] != (PathElem{Index: 3, IsIndex: true}) {
		t.Fatalf("path = %#v", f.Path)
	}
}

func mustParse(t *testing.T, s string) *Expr {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return e
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{``, 1, `expected expression, found end of input`},
		{`   `, 4, `expected expression, found end of input`},
		{`price == `, 10, `expected value after "==", found end of input`},
		{`a ==`, 5, `expected value after "==", found end of input`},
		{`a = 1`, 3, `unexpected "=", expected "==" for equality`},
		{`(a == 1`, 8, `expected operator or ")" to close "(" at position 1, found end of input`},
		{`a == 1)`, 7, `expected operator or end of input, found ")"`},
		{`a == null`, 6, `expected value after "==", found "null" (use "is null"`},
		{`a in 1`, 6, `expected "[" after "in", found number 1`},
		{`a b`, 3, `expected operator or end of input, found identifier "b"`},
		{`a == 1 b == 2`, 8, `expected operator or end of input, found identifier "b"`},
		{`a < b < c`, 7, `expected operator or end of input, found "<"`},
		{`"abc`, 1, `unterminated string, expected closing " before end of input`},
		{`'abc\'`, 1, `unterminated string, expected closing ' before end of input`},
		{`x == 1.5e`, 6, `invalid number "1.5e"`},
		{`x == 12abc`, 6, `invalid number "12abc"`},
		{`x == 1.2.3`, 6, `invalid number "1.2.3"`},
		{`a like 3`, 8, `expected string pattern after "like", found number 3`},
		{`a is nul`, 6, `expected "null" or "not null" after "is", found identifier "nul"`},
		{`a is not 1`, 10, `expected "null" after "is not", found number 1`},
		{`a not b`, 7, `expected "in" or "like" after "not", found identifier "b"`},
		{`meta[x] == 1`, 6, `expected string key or array index after "[", found identifier "x"`},
		{`meta["a" == 1`, 10, `expected "]" after JSON key, found "=="`},
		{`meta[-1] == 1`, 6, `expected string key or array index after "[", found "-"`},
		{`meta[99999999999] == 1`, 6, `array index 99999999999 is out of range`},
		{`a > 99999999999999999999`, 5, `integer 99999999999999999999 is out of range for int64`},
		{`a > -9223372036854775809`, 5, `integer -9223372036854775809 is out of range for int64`},
		{`a > 1e999`, 5, `number 1e999 is out of range for double`},
		{`a in [1,`, 9, `expected literal value in list, found end of input`},
		{`a in [1 2]`, 9, `expected "," or "]" in list, found number 2`},
		{`a in [b]`, 7, `expected literal value in list, found identifier "b"`},
		{`a in [-"x"]`, 8, `expected number after "-" in list, found string "x"`},
		{`a in [null]`, 7, `expected literal value in list, found "null"`},
		{`#`, 1, `unexpected character "#"`},
		{"a == \xff", 6, `unexpected byte 0xff`},
		{`a &&`, 5, `expected expression after "&&", found end of input`},
		{`a and or b`, 7, `expected expression after "and", found "or"`},
		{`a & b`, 3, `unexpected "&", expected "&&" or "and"`},
		{`a | b`, 3, `unexpected "|", expected "||" or "or"`},
		{`not`, 4, `expected expression after "not", found end of input`},
		{`()`, 2, `expected expression after "(", found ")"`},
		{`a == not b`, 6, `expected value after "==", found "not"`},
		{`a + * b`, 5, `expected value after "+", found "*"`},
		{`s == "\q"`, 7, `invalid escape \q in string`},
		{`s == "\u12"`, 7, `invalid escape \u in string, expected 4 hex digits`},
		{`s == "\ud800"`, 7, `escape \ud800 is not a valid Unicode code point`},
		{`s == "\xZZ"`, 7, `invalid escape \x in string, expected 2 hex digits`},
		{`in == 1`, 1, `expected expression, found "in"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *Error", tt.in, err)
			continue
		}
		if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %q, want position %d: %s", tt.in, err, tt.pos, tt.msg)
		}
		if !strings.HasPrefix(err.Error(), "position ") {
			t.Errorf("Parse(%q) message %q does not start with the position", tt.in, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	deep := func(open, x, close string, n int) string {
		return strings.Repeat(open, n) + x + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
		msg  string
	}{
		{"length at limit", "a == 1" + strings.Repeat(" ", MaxLength-6), true, ""},
		{"length over limit", "a == 1" + strings.Repeat(" ", MaxLength-5), false, "expression is 65537 bytes, longer than the limit of 65536 bytes"},
		{"parens at limit", deep("(", "a", ")", MaxDepth), true, ""},
		{"parens over limit", deep("(", "a", ")", MaxDepth+1), false, "nesting depth exceeds the limit of 128"},
		{"not over limit", strings.Repeat("not ", MaxDepth+1) + "a", false, "nesting depth exceeds the limit of 128"},
		{"minus over limit", strings.Repeat("-", MaxDepth+1) + "a > 0", false, "nesting depth exceeds the limit of 128"},
		{"arithmetic chain over limit", "a" + strings.Repeat(" + a", MaxDepth) + " > 0", false, "nesting depth exceeds the limit of 128"},
		{"long or chain is one level", "a == 1" + strings.Repeat(" or a == 1", 5000), true, ""},
		{"longest list that fits", "a in [" + strings.Repeat("1,", (MaxLength-7)/2) + "]", true, ""},
		{"json path over limit", "m" + strings.Repeat(`["k"]`, MaxDepth+1) + " == 1", false, "JSON path exceeds the limit of 128 keys"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if _, err := Parse(e.String()); err != nil && len(e.String()) <= MaxLength {
				t.Errorf("%s: re-parse: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.msg)
		}
	}
}

// At MaxLength no list reaches MaxListLen elements; check the rule with a
// lower limit.
func TestParseListLimit(t *testing.T) {
	if _, err := parse("a in [1, 2, 3]", 3); err != nil {
		t.Fatalf("list at limit: %v", err)
	}
	_, err := parse("a in [1, 2, 3, 4]", 3)
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != 16 || pe.Msg != "in list exceeds the limit of 3 elements" {
		t.Fatalf("list over limit: %v", err)
	}
}

func TestStringLiterals(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`'single "inner"'`, `single "inner"`},
		{`"double 'inner'"`, `double 'inner'`},
		{`"\a\b\f\n\r\t\v\\\/\"\'"`, "\a\b\f\n\r\t\v\\/\"'"},
		{`"\x00\xff"`, "\x00\xff"},
		{`"\u65e5\U0001F600"`, "日😀"},
		{`"raw 日本"`, "raw 日本"},
		{`""`, ""},
	}
	for _, tt := range tests {
		e, err := Parse("s == " + tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		got := e.Root.(*Binary).Y.(*Literal).Value
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.in, got, tt.want)
		}
		e2 := mustParse(t, e.String())
		if got2 := e2.Root.(*Binary).Y.(*Literal).Value; got2 != tt.want {
			t.Errorf("%s printed as %s reads back as %q", tt.in, e.String(), got2)
		}
	}
}
