package index

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"unsafe"
)

// Serialised form of an index (all integers little-endian):
//
//	off  size  field
//	0    4     magic "RVIX"
//	4    2     format version (formatVersion)
//	6    1     Type
//	7    1     Metric
//	8    4     dim
//	12   4     rows n
//	16   4     CRC-32C of the float vectors the index was built on
//	20   8     payload length P
//	28   P     payload (per type, see encodeHNSW and encodeIVF)
//	28+P 4     CRC-32C of bytes [0, 28+P)
//
// The float vectors are not stored: they belong to the segment, which keeps
// them anyway. Their checksum ties the blob to them, so an index is never
// loaded over vectors it was not built on. Decode checks length, magic,
// checksum and version before parsing, and then validates every structural
// invariant Search relies on, so any blob it accepts is safe to search.

const (
	formatMagic   = "RVIX"
	formatVersion = 1
	headerSize    = 28
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func vectorsChecksum(v []float32) uint32 {
	if len(v) == 0 {
		return crc32.Checksum(nil, castagnoli)
	}
	return crc32.Checksum(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)), castagnoli)
}

// Encode serialises ix. It fails with ErrUnsupported for an Index not built
// by this package.
func Encode(ix Index) ([]byte, error) {
	var payload []byte
	var vectors []float32
	switch x := ix.(type) {
	case *flatIndex:
		vectors = x.vectors
	case *HNSW:
		vectors, payload = x.vectors, x.appendPayload(nil)
	case *IVF:
		vectors, payload = x.vectors, x.appendPayload(nil)
	default:
		return nil, fmt.Errorf("%w: cannot encode %T", ErrUnsupported, ix)
	}
	spec := ix.Spec()
	b := make([]byte, 0, headerSize+len(payload)+4)
	b = append(b, formatMagic...)
	b = binary.LittleEndian.AppendUint16(b, formatVersion)
	b = append(b, byte(spec.Type), byte(spec.Metric))
	b = binary.LittleEndian.AppendUint32(b, uint32(ix.Dim()))
	b = binary.LittleEndian.AppendUint32(b, uint32(ix.Len()))
	b = binary.LittleEndian.AppendUint32(b, vectorsChecksum(vectors))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// Decode loads an index from blob over vectors (n rows of dim floats, the
// same rows it was built on). Any damage — truncation, a flipped bit, an
// unknown version, vectors other than the ones it was built on, a
// structurally impossible graph or cell list — returns an error wrapping
// ErrCorrupt and no Index; the caller rebuilds. Nothing is half-loaded: the
// result exists only once every check passed. Decode copies what it keeps,
// so blob may be reused afterwards.
func Decode(blob []byte, vectors []float32, dim int) (Index, error) {
	if len(blob) < headerSize+4 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(blob), headerSize+4)
	}
	if string(blob[:4]) != formatMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, blob[:4])
	}
	body, sum := blob[:len(blob)-4], binary.LittleEndian.Uint32(blob[len(blob)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(blob[4:]); v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrCorrupt, v, formatVersion)
	}
	typ, metric := Type(blob[6]), Metric(blob[7])
	bdim := int(binary.LittleEndian.Uint32(blob[8:]))
	bn := int(binary.LittleEndian.Uint32(blob[12:]))
	if plen := binary.LittleEndian.Uint64(blob[20:]); plen != uint64(len(body)-headerSize) {
		return nil, fmt.Errorf("%w: payload length %d, blob holds %d", ErrCorrupt, plen, len(body)-headerSize)
	}
	if err := checkVectors(vectors, dim); err != nil {
		return nil, err
	}
	if bdim != dim || bn != len(vectors)/dim {
		return nil, fmt.Errorf("%w: index of %d×%d rows, vectors are %d×%d", ErrCorrupt, bn, bdim, len(vectors)/dim, dim)
	}
	if vectorsChecksum(vectors) != binary.LittleEndian.Uint32(blob[16:]) {
		return nil, fmt.Errorf("%w: index was built on other vectors (checksum mismatch)", ErrCorrupt)
	}
	return decodePayload(typ, metric, body[headerSize:], vectors, dim)
}

// decodePayload parses and validates the per-type payload. It trusts
// nothing: Decode's checksum makes damage unlikely to reach it, the fuzz
// target makes sure that if it does, it is rejected without a panic.
func decodePayload(typ Type, metric Metric, payload []byte, vectors []float32, dim int) (Index, error) {
	if !metric.Valid() {
		return nil, fmt.Errorf("%w: metric %d", ErrCorrupt, uint8(metric))
	}
	r := &reader{b: payload}
	var ix Index
	var err error
	switch typ {
	case TypeFlat:
		ix = &flatIndex{spec: Spec{Type: TypeFlat, Metric: metric}, dim: dim, vectors: vectors}
	case TypeHNSW:
		ix, err = decodeHNSW(r, metric, vectors, dim)
	case TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ:
		ix, err = decodeIVF(r, typ, metric, vectors, dim)
	default:
		return nil, fmt.Errorf("%w: index type %d", ErrCorrupt, uint8(typ))
	}
	if err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing payload bytes", ErrCorrupt, len(r.b))
	}
	return ix, nil
}

