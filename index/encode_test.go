package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand"
	"slices"
	"testing"
)

// smallIndexes builds one index of every type over the same small data.
func smallIndexes(t testing.TB, data []float32, dim int, m Metric) []Index {
	var out []Index
	for _, typ := range []Type{TypeFlat, TypeHNSW, TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		spec := DefaultSpec(typ, m)
		spec.Params.M = 4
		spec.Params.EfConstruction = 16
		spec.Params.Nlist = 4
		b, _ := NewCPUBuilder(BuildOptions{Threads: 1, Seed: 3})
		ix, err := b.Build(t.Context(), spec, data, dim)
		if err != nil {
			t.Fatalf("build %v: %v", typ, err)
		}
		out = append(out, ix)
	}
	return out
}

func mustEncode(t testing.TB, ix Index) []byte {
	blob, err := Encode(ix)
	if err != nil {
		t.Fatalf("encode %v: %v", ix.Spec().Type, err)
	}
	return blob
}

func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	const dim = 12
	data := clustered(rng, 600, dim, 6)
	queries := randFloats(rng, 20*dim)
	for _, m := range []Metric{L2, IP, Cosine} {
		for _, ix := range smallIndexes(t, data, dim, m) {
			blob := mustEncode(t, ix)
			back, err := Decode(blob, data, dim)
			if err != nil {
				t.Fatalf("%v %v: decode: %v", ix.Spec().Type, m, err)
			}
			if back.Spec() != ix.Spec() || back.Len() != ix.Len() || back.Dim() != dim || back.MemoryBytes() != ix.MemoryBytes() {
				t.Fatalf("%v %v: decoded %+v len %d, want %+v len %d", ix.Spec().Type, m, back.Spec(), back.Len(), ix.Spec(), ix.Len())
			}
			if again := mustEncode(t, back); !bytes.Equal(again, blob) {
				t.Fatalf("%v %v: re-encoding the decoded index changed the blob", ix.Spec().Type, m)
			}
			for i := 0; i < 20; i++ {
				q := queries[i*dim : (i+1)*dim]
				p := SearchParams{Ef: 20, Nprobe: 2}
				if a, b := ix.Search(q, 5, p, nil), back.Search(q, 5, p, nil); !slices.Equal(a, b) || len(a) != 5 {
					t.Fatalf("%v %v: query %d: decoded index returns %v, original %v", ix.Spec().Type, m, i, b, a)
				}
			}
		}
	}
}

func TestDecodeRejectsEveryFlippedByteAndTruncation(t *testing.T) {
	rng := rand.New(rand.NewSource(22))
	const dim = 3
	data := clustered(rng, 40, dim, 3)
	for _, ix := range smallIndexes(t, data, dim, L2) {
		blob := mustEncode(t, ix)
		for i := range blob {
			bad := slices.Clone(blob)
			bad[i] ^= 0x10
			if got, err := Decode(bad, data, dim); !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("%v: byte %d of %d flipped: index %v, err %v; want ErrCorrupt", ix.Spec().Type, i, len(blob), got, err)
			}
		}
		for n := 0; n < len(blob); n++ {
			if got, err := Decode(blob[:n], data, dim); !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("%v: truncated to %d of %d: index %v, err %v; want ErrCorrupt", ix.Spec().Type, n, len(blob), got, err)
			}
		}
		if _, err := Decode(append(slices.Clone(blob), 0), data, dim); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%v: extra byte: err %v, want ErrCorrupt", ix.Spec().Type, err)
		}
	}
}

func TestDecodeRejectsOtherVectors(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	data := randFloats(rng, 30*4)
	blob := mustEncode(t, smallIndexes(t, data, 4, L2)[1])
	other := slices.Clone(data)
	other[17] += 1
	if _, err := Decode(blob, other, 4); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("changed vector: err %v, want ErrCorrupt", err)
	}
	if _, err := Decode(blob, data[:29*4], 4); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fewer rows: err %v, want ErrCorrupt", err)
	}
	if _, err := Decode(blob, data, 6); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("other dim: err %v, want ErrCorrupt", err)
	}
	if _, err := Decode(blob, data, 0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("dim 0: err %v, want ErrInvalidInput", err)
	}
}

// reseal recomputes the trailing checksum after a deliberate edit, so the
// structural checks behind it are what must catch the damage.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(body, castagnoli))
	return b
}

func TestDecodeRejectsStructuralDamage(t *testing.T) {
	rng := rand.New(rand.NewSource(24))
	const dim = 4
	data := clustered(rng, 100, dim, 4)
	ixs := smallIndexes(t, data, dim, L2)
	hnsw, ivf := mustEncode(t, ixs[1]), mustEncode(t, ixs[2])
	n := 100
	cases := []struct {
		name string
		blob []byte
		edit func(b []byte)
	}{
		{"version", hnsw, func(b []byte) { b[4] = 2 }},
		{"type", hnsw, func(b []byte) { b[6] = 99 }},
		{"metric", hnsw, func(b []byte) { b[7] = 0 }},
		{"hnsw M out of range", hnsw, func(b []byte) { binary.LittleEndian.PutUint32(b[headerSize:], 65) }},
		{"hnsw entry out of range", hnsw, func(b []byte) { binary.LittleEndian.PutUint32(b[headerSize+8:], uint32(n)) }},
		{"hnsw link out of range", hnsw, func(b []byte) {
			o := headerSize + 16 + n + 4 // row 0's first layer-0 link
			binary.LittleEndian.PutUint32(b[o:], uint32(n+5))
		}},
		{"hnsw link count over capacity", hnsw, func(b []byte) {
			binary.LittleEndian.PutUint32(b[headerSize+16+n:], 9)
		}},
		{"ivf row repeated", ivf, func(b []byte) {
			o := headerSize + 8 + 4*4*dim + 4*5 // rows start after nlist=4 centroids and 5 offsets
			copy(b[o:o+4], b[o+4:o+8])
		}},
		{"ivf offsets", ivf, func(b []byte) {
			binary.LittleEndian.PutUint32(b[headerSize+8+4*4*dim+4:], 1000)
		}},
	}
	for _, c := range cases {
		b := slices.Clone(c.blob)
		c.edit(b)
		if got, err := Decode(reseal(b), data, dim); !errors.Is(err, ErrCorrupt) || got != nil {
			t.Fatalf("%s: index %v, err %v; want ErrCorrupt", c.name, got, err)
		}
	}
}

type foreignIndex struct{ Index }

func TestEncodeForeignIndex(t *testing.T) {
	if _, err := Encode(foreignIndex{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("encode foreign index: err %v, want ErrUnsupported", err)
	}
}

// TestSingleThreadedBuildsEncodeIdentically checks the Builder contract:
// Threads 1 and one seed give the same blob, byte for byte.
func TestSingleThreadedBuildsEncodeIdentically(t *testing.T) {
	rng := rand.New(rand.NewSource(25))
	data := clustered(rng, 800, 10, 8)
	a := smallIndexes(t, data, 10, IP)
	b := smallIndexes(t, data, 10, IP)
	for i := range a {
		if !bytes.Equal(mustEncode(t, a[i]), mustEncode(t, b[i])) {
			t.Fatalf("%v: two single-threaded builds encode differently", a[i].Spec().Type)
		}
	}
}
