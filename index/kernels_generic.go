package index

// The reference kernels. Every architecture-specific kernel is tested against
// these. They are also what runs under the noasm build tag and on
// architectures without assembly.

func l2SquaredGeneric(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < n; i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return s0 + s1 + s2 + s3
}

func dotGeneric(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a)
	b = b[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func l2SquaredBatchGeneric(q, rows []float32, dim int, out []float32) {
	q = q[:dim]
	for i := range out {
		out[i] = l2SquaredGeneric(q, rows[i*dim:(i+1)*dim])
	}
}

func dotBatchGeneric(q, rows []float32, dim int, out []float32) {
	q = q[:dim]
	for i := range out {
		out[i] = dotGeneric(q, rows[i*dim:(i+1)*dim])
	}
}

// l2SquaredGatherGeneric scores q against the rows ids of vectors (rows of
// dim floats): out[i] for ids[i], i < len(ids). The assembly versions
// prefetch the next row while scoring the current one.
func l2SquaredGatherGeneric(q, vectors []float32, dim int, ids []uint32, out []float32) {
	q = q[:dim]
	out = out[:len(ids)]
	for i, r := range ids {
		out[i] = l2SquaredGeneric(q, vectors[int(r)*dim:int(r+1)*dim])
	}
}

func dotGatherGeneric(q, vectors []float32, dim int, ids []uint32, out []float32) {
	q = q[:dim]
	out = out[:len(ids)]
	for i, r := range ids {
		out[i] = dotGeneric(q, vectors[int(r)*dim:int(r+1)*dim])
	}
}

func l2SquaredUint8Generic(a, b []uint8) uint32 {
	b = b[:len(a)]
	var s uint32
	for i := range a {
		d := int32(a[i]) - int32(b[i])
		s += uint32(d * d)
	}
	return s
}

func dotInt8Generic(a, b []int8) int32 {
	b = b[:len(a)]
	var s int32
	for i := range a {
		s += int32(a[i]) * int32(b[i])
	}
	return s
}

func dotFloatUint8BatchGeneric(q []float32, codes []uint8, dim int, out []float32) {
	q = q[:dim]
	for i := range out {
		c := codes[i*dim : (i+1)*dim]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= dim; j += 4 {
			s0 += q[j] * float32(c[j])
			s1 += q[j+1] * float32(c[j+1])
			s2 += q[j+2] * float32(c[j+2])
			s3 += q[j+3] * float32(c[j+3])
		}
		for ; j < dim; j++ {
			s0 += q[j] * float32(c[j])
		}
		out[i] = s0 + s1 + s2 + s3
	}
}

// sumGeneric adds up p. It exists as the reference for the memory-bandwidth
// baseline benchmark.
func sumGeneric(p []float32) float32 {
	var s float32
	for _, v := range p {
		s += v
	}
	return s
}

// kernelSet is one complete set of kernels of one instruction-set level.
type kernelSet struct {
	level         string
	l2            func(a, b []float32) float32
	dot           func(a, b []float32) float32
	l2Batch       func(q, rows []float32, dim int, out []float32)
	dotBatch      func(q, rows []float32, dim int, out []float32)
	l2Gather      func(q, vectors []float32, dim int, ids []uint32, out []float32)
	dotGather     func(q, vectors []float32, dim int, ids []uint32, out []float32)
	l2Uint8       func(a, b []uint8) uint32
	dotInt8       func(a, b []int8) int32
	dotFloatUint8 func(q []float32, codes []uint8, dim int, out []float32)
	sum           func(p []float32) float32
}

var genericKernels = kernelSet{
	level:         "generic",
	l2:            l2SquaredGeneric,
	dot:           dotGeneric,
	l2Batch:       l2SquaredBatchGeneric,
	dotBatch:      dotBatchGeneric,
	l2Gather:      l2SquaredGatherGeneric,
	dotGather:     dotGatherGeneric,
	l2Uint8:       l2SquaredUint8Generic,
	dotInt8:       dotInt8Generic,
	dotFloatUint8: dotFloatUint8BatchGeneric,
	sum:           sumGeneric,
}

// Kernel function variables; init() in kernels_select_amd64.go or
// kernels_select_arm64.go may replace
// them with architecture-specific versions. They are written only there, so
// reading them needs no synchronisation. Callers inside the package that
// have already checked lengths call them directly.
var (
	l2SquaredImpl      = l2SquaredGeneric
	dotImpl            = dotGeneric
	l2SquaredBatchImpl = l2SquaredBatchGeneric
	dotBatchImpl       = dotBatchGeneric
	l2GatherImpl       = l2SquaredGatherGeneric
	dotGatherImpl      = dotGatherGeneric
	l2SquaredUint8Impl = l2SquaredUint8Generic
	dotInt8Impl        = dotInt8Generic
	dotFloatUint8Impl  = dotFloatUint8BatchGeneric
	sumImpl            = sumGeneric
	kernelLevel        = "generic"
)

func useKernels(k kernelSet) {
	l2SquaredImpl = k.l2
	dotImpl = k.dot
	l2SquaredBatchImpl = k.l2Batch
	dotBatchImpl = k.dotBatch
	l2GatherImpl = k.l2Gather
	dotGatherImpl = k.dotGather
	l2SquaredUint8Impl = k.l2Uint8
	dotInt8Impl = k.dotInt8
	dotFloatUint8Impl = k.dotFloatUint8
	sumImpl = k.sum
	kernelLevel = k.level
}

// L2Squared returns the squared Euclidean distance of a and b. It panics if
// len(b) < len(a); elements of b past len(a) are ignored.
func L2Squared(a, b []float32) float32 {
	checkPair(len(a), len(b))
	return l2SquaredImpl(a, b[:len(a)])
}

// Dot returns the inner product of a and b. It panics if len(b) < len(a);
// elements of b past len(a) are ignored.
func Dot(a, b []float32) float32 {
	checkPair(len(a), len(b))
	return dotImpl(a, b[:len(a)])
}

// L2SquaredBatch scores one query against many rows: out[i] is the squared
// L2 distance of q[:dim] and rows[i*dim:(i+1)*dim] for every i < len(out).
// It panics if len(q) < dim or len(rows) < len(out)*dim.
func L2SquaredBatch(q, rows []float32, dim int, out []float32) {
	checkBatch(len(q), len(rows), dim, len(out))
	l2SquaredBatchImpl(q, rows, dim, out)
}

// DotBatch is L2SquaredBatch for the inner product.
func DotBatch(q, rows []float32, dim int, out []float32) {
	checkBatch(len(q), len(rows), dim, len(out))
	dotBatchImpl(q, rows, dim, out)
}

// L2SquaredUint8 returns the squared L2 distance of two uint8 code vectors.
// The result is exact for len(a) <= 66051 (it cannot overflow uint32 below
// that). It panics if len(b) < len(a).
func L2SquaredUint8(a, b []uint8) uint32 {
	checkPair(len(a), len(b))
	return l2SquaredUint8Impl(a, b[:len(a)])
}

// DotInt8 returns the inner product of two int8 code vectors, exact for
// len(a) <= 131071. It panics if len(b) < len(a).
func DotInt8(a, b []int8) int32 {
	checkPair(len(a), len(b))
	return dotInt8Impl(a, b[:len(a)])
}

// DotFloatUint8Batch scores a float query against uint8 codes: out[i] is
// the sum over j < dim of q[j]*float32(codes[i*dim+j]). Scalar quantisation
// reduces both of its distances to this one kernel (see sq8.go). It panics
// if len(q) < dim or len(codes) < len(out)*dim.
func DotFloatUint8Batch(q []float32, codes []uint8, dim int, out []float32) {
	checkBatch(len(q), len(codes), dim, len(out))
	dotFloatUint8Impl(q, codes, dim, out)
}

// checkPair guards the assembly, which trusts lengths: reslicing b[:len(a)]
// alone would accept a short b with spare capacity.
func checkPair(na, nb int) {
	if nb < na {
		panic("index: kernel: second vector shorter than the first")
	}
}

func checkBatch(nq, nrows, dim, nout int) {
	if dim < 0 || nq < dim || nrows < nout*dim {
		panic("index: batch kernel: slice shorter than dim or len(out)*dim")
	}
}

// KernelLevel names the kernel set chosen at start-up: "generic", "avx2" or
// "avx512".
func KernelLevel() string { return kernelLevel }
