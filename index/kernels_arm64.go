//go:build arm64 && !noasm

package index

// NEON float32 kernels (kernels_neon_arm64.s) for the hot paths: squared
// L2 and the dot product, one pair or a batch/gather of rows. Integer,
// quantised and sum kernels stay on the reference: they are not where the
// time goes. Lengths are checked by the callers, as for the amd64 sets.

//go:noescape
func l2AccNEON(a, b *float32, n int, acc *[4]float32)

//go:noescape
func dotAccNEON(a, b *float32, n int, acc *[4]float32)

func l2SquaredNEON(a, b []float32) float32 {
	n := len(a)
	m := n &^ 15
	var acc [4]float32
	if m > 0 {
		l2AccNEON(&a[0], &b[0], m, &acc)
	}
	s := (acc[0] + acc[1]) + (acc[2] + acc[3])
	for i := m; i < n; i++ {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

func dotNEON(a, b []float32) float32 {
	n := len(a)
	m := n &^ 15
	var acc [4]float32
	if m > 0 {
		dotAccNEON(&a[0], &b[0], m, &acc)
	}
	s := (acc[0] + acc[1]) + (acc[2] + acc[3])
	for i := m; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

func l2SquaredBatchNEON(q, rows []float32, dim int, out []float32) {
	for i := range out {
		out[i] = l2SquaredNEON(q[:dim], rows[i*dim:(i+1)*dim])
	}
}

func dotBatchNEON(q, rows []float32, dim int, out []float32) {
	for i := range out {
		out[i] = dotNEON(q[:dim], rows[i*dim:(i+1)*dim])
	}
}

func l2SquaredGatherNEON(q, vectors []float32, dim int, ids []uint32, out []float32) {
	for i, id := range ids {
		o := int(id) * dim
		out[i] = l2SquaredNEON(q[:dim], vectors[o:o+dim])
	}
}

func dotGatherNEON(q, vectors []float32, dim int, ids []uint32, out []float32) {
	for i, id := range ids {
		o := int(id) * dim
		out[i] = dotNEON(q[:dim], vectors[o:o+dim])
	}
}

var neonKernels = kernelSet{
	level:         "neon",
	l2:            l2SquaredNEON,
	dot:           dotNEON,
	l2Batch:       l2SquaredBatchNEON,
	dotBatch:      dotBatchNEON,
	l2Gather:      l2SquaredGatherNEON,
	dotGather:     dotGatherNEON,
	l2Uint8:       l2SquaredUint8Generic,
	dotInt8:       dotInt8Generic,
	dotFloatUint8: dotFloatUint8BatchGeneric,
	sum:           sumGeneric,
}
