package expr

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	`a == 1`,
	`age > 18 and price < 100.5 or not active`,
	`meta["color"] == "red" && meta["a"]["b"][0] != 'x\'y'`,
	`id in [1, 2, 3]`,
	`name not in ["a", "b",]`,
	`name like "%ab_c\\%"`,
	`age is not null or price is null`,
	`-(-9223372036854775808) > 0`,
	`(age + 1) * 2 / 3 % 4 - 5 >= 1e10`,
	`!(a < b) || (c <= d) && e >= f`,
	`meta["size"] + 1 > 4 and meta is null`,
	`"\u65e5\U0001F600\x00" == name`,
	`((((a))))`,
	`a == `,
	`a in [1,`,
	`"unterminated`,
	`TRUE AND False`,
	`age / 0 == 1`,
	`price % 0 is null`,
	`active == (age > 18)`,
	`1.5e-3 < -2.5E+3`,
	"a\t==\n1",
}

// FuzzParse: no input makes the package panic; errors are *Error with a
// position inside the input; a parsed expression prints to a form that
// parses back to the same form; and checking and evaluating it against the
// test fixture does not panic.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T %v, want *Error", s, err, err)
			}
			if pe.Pos < 1 || pe.Pos > len(s)+1 {
				t.Fatalf("Parse(%q): position %d outside the input", s, pe.Pos)
			}
			return
		}
		out := e.String()
		if len(out) > MaxLength {
			return
		}
		e2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, out, err)
		}
		if again := e2.String(); again != out {
			t.Fatalf("Parse(%q) printed %q, which prints as %q", s, out, again)
		}
		p, err := Check(e, testSchema)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q): error %T %v, want *Error", s, err, err)
			}
			return
		}
		var b Bitset
		if err := p.Eval(fixture(), &b); err != nil {
			t.Fatalf("Eval(%q): %v", s, err)
		}
	})
}
