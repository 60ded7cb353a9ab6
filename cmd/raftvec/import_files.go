package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The pure half of `raftvec import` for dense vector files: .fvecs and
// .npy. A file is opened through io.ReaderAt and its size, its layout is
// checked completely before a row is read (so a truncated or foreign file
// is refused before anything is sent), and rows are then read by row
// number, which is what resuming at a checkpoint needs.

// vecFile is an opened, checked .fvecs or .npy file.
type vecFile struct {
	name   string
	format string // "fvecs" or "npy"
	r      io.ReaderAt
	rows   int64
	dim    int

	dataOff  int64 // where the first row starts
	rowBytes int64 // bytes per row in the file
	rowHead  int64 // bytes before a row's values (4: the dim of an .fvecs record)
	f64      bool  // .npy '<f8': values are float64, converted
}

// openFvecs checks an .fvecs file: records of an int32 dim (little-endian)
// followed by dim float32. The dim comes from the first record; the size
// must be a whole number of records. Each record's own dim is checked when
// it is read.
func openFvecs(name string, r io.ReaderAt, size int64) (*vecFile, error) {
	if size == 0 {
		return nil, fmt.Errorf("%s: empty file, no vectors", name)
	}
	var head [4]byte
	if size < 4 {
		return nil, fmt.Errorf("%s: %d bytes is shorter than one .fvecs record header (4 bytes)", name, size)
	}
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d := int32(binary.LittleEndian.Uint32(head[:]))
	if d <= 0 || d > maxImportDim {
		return nil, fmt.Errorf("%s: the first record says dim %d, want 1 to %d: not an .fvecs file (int32 dim, then dim float32, per vector)", name, d, maxImportDim)
	}
	rec := 4 + 4*int64(d)
	if size%rec != 0 {
		return nil, fmt.Errorf("%s: size %d bytes is not a multiple of the record size %d (4 + 4×%d, dim %d from the first record): the file is truncated or not .fvecs; %d whole vectors, %d bytes left over",
			name, size, rec, d, d, size/rec, size%rec)
	}
	return &vecFile{name: name, format: "fvecs", r: r, rows: size / rec, dim: int(d), rowBytes: rec, rowHead: 4}, nil
}

// maxImportDim bounds the dim a file may declare, so a foreign file is not
// mistaken for vectors of absurd width; the server's limit is lower still.
const maxImportDim = 1 << 16

var npyMagic = []byte("\x93NUMPY")

var (
	npyDescrRe   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyFortranRe = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	npyShapeRe   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// openNpy checks a NumPy .npy file (format versions 1, 2 and 3): a
// C-order 2-d array (rows, dim) of '<f4', or of '<f8' converted to
// float32. The data must be exactly rows×dim values.
func openNpy(name string, r io.ReaderAt, size int64) (*vecFile, error) {
	pre := make([]byte, 12)
	n, err := r.ReadAt(pre, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pre = pre[:n]
	if n < 10 || string(pre[:6]) != string(npyMagic) {
		return nil, fmt.Errorf("%s: not a .npy file (it does not start with \\x93NUMPY)", name)
	}
	major := pre[6]
	var hlen, hstart int64
	switch major {
	case 1:
		hlen, hstart = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if n < 12 {
			return nil, fmt.Errorf("%s: .npy header truncated", name)
		}
		hlen, hstart = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return nil, fmt.Errorf("%s: .npy format version %d.%d is not supported (want 1, 2 or 3)", name, major, pre[7])
	}
	if hstart+hlen > size || hlen > 1<<20 {
		return nil, fmt.Errorf("%s: .npy header of %d bytes runs past the end of the %d-byte file: truncated", name, hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := r.ReadAt(hb, hstart); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	header := string(hb)
	m := npyDescrRe.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("%s: .npy header has no simple 'descr' (a structured dtype?): %s; want '<f4' (float32) or '<f8' (float64)", name, strings.TrimSpace(header))
	}
	var itemSize int64
	var f64 bool
	switch m[1] {
	case "<f4":
		itemSize = 4
	case "<f8":
		itemSize, f64 = 8, true
	default:
		return nil, fmt.Errorf("%s: .npy dtype %q is not supported: want '<f4' (float32) or '<f8' (float64, converted to float32); in NumPy: np.save(path, a.astype('<f4'))", name, m[1])
	}
	if m := npyFortranRe.FindStringSubmatch(header); m == nil || m[1] != "False" {
		return nil, fmt.Errorf("%s: .npy array is not in C order (fortran_order must be False); in NumPy: np.save(path, np.ascontiguousarray(a))", name)
	}
	m = npyShapeRe.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("%s: .npy header has no 'shape'", name)
	}
	var shape []int64
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: .npy shape (%s) is not a tuple of sizes", name, m[1])
		}
		shape = append(shape, v)
	}
	if len(shape) != 2 {
		return nil, fmt.Errorf("%s: .npy array has shape (%s): want a 2-d array (rows, dim)", name, m[1])
	}
	rows, dim := shape[0], shape[1]
	if dim <= 0 || dim > maxImportDim {
		return nil, fmt.Errorf("%s: .npy shape (%d, %d): dim must be between 1 and %d", name, rows, dim, maxImportDim)
	}
	if rows == 0 {
		return nil, fmt.Errorf("%s: .npy array has no rows", name)
	}
	dataOff := hstart + hlen
	want := dataOff + rows*dim*itemSize
	if size != want {
		return nil, fmt.Errorf("%s: %d bytes, but shape (%d, %d) of %s needs %d (%d of header and %d of data): the file is truncated or has trailing bytes",
			name, size, rows, dim, m[1], want, dataOff, rows*dim*itemSize)
	}
	return &vecFile{name: name, format: "npy", r: r, rows: rows, dim: int(dim), dataOff: dataOff, rowBytes: dim * itemSize, f64: f64}, nil
}

