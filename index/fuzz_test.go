package index

import (
	"math/rand"
	"testing"
)

var fuzzDim = 3

func fuzzData() []float32 {
	return clustered(rand.New(rand.NewSource(31)), 24, fuzzDim, 3)
}

// FuzzDecode: no input makes Decode panic, and whatever it accepts can be
// searched without a panic.
func FuzzDecode(f *testing.F) {
	data := fuzzData()
	for _, ix := range smallIndexes(f, data, fuzzDim, L2) {
		f.Add(mustEncode(f, ix))
	}
	f.Add([]byte("RVIX"))
	f.Fuzz(func(t *testing.T, blob []byte) {
		ix, err := Decode(blob, data, fuzzDim)
		if err != nil {
			if ix != nil {
				t.Fatal("Decode returned an index with an error")
			}
			return
		}
		searchAll(t, ix, data)
	})
}

// FuzzDecodePayload goes behind the checksum, which random mutations almost
// never get through, to the structural validation.
func FuzzDecodePayload(f *testing.F) {
	data := fuzzData()
	for _, ix := range smallIndexes(f, data, fuzzDim, IP) {
		blob := mustEncode(f, ix)
		f.Add(blob[6], blob[headerSize:len(blob)-4])
	}
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		ix, err := decodePayload(Type(typ), L2, payload, data, fuzzDim)
		if err != nil {
			return
		}
		searchAll(t, ix, data)
	})
}

func searchAll(t *testing.T, ix Index, data []float32) {
	for i := 0; i < len(data)/fuzzDim; i += 5 {
		q := data[i*fuzzDim : (i+1)*fuzzDim]
		for _, allow := range []Allow{nil, func(r uint32) bool { return r%3 == 0 }} {
			got := ix.Search(q, 4, SearchParams{Ef: 8, Nprobe: 2}, allow)
			if len(got) > 4 {
				t.Fatalf("search returned %d > k results", len(got))
			}
			for _, c := range got {
				if int(c.Row) >= len(data)/fuzzDim {
					t.Fatalf("search returned row %d of %d", c.Row, len(data)/fuzzDim)
				}
			}
		}
	}
}
