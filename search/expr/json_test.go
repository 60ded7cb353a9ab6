package expr

import (
	"testing"
)

func dynToOracle(d dyn) ov {
	switch d.kind {
	case dBool:
		return ov{kind: 'b', b: d.i != 0}
	case dInt:
		return ov{kind: 'i', i: d.i}
	case dFloat:
		return ov{kind: 'f', f: d.f}
	case dString:
		return ov{kind: 's', s: d.s}
	case dOther:
		return ov{kind: 'o'}
	}
	return ov{}
}

var jsonDocs = []string{
	`{"a":1}`,
	` { "a" : { "b" : [ 10 , "x" , {"c": true} ] } , "d": null } `,
	`{"a":"x]}\"{[","b":2}`,
	`{"s":"esc \" \\ \u00e9 \n","k\"ey":3,"k\u0065y2":4}`,
	`{"a":1,"a":2}`,
	`{"a":{"a":{"a":-0}}}`,
	`{"n":[1e5, 1E+2, -0.5, 12345678901234567890, 9223372036854775807, -9223372036854775808]}`,
	`{"e":{},"f":[],"g":[[]],"h":""}`,
	`[0,[1,[2,[3]]]]`,
	`"top"`,
	`42`,
	`true`,
	`null`,
	`{"a":1} x`,
	`{"a":}`,
	`{"bad":"\xff"}`,
	"{\"\xff\":1}",
	``,
}

var jsonPaths = [][]PathElem{
	nil,
	{{Key: "a"}},
	{{Key: "a"}, {Key: "b"}},
	{{Key: "a"}, {Key: "b"}, {Index: 0, IsIndex: true}},
	{{Key: "a"}, {Key: "b"}, {Index: 1, IsIndex: true}},
	{{Key: "a"}, {Key: "b"}, {Index: 2, IsIndex: true}, {Key: "c"}},
	{{Key: "a"}, {Key: "b"}, {Index: 3, IsIndex: true}},
	{{Key: "a"}, {Key: "a"}, {Key: "a"}},
	{{Key: "b"}},
	{{Key: "d"}},
	{{Key: "s"}},
	{{Key: "k\"ey"}},
	{{Key: "key2"}},
	{{Key: "bad"}},
	{{Key: "\xff"}},
	{{Key: "\ufffd"}},
	{{Key: "n"}, {Index: 0, IsIndex: true}},
	{{Key: "n"}, {Index: 1, IsIndex: true}},
	{{Key: "n"}, {Index: 2, IsIndex: true}},
	{{Key: "n"}, {Index: 3, IsIndex: true}},
	{{Key: "n"}, {Index: 4, IsIndex: true}},
	{{Key: "n"}, {Index: 5, IsIndex: true}},
	{{Key: "e"}}, {{Key: "f"}}, {{Key: "g"}, {Index: 0, IsIndex: true}}, {{Key: "h"}},
	{{Index: 1, IsIndex: true}, {Index: 1, IsIndex: true}, {Index: 1, IsIndex: true}, {Index: 0, IsIndex: true}},
	{{Index: 0, IsIndex: true}},
	{{Key: "0"}},
}

// TestJSONLookup compares the path scanner with decoding the whole
// document with encoding/json.
func TestJSONLookup(t *testing.T) {
	for _, doc := range jsonDocs {
		for _, path := range jsonPaths {
			got := dynToOracle(jsonLookup([]byte(doc), path))
			want := jsonOracle(doc, path)
			if got != want {
				t.Errorf("%s %s: got %+v, want %+v", doc, (&FieldRef{Name: "m", Path: path}).String(), got, want)
			}
		}
	}
}

func FuzzJSONLookup(f *testing.F) {
	for _, d := range jsonDocs {
		f.Add(d, "a", "b", 1)
	}
	f.Fuzz(func(t *testing.T, doc, k1, k2 string, idx int) {
		if idx < 0 {
			idx = -idx
		}
		idx %= 8
		paths := [][]PathElem{
			{{Key: k1}},
			{{Key: k1}, {Key: k2}},
			{{Key: k1}, {Index: idx, IsIndex: true}},
			{{Index: idx, IsIndex: true}, {Key: k2}},
		}
		for _, path := range paths {
			got := dynToOracle(jsonLookup([]byte(doc), path))
			want := jsonOracle(doc, path)
			if got != want && !(got.kind == 'f' && want.kind == 'f' && got.f != got.f && want.f != want.f) {
				t.Fatalf("%q %v: got %+v, want %+v", doc, path, got, want)
			}
		}
	})
}