// readRows decodes rows [first, first+n) into dst, which must hold
// n×dim floats; buf is scratch space reused between calls (it is grown as
// needed and returned). Every value must be finite, and with cosine no
// vector may be zero: the same checks the server makes, here with the row
// number of the file.
func (v *vecFile) readRows(first int64, n int, dst []float32, buf []byte, cosine bool) ([]byte, error) {
	if first < 0 || first+int64(n) > v.rows {
		return buf, fmt.Errorf("%s: rows %d-%d are outside the file's %d rows", v.name, first, first+int64(n)-1, v.rows)
	}
	size := int(v.rowBytes) * n
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := v.r.ReadAt(buf, v.dataOff+first*v.rowBytes); err != nil {
		return buf, fmt.Errorf("%s: rows %d-%d: %w", v.name, first, first+int64(n)-1, err)
	}
	for i := range n {
		rec := buf[int64(i)*v.rowBytes:][:v.rowBytes]
		row := first + int64(i)
		if v.rowHead > 0 {
			if d := int32(binary.LittleEndian.Uint32(rec)); int(d) != v.dim {
				return buf, fmt.Errorf("%s: record %d (byte %d) says dim %d, but the file's first record says %d: not a valid .fvecs file",
					v.name, row, v.dataOff+row*v.rowBytes, d, v.dim)
			}
			rec = rec[v.rowHead:]
		}
		out := dst[i*v.dim:][:v.dim]
		zero := true
		for j := range out {
			var x float32
			if v.f64 {
				f := math.Float64frombits(binary.LittleEndian.Uint64(rec[8*j:]))
				if !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
					return buf, fmt.Errorf("%s: row %d, element %d: %g is out of the float32 range", v.name, row, j, f)
				}
				x = float32(f)
			} else {
				x = math.Float32frombits(binary.LittleEndian.Uint32(rec[4*j:]))
			}
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return buf, fmt.Errorf("%s: row %d, element %d is %v: vectors must be finite", v.name, row, j, x)
			}
			zero = zero && x == 0
			out[j] = x
		}
		if cosine && zero {
			return buf, fmt.Errorf("%s: row %d is the zero vector, which has no cosine; the collection's metric is cosine", v.name, row)
		}
	}
	return buf, nil
}

// checkDim says whether the file's vectors fit the collection.
func (v *vecFile) checkDim(rs *rowSchema) error {
	if v.dim != rs.dim {
		return fmt.Errorf("%s: vectors have dim %d, but collection %q wants dim %d (field %q); nothing was sent", v.name, v.dim, rs.collection, rs.dim, rs.vector.Name)
	}
	return nil
}
