//go:build amd64 && !noasm

package index

// Hand-written kernels in kernels_avx2_amd64.s and kernels_avx512_amd64.s.
// Lengths are checked by the callers (the exported wrappers or package code
// that slices to the same length); the assembly trusts them.

//go:noescape
func l2SquaredAVX2(a, b []float32) float32

//go:noescape
func dotAVX2(a, b []float32) float32

//go:noescape
func l2SquaredBatchAVX2(q, rows []float32, dim int, out []float32)

//go:noescape
func dotBatchAVX2(q, rows []float32, dim int, out []float32)

//go:noescape
func l2SquaredUint8AVX2(a, b []uint8) uint32

//go:noescape
func dotInt8AVX2(a, b []int8) int32

//go:noescape
func dotFloatUint8BatchAVX2(q []float32, codes []uint8, dim int, out []float32)

//go:noescape
func sumAVX2(p []float32) float32

//go:noescape
func l2SquaredGatherAVX2(q, vectors []float32, dim int, ids []uint32, out []float32)

//go:noescape
func dotGatherAVX2(q, vectors []float32, dim int, ids []uint32, out []float32)

//go:noescape
func l2SquaredGatherAVX512(q, vectors []float32, dim int, ids []uint32, out []float32)

//go:noescape
func dotGatherAVX512(q, vectors []float32, dim int, ids []uint32, out []float32)

//go:noescape
func l2SquaredAVX512(a, b []float32) float32

//go:noescape
func dotAVX512(a, b []float32) float32

//go:noescape
func l2SquaredBatchAVX512(q, rows []float32, dim int, out []float32)

//go:noescape
func dotBatchAVX512(q, rows []float32, dim int, out []float32)

var avx2Kernels = kernelSet{
	level:         "avx2",
	l2:            l2SquaredAVX2,
	dot:           dotAVX2,
	l2Batch:       l2SquaredBatchAVX2,
	dotBatch:      dotBatchAVX2,
	l2Gather:      l2SquaredGatherAVX2,
	dotGather:     dotGatherAVX2,
	l2Uint8:       l2SquaredUint8AVX2,
	dotInt8:       dotInt8AVX2,
	dotFloatUint8: dotFloatUint8BatchAVX2,
	sum:           sumAVX2,
}

// The AVX-512 set widens the float32 kernels, where the work is; the integer
// and quantised kernels are memory-bound at the sizes used and keep AVX2.
var avx512Kernels = kernelSet{
	level:         "avx512",
	l2:            l2SquaredAVX512,
	dot:           dotAVX512,
	l2Batch:       l2SquaredBatchAVX512,
	dotBatch:      dotBatchAVX512,
	l2Gather:      l2SquaredGatherAVX512,
	dotGather:     dotGatherAVX512,
	l2Uint8:       l2SquaredUint8AVX2,
	dotInt8:       dotInt8AVX2,
	dotFloatUint8: dotFloatUint8BatchAVX2,
	sum:           sumAVX2,
}
