package index

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
)

var benchDims = []int{32, 64, 128, 256, 768, 1536}

// Throughput (b.SetBytes) counts every byte a kernel reads: both vectors for
// the pair kernels, the rows for the batch kernels (the query stays in L1).

func BenchmarkL2Squared(b *testing.B) {
	benchPair(b, func(k kernelSet) func(a, b []float32) float32 { return k.l2 })
}

func BenchmarkDot(b *testing.B) {
	benchPair(b, func(k kernelSet) func(a, b []float32) float32 { return k.dot })
}

var sink float32

func benchPair(b *testing.B, pick func(kernelSet) func(a, b []float32) float32) {
	for _, k := range supportedKernels() {
		f := pick(k)
		for _, d := range benchDims {
			b.Run(fmt.Sprintf("%s/d=%d", k.level, d), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				x, y := randFloats(rng, d), randFloats(rng, d)
				b.SetBytes(int64(2 * 4 * d))
				var s float32
				for b.Loop() {
					s += f(x, y)
				}
				sink = s
			})
		}
	}
}

func BenchmarkL2SquaredBatch(b *testing.B) {
	benchBatch(b, func(k kernelSet) func(q, rows []float32, dim int, out []float32) { return k.l2Batch })
}

func BenchmarkDotBatch(b *testing.B) {
	benchBatch(b, func(k kernelSet) func(q, rows []float32, dim int, out []float32) { return k.dotBatch })
}

func benchBatch(b *testing.B, pick func(kernelSet) func(q, rows []float32, dim int, out []float32)) {
	const rows = 256 // 128 KiB at d=128: in L2
	for _, k := range supportedKernels() {
		f := pick(k)
		for _, d := range []int{128, 768} {
			b.Run(fmt.Sprintf("%s/d=%d", k.level, d), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				q, data := randFloats(rng, d), randFloats(rng, rows*d)
				out := make([]float32, rows)
				b.SetBytes(int64(4 * d * rows))
				for b.Loop() {
					f(q, data, d, out)
				}
			})
		}
	}
}

func BenchmarkDotFloatUint8Batch(b *testing.B) {
	const rows = 256
	for _, k := range supportedKernels() {
		for _, d := range []int{128, 768} {
			b.Run(fmt.Sprintf("%s/d=%d", k.level, d), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				q := randFloats(rng, d)
				codes := make([]uint8, rows*d)
				rng.Read(codes)
				out := make([]float32, rows)
				b.SetBytes(int64(d * rows))
				for b.Loop() {
					k.dotFloatUint8(q, codes, d, out)
				}
			})
		}
	}
}

func BenchmarkL2SquaredUint8(b *testing.B) {
	for _, k := range supportedKernels() {
		for _, d := range []int{128, 768} {
			b.Run(fmt.Sprintf("%s/d=%d", k.level, d), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				x, y := make([]uint8, d), make([]uint8, d)
				rng.Read(x)
				rng.Read(y)
				b.SetBytes(int64(2 * d))
				var s uint32
				for b.Loop() {
					s += k.l2Uint8(x, y)
				}
				sink = float32(s)
			})
		}
	}
}

func BenchmarkDotInt8(b *testing.B) {
	for _, k := range supportedKernels() {
		for _, d := range []int{128, 768} {
			b.Run(fmt.Sprintf("%s/d=%d", k.level, d), func(b *testing.B) {
				rng := rand.New(rand.NewSource(1))
				x, y := make([]int8, d), make([]int8, d)
				for i := range x {
					x[i], y[i] = int8(rng.Intn(256)-128), int8(rng.Intn(256)-128)
				}
				b.SetBytes(int64(2 * d))
				var s int32
				for b.Loop() {
					s += k.dotInt8(x, y)
				}
				sink = float32(s)
			})
		}
	}
}

const scanRows, scanDim = 1 << 20, 128

var scanData = sync.OnceValue(func() []float32 {
	rng := rand.New(rand.NewSource(1))
	return randFloats(rng, scanRows*scanDim)
})

// BenchmarkScan1Mx128 compares a brute-force FlatSearch over 1M×128 float32
// (512 MiB, far beyond cache) with a plain streaming read of the same memory
// by the selected kernel level, on one core. The "ratio" sub-benchmark runs
// the two alternately and reports scan throughput / read throughput as
// scan/bw, so machine noise hits both sides alike.
func BenchmarkScan1Mx128(b *testing.B) {
	data := scanData()
	q := data[:scanDim]
	bytes := int64(len(data) * 4)
	scan := func() { _ = FlatSearch(L2, q, data, scanDim, 10, nil) }
	read := func() { sink += sumImpl(data) }
	b.Run("bandwidth", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			read()
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			scan()
		}
	})
	b.Run("ratio", func(b *testing.B) {
		b.SetBytes(2 * bytes)
		var tScan, tRead float64
		for b.Loop() {
			tRead += timeIt(read)
			tScan += timeIt(scan)
		}
		b.ReportMetric(tRead/tScan, "scan/bw")
	})
}
