package index

import (
	"math/rand"
	"testing"
)

// adcSumRef is the plain loop adcSum replaces.
func adcSumRef(tbl []float32, code []uint8, ksub int) float32 {
	var s float32
	for j, c := range code {
		s += tbl[j*ksub+int(c)]
	}
	return s
}

func TestADCSum(t *testing.T) {
	rng := rand.New(rand.NewSource(45))
	for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 31, 32, 196} {
		for _, ksub := range []int{256, 40} {
			tbl := smallInts(rng, m*ksub) // small integers: every order of adds is exact
			code := make([]uint8, m)
			for j := range code {
				code[j] = uint8(rng.Intn(ksub))
			}
			if got, want := adcSum(tbl, code, ksub), adcSumRef(tbl, code, ksub); got != want {
				t.Fatalf("m %d ksub %d: adcSum %v, want %v", m, ksub, got, want)
			}
		}
	}
}

// BenchmarkADCSum scores 1000 codes of m=196 bytes (Fashion-MNIST's default).
func BenchmarkADCSum(b *testing.B) {
	rng := rand.New(rand.NewSource(46))
	const m, rows = 196, 1000
	tbl := randFloats(rng, m*256)
	codes := make([]uint8, m*rows)
	rng.Read(codes)
	for _, c := range []struct {
		name string
		f    func([]float32, []uint8, int) float32
	}{{"unrolled", adcSum}, {"plain", adcSumRef}} {
		b.Run(c.name, func(b *testing.B) {
			var sink float32
			for b.Loop() {
				for r := 0; r < rows; r++ {
					sink += c.f(tbl, codes[r*m:(r+1)*m], 256)
				}
			}
			_ = sink
		})
	}
}