// HNSW payload: M, efConstruction, entry, top layer (u32 each), levels
// (n bytes), layer-0 blocks (n*(2M+1) u32), upper length L (u64), upper
// blocks (L u32). Per-row offsets into the upper blocks follow from levels.
func (h *HNSW) appendPayload(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(h.m))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.spec.Params.EfConstruction))
	b = binary.LittleEndian.AppendUint32(b, h.entry)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.maxLevel))
	b = append(b, h.levels...)
	b = appendU32s(b, h.links0)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(h.upper)))
	return appendU32s(b, h.upper)
}

func decodeHNSW(r *reader, metric Metric, vectors []float32, dim int) (*HNSW, error) {
	n := len(vectors) / dim
	p := Params{M: int(r.u32()), EfConstruction: int(r.u32())}
	spec := Spec{Type: TypeHNSW, Metric: metric, Params: p}
	if r.err != nil {
		return nil, r.err
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	entry, top := r.u32(), int(r.u32())
	levels := r.bytes(n)
	if r.err != nil {
		return nil, r.err
	}
	h, err := newHNSW(spec, vectors, dim, levels)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	r.u32sInto(h.links0)
	if ul := r.u64(); r.err == nil && ul != uint64(len(h.upper)) {
		return nil, fmt.Errorf("%w: %d upper links, levels imply %d", ErrCorrupt, ul, len(h.upper))
	}
	r.u32sInto(h.upper)
	if r.err != nil {
		return nil, r.err
	}
	h.entry, h.maxLevel = entry, top
	return h, h.validate()
}

// validate checks every invariant the search loop relies on.
func (h *HNSW) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: hnsw: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	if h.n == 0 {
		if h.entry != 0 || h.maxLevel != 0 {
			return bad("empty graph with entry %d top %d", h.entry, h.maxLevel)
		}
		return nil
	}
	if int(h.entry) >= h.n {
		return bad("entry %d of %d rows", h.entry, h.n)
	}
	top := 0
	for _, l := range h.levels {
		if l > maxHNSWLevel {
			return bad("level %d above %d", l, maxHNSWLevel)
		}
		top = max(top, int(l))
	}
	if h.maxLevel != top || int(h.levels[h.entry]) != top {
		return bad("top layer %d, entry level %d, highest level %d", h.maxLevel, h.levels[h.entry], top)
	}
	for row := 0; row < h.n; row++ {
		for l := 0; l <= int(h.levels[row]); l++ {
			blk := h.block(uint32(row), l)
			if int(blk[0]) > len(blk)-1 {
				return bad("row %d layer %d: %d links, capacity %d", row, l, blk[0], len(blk)-1)
			}
			for _, x := range blk[1 : 1+blk[0]] {
				if int(x) >= h.n || int(h.levels[x]) < l {
					return bad("row %d layer %d: link to %d", row, l, x)
				}
			}
		}
	}
	return nil
}

// IVF payload: nlist, kmeans iterations (u32 each), centroids (nlist*dim
// f32), offsets (nlist+1 u32), rows (n u32); IVF_SQ8 adds vmin and scale
// (dim f32 each), codes (n*dim bytes) and norms (n f32). IVF_PQ puts pq_m
// and ksub (u32 each) after the kmeans iterations and adds the codebooks
// (ksub*dim f32), codes (n*pq_m bytes) and, for L2, terms (n f32).
func (ix *IVF) appendPayload(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(ix.nlist))
	b = binary.LittleEndian.AppendUint32(b, uint32(ix.spec.Params.KMeansIters))
	if ix.pq != nil {
		b = binary.LittleEndian.AppendUint32(b, uint32(ix.pq.m))
		b = binary.LittleEndian.AppendUint32(b, uint32(ix.pq.ksub))
	}
	b = appendF32s(b, ix.centroids)
	b = appendU32s(b, ix.offsets)
	b = appendU32s(b, ix.rows)
	switch ix.spec.Type {
	case TypeIVFSQ8:
		b = appendF32s(b, ix.vmin)
		b = appendF32s(b, ix.scale)
		b = append(b, ix.codes...)
		b = appendF32s(b, ix.norms)
	case TypeIVFPQ:
		b = appendF32s(b, ix.pq.codebook)
		b = append(b, ix.pq.codes...)
		b = appendF32s(b, ix.pq.terms)
	}
	return b
}

