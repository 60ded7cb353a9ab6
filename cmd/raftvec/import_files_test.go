package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/raftvec/raftvec/rpc/pb"
)

// fvecsBytes encodes vectors as .fvecs; dims overrides a record's dim
// header (for broken files).
func fvecsBytes(vecs [][]float32, dims map[int]int32) []byte {
	var b bytes.Buffer
	for i, v := range vecs {
		d := int32(len(v))
		if o, ok := dims[i]; ok {
			d = o
		}
		binary.Write(&b, binary.LittleEndian, d)
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

// npyBytes encodes a header dict and data as .npy of the given version,
// padding the header to 64 bytes as NumPy does.
func npyBytes(version byte, dict string, data any) []byte {
	var b bytes.Buffer
	b.Write(npyMagic)
	b.WriteByte(version)
	b.WriteByte(0)
	pre := 10
	if version > 1 {
		pre = 12
	}
	h := dict
	for (pre+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	if version == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(h)))
	}
	b.WriteString(h)
	if data != nil {
		binary.Write(&b, binary.LittleEndian, data)
	}
	return b.Bytes()
}

func testVecs(n, dim int) [][]float32 {
	vs := make([][]float32, n)
	for i := range vs {
		vs[i] = make([]float32, dim)
		for j := range vs[i] {
			vs[i][j] = float32(i*100 + j)
		}
	}
	return vs
}

func flat(vs [][]float32) []float32 {
	var out []float32
	for _, v := range vs {
		out = append(out, v...)
	}
	return out
}