func decodeIVF(r *reader, typ Type, metric Metric, vectors []float32, dim int) (*IVF, error) {
	n := len(vectors) / dim
	spec := Spec{Type: typ, Metric: metric, Params: Params{Nlist: int(r.u32()), KMeansIters: int(r.u32())}}
	var ksub int
	if typ == TypeIVFPQ {
		spec.Params.PQM, ksub = int(r.u32()), int(r.u32())
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := spec.ValidateDim(dim); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if typ == TypeIVFPQ && ksub != min(pqMaxKsub, n) {
		return nil, fmt.Errorf("%w: ivf_pq: %d centroids per subspace over %d rows, want %d", ErrCorrupt, ksub, n, min(pqMaxKsub, n))
	}
	nlist := spec.Params.Nlist
	if nlist != max(1, min(nlist, n)) {
		return nil, fmt.Errorf("%w: ivf: %d cells over %d rows", ErrCorrupt, nlist, n)
	}
	ix := &IVF{spec: spec, dim: dim, n: n, l2: metric == L2, nlist: nlist, vectors: vectors}
	ix.centroids = r.f32s(nlist * dim)
	ix.offsets = r.u32s(nlist + 1)
	ix.rows = r.u32s(n)
	if typ == TypeIVFSQ8 {
		ix.vmin = r.f32s(dim)
		ix.scale = r.f32s(dim)
		ix.codes = r.bytes(n * dim)
		ix.norms = r.f32s(n)
	}
	if typ == TypeIVFPQ {
		m := spec.Params.PQM
		pq := &pqCodes{m: m, dsub: dim / m, ksub: ksub}
		pq.codebook = r.f32s(ksub * dim)
		pq.codes = r.bytes(n * m)
		if ix.l2 {
			pq.terms = r.f32s(n)
		}
		if r.err != nil {
			return nil, r.err
		}
		for i, c := range pq.codes {
			if int(c) >= ksub {
				return nil, fmt.Errorf("%w: ivf_pq: code %d at byte %d, %d centroids per subspace", ErrCorrupt, c, i, ksub)
			}
		}
		if pq.codebook == nil {
			pq.codebook = []float32{}
		}
		if pq.codes == nil {
			pq.codes = []uint8{}
		}
		if ix.l2 && pq.terms == nil {
			pq.terms = []float32{}
		}
		ix.pq = pq
	}
	if r.err != nil {
		return nil, r.err
	}
	if ix.offsets[0] != 0 || int(ix.offsets[nlist]) != n {
		return nil, fmt.Errorf("%w: ivf: cells span %d..%d of %d rows", ErrCorrupt, ix.offsets[0], ix.offsets[nlist], n)
	}
	for c := 0; c < nlist; c++ {
		if ix.offsets[c] > ix.offsets[c+1] {
			return nil, fmt.Errorf("%w: ivf: cell %d ends before it starts", ErrCorrupt, c)
		}
	}
	seen := make([]bool, n)
	for _, row := range ix.rows {
		if int(row) >= n || seen[row] {
			return nil, fmt.Errorf("%w: ivf: row %d missing, repeated or out of range", ErrCorrupt, row)
		}
		seen[row] = true
	}
	if typ == TypeIVFSQ8 && ix.codes == nil {
		ix.codes = []uint8{} // non-nil marks SQ8 even with no rows
	}
	return ix, nil
}

// reader consumes a payload; the first failure sticks in err and every
// later read returns zero values. Lengths are checked against what is left
// before anything is allocated, so a forged count cannot exhaust memory.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int, elem int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || elem <= 0 || n > len(r.b)/elem {
		r.err = fmt.Errorf("%w: payload truncated", ErrCorrupt)
		return nil
	}
	out := r.b[:n*elem]
	r.b = r.b[n*elem:]
	return out
}

func (r *reader) u32() uint32 {
	if b := r.take(1, 4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(1, 8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) bytes(n int) []byte {
	b := r.take(n, 1)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func (r *reader) u32sInto(dst []uint32) {
	b := r.take(len(dst), 4)
	if b == nil {
		return
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
}

func (r *reader) u32s(n int) []uint32 {
	if r.err != nil || n < 0 || n > len(r.b)/4 {
		r.take(n, 4) // records the error
		return nil
	}
	out := make([]uint32, n)
	r.u32sInto(out)
	return out
}

func (r *reader) f32s(n int) []float32 {
	u := r.u32s(n)
	if u == nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(u))), len(u))
}

func appendU32s(b []byte, v []uint32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func appendF32s(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}