func readAllRows(t *testing.T, vf *vecFile, cosine bool) ([]float32, error) {
	t.Helper()
	out := make([]float32, int(vf.rows)*vf.dim)
	// Two rows at a time, so reads at an offset are exercised too.
	var buf []byte
	for r := int64(0); r < vf.rows; r += 2 {
		n := int(min(2, vf.rows-r))
		var err error
		if buf, err = vf.readRows(r, n, out[int(r)*vf.dim:][:n*vf.dim], buf, cosine); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func TestFvecsGoodFile(t *testing.T) {
	vs := testVecs(5, 4)
	b := fvecsBytes(vs, nil)
	vf, err := openFvecs("v.fvecs", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if vf.rows != 5 || vf.dim != 4 || vf.rowBytes != 20 {
		t.Fatalf("rows %d dim %d rowBytes %d, want 5, 4, 20", vf.rows, vf.dim, vf.rowBytes)
	}
	got, err := readAllRows(t, vf, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := flat(vs); !slicesEqual(got, want) {
		t.Fatalf("vectors %v, want %v", got, want)
	}
	// One row from the middle.
	one := make([]float32, 4)
	if _, err := vf.readRows(3, 1, one, nil, false); err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(one, vs[3]) {
		t.Fatalf("row 3 = %v, want %v", one, vs[3])
	}
	if _, err := vf.readRows(4, 2, make([]float32, 8), nil, false); err == nil {
		t.Fatal("reading past the last row: no error")
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFvecsBadFiles(t *testing.T) {
	good := fvecsBytes(testVecs(3, 4), nil)
	nan := testVecs(3, 4)
	nan[2][1] = float32(math.NaN())
	inf := testVecs(3, 4)
	inf[1][3] = float32(math.Inf(-1))
	zero := testVecs(3, 4)
	zero[1] = make([]float32, 4)
	cases := []struct {
		name   string
		b      []byte
		cosine bool
		open   string // the error of openFvecs ("" = opens)
		read   string // the error of reading every row
	}{
		{name: "empty", b: nil, open: "empty file"},
		{name: "short header", b: []byte{4, 0}, open: "shorter than one .fvecs record header"},
		{name: "truncated", b: good[:len(good)-3], open: "size 57 bytes is not a multiple of the record size 20 (4 + 4×4, dim 4 from the first record)"},
		{name: "one byte extra", b: append(bytes.Clone(good), 0), open: "3 whole vectors, 1 bytes left over"},
		{name: "negative dim", b: fvecsBytes(testVecs(1, 4), map[int]int32{0: -4}), open: "the first record says dim -4"},
		{name: "record of another dim", b: fvecsBytes(testVecs(3, 4), map[int]int32{1: 5}), read: "record 1 (byte 20) says dim 5, but the file's first record says 4"},
		{name: "NaN", b: fvecsBytes(nan, nil), read: "row 2, element 1 is NaN: vectors must be finite"},
		{name: "Inf", b: fvecsBytes(inf, nil), read: "row 1, element 3 is -Inf"},
		{name: "zero vector, L2", b: fvecsBytes(zero, nil)},
		{name: "zero vector, cosine", b: fvecsBytes(zero, nil), cosine: true, read: "row 1 is the zero vector, which has no cosine"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vf, err := openFvecs("v.fvecs", bytes.NewReader(c.b), int64(len(c.b)))
			if c.open != "" {
				if err == nil || !strings.Contains(err.Error(), c.open) || !strings.HasPrefix(err.Error(), "v.fvecs: ") {
					t.Fatalf("open: got %v, want an error naming v.fvecs with %q", err, c.open)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			_, err = readAllRows(t, vf, c.cosine)
			if c.read == "" {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.read) {
				t.Fatalf("read: got %v, want %q", err, c.read)
			}
		})
	}
}

func TestVecFileCheckDim(t *testing.T) {
	b := fvecsBytes(testVecs(2, 4), nil)
	vf, err := openFvecs("v.fvecs", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	s := testSchema() // dim 4
	if err := vf.checkDim(mustRowSchema(t, s)); err != nil {
		t.Fatalf("dim 4 into dim 4: %v", err)
	}
	s.Fields[1].Dim = 8
	err = vf.checkDim(mustRowSchema(t, s))
	want := `v.fvecs: vectors have dim 4, but collection "c" wants dim 8 (field "vector")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestNpyGoodFiles(t *testing.T) {
	vs := testVecs(3, 4)
	f32 := flat(vs)
	f64 := make([]float64, len(f32))
	for i, x := range f32 {
		f64[i] = float64(x)
	}
	cases := []struct {
		name string
		b    []byte
	}{
		{"v1 <f4", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", f32)},
		{"v2 <f4", npyBytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", f32)},
		{"v3 <f8 converted", npyBytes(3, `{"descr": "<f8", "fortran_order": False, "shape": (3,4)}`, f64)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vf, err := openNpy("a.npy", bytes.NewReader(c.b), int64(len(c.b)))
			if err != nil {
				t.Fatal(err)
			}
			if vf.rows != 3 || vf.dim != 4 || vf.dataOff%64 != 0 {
				t.Fatalf("rows %d dim %d data at %d, want 3, 4, a multiple of 64", vf.rows, vf.dim, vf.dataOff)
			}
			got, err := readAllRows(t, vf, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slicesEqual(got, f32) {
				t.Fatalf("vectors %v, want %v", got, f32)
			}
		})
	}
}

func TestNpyBadFiles(t *testing.T) {
	f32 := flat(testVecs(3, 4))
	hdr := func(descr, fortran, shape string) string {
		return fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape)
	}
	good := npyBytes(1, hdr("<f4", "False", "(3, 4)"), f32)
	big := make([]float64, 12)
	big[5] = 1e300
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"not npy", []byte("hello, world\n"), "not a .npy file"},
		{"version 4", append(append([]byte{}, npyMagic...), 4, 0, 0, 0), "format version 4.0 is not supported"},
		{"int64", npyBytes(1, hdr("<i8", "False", "(3, 4)"), make([]int64, 12)), `dtype "<i8" is not supported: want '<f4' (float32) or '<f8'`},
		{"big-endian", npyBytes(1, hdr(">f4", "False", "(3, 4)"), f32), `dtype ">f4" is not supported`},
		{"float16", npyBytes(1, hdr("<f2", "False", "(3, 4)"), make([]uint16, 12)), `dtype "<f2"`},
		{"structured", npyBytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", f32), "no simple 'descr'"},
		{"fortran order", npyBytes(1, hdr("<f4", "True", "(3, 4)"), f32), "not in C order"},
		{"1-d", npyBytes(1, hdr("<f4", "False", "(12,)"), f32), "shape (12,): want a 2-d array (rows, dim)"},
		{"3-d", npyBytes(1, hdr("<f4", "False", "(3, 2, 2)"), f32), "want a 2-d array"},
		{"no rows", npyBytes(1, hdr("<f4", "False", "(0, 4)"), nil), "has no rows"},
		{"truncated data", good[:len(good)-4], "needs 176 (128 of header and 48 of data): the file is truncated"},
		{"trailing bytes", append(bytes.Clone(good), 1, 2, 3, 4), "truncated or has trailing bytes"},
		{"truncated header", good[:40], "runs past the end"},
		{"f8 out of float32 range", npyBytes(1, hdr("<f8", "False", "(3, 4)"), big), "row 1, element 1: 1e+300 is out of the float32 range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vf, err := openNpy("a.npy", bytes.NewReader(c.b), int64(len(c.b)))
			if err == nil {
				_, err = readAllRows(t, vf, false)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "a.npy: ") {
				t.Fatalf("got %v, want an error naming a.npy with %q", err, c.want)
			}
		})
	}
}

func TestImportFormat(t *testing.T) {
	cases := []struct{ file, given, want, err string }{
		{file: "a.fvecs", want: "fvecs"},
		{file: "dir/A.NPY", want: "npy"},
		{file: "rows.jsonl", want: "jsonl"},
		{file: "rows.ndjson", want: "jsonl"},
		{file: "data.bin", given: "fvecs", want: "fvecs"},
		{file: "data.bin", err: `cannot tell the format from the extension ".bin"`},
		{file: "t.parquet", err: "Parquet is not supported"},
		{file: "a.fvecs", given: "csv", err: `--format "csv": want jsonl, fvecs or npy`},
	}
	for _, c := range cases {
		got, err := importFormat(c.file, c.given)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("importFormat(%q, %q) = %q, %v; want error %q", c.file, c.given, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("importFormat(%q, %q) = %q, %v; want %q", c.file, c.given, got, err, c.want)
		}
	}
}

func TestVecSourceBatches(t *testing.T) {
	vs := testVecs(7, 2)
	b := fvecsBytes(vs, nil)
	vf, err := openFvecs("v.fvecs", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rs := mustRowSchema(t, &pb.CollectionSchema{Name: "c", Fields: []*pb.FieldSchema{
		{Name: "id", Type: pb.FieldType_INT64, PrimaryKey: true},
		{Name: "v", Type: pb.FieldType_FLOAT_VECTOR, Dim: 2, Metric: pb.Metric_L2}}})
	// Resume at row 2 with ids from 100: batches 2-4, 5-6.
	src := &vecSource{vf: vf, rs: rs, pos: importPos{Row: 2, Offset: 2 * 12}, startID: 100}
	var firsts []int64
	var ids []int64
	var ends []importPos
	for {
		bt, err := src.next(3)
		if err != nil {
			break
		}
		firsts = append(firsts, bt.first)
		ids = append(ids, bt.rows.IntIds...)
		ends = append(ends, bt.end)
		if !slicesEqual(bt.rows.Vectors, flat(vs[bt.first:bt.first+int64(bt.n)])) {
			t.Errorf("batch at %d: vectors %v", bt.first, bt.rows.Vectors)
		}
	}
	if fmt.Sprint(firsts) != "[2 5]" || fmt.Sprint(ids) != "[102 103 104 105 106]" {
		t.Fatalf("batches start at %v with ids %v, want [2 5] and 102..106", firsts, ids)
	}
	if ends[0] != (importPos{Row: 5, Offset: 60}) || ends[1] != (importPos{Row: 7, Offset: 84}) {
		t.Fatalf("batch ends %v", ends)
	}
}
