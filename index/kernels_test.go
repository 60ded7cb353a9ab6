package index

import (
	"math"
	"math/rand"
	"testing"
)

var kernelLengths = []int{0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 768, 1536}

// kernelUnderTest returns the named kernel set, skipping the test where this
// CPU (or build) cannot run it.
func kernelUnderTest(t *testing.T, level string) kernelSet {
	t.Helper()
	for _, k := range supportedKernels() {
		if k.level == level {
			return k
		}
	}
	t.Skipf("kernel level %s not supported on this CPU/build", level)
	return kernelSet{}
}

var simdLevels = []string{"avx2", "avx512", "neon"}

func randFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

// smallInts returns floats holding small integers, so that every sum of
// products is exact in float32 and kernels must agree bit for bit whatever
// their summation order.
func smallInts(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Intn(17) - 8)
	}
	return v
}

func exactL2(a, b []float32) (sum, abs float64) {
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	return sum, sum
}

func exactDot(a, b []float32) (sum, abs float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		sum += p
		abs += math.Abs(p)
	}
	return sum, abs
}

func near(got float32, want, abs float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*abs+1e-6
}

func TestFloatKernelsMatchReference(t *testing.T) {
	for _, level := range append([]string{"generic"}, simdLevels...) {
		t.Run(level, func(t *testing.T) {
			k := kernelUnderTest(t, level)
			rng := rand.New(rand.NewSource(7))
			for _, n := range kernelLengths {
				for off := 0; off < 4; off++ { // unaligned starts
					a := randFloats(rng, n+off)[off:]
					b := randFloats(rng, n+off+3)[off+3:]
					if want, abs := exactL2(a, b); !near(k.l2(a, b), want, abs) {
						t.Fatalf("l2 n=%d off=%d: got %v want %v", n, off, k.l2(a, b), want)
					}
					if want, abs := exactDot(a, b); !near(k.dot(a, b), want, abs) {
						t.Fatalf("dot n=%d off=%d: got %v want %v", n, off, k.dot(a, b), want)
					}
					ai, bi := smallInts(rng, n+off)[off:], smallInts(rng, n)
					if got, want := k.l2(ai, bi), l2SquaredGeneric(ai, bi); got != want {
						t.Fatalf("l2 exact n=%d off=%d: got %v want %v", n, off, got, want)
					}
					if got, want := k.dot(ai, bi), dotGeneric(ai, bi); got != want {
						t.Fatalf("dot exact n=%d off=%d: got %v want %v", n, off, got, want)
					}
				}
			}
		})
	}
}

func TestBatchKernelsMatchReference(t *testing.T) {
	for _, level := range append([]string{"generic"}, simdLevels...) {
		t.Run(level, func(t *testing.T) {
			k := kernelUnderTest(t, level)
			rng := rand.New(rand.NewSource(8))
			for _, dim := range kernelLengths {
				for _, rows := range []int{0, 1, 5} {
					off := rng.Intn(4)
					q := smallInts(rng, dim+off)[off:]
					data := smallInts(rng, rows*dim+1)[1:]
					// One extra output slot that must stay untouched.
					out := make([]float32, rows+1)
					out[rows] = 42
					k.l2Batch(q, data, dim, out[:rows])
					for i := 0; i < rows; i++ {
						if want := l2SquaredGeneric(q, data[i*dim:(i+1)*dim]); out[i] != want {
							t.Fatalf("l2Batch dim=%d row %d: got %v want %v", dim, i, out[i], want)
						}
					}
					k.dotBatch(q, data, dim, out[:rows])
					for i := 0; i < rows; i++ {
						if want := dotGeneric(q, data[i*dim:(i+1)*dim]); out[i] != want {
							t.Fatalf("dotBatch dim=%d row %d: got %v want %v", dim, i, out[i], want)
						}
					}
					if out[rows] != 42 {
						t.Fatalf("batch dim=%d rows=%d wrote past len(out)", dim, rows)
					}
					codes := make([]uint8, rows*dim+off)[off:]
					for i := range codes {
						codes[i] = uint8(rng.Intn(256))
					}
					k.dotFloatUint8(q, codes, dim, out[:rows])
					for i := 0; i < rows; i++ {
						var want float32
						for j := 0; j < dim; j++ {
							want += q[j] * float32(codes[i*dim+j])
						}
						if out[i] != want {
							t.Fatalf("dotFloatUint8 dim=%d row %d: got %v want %v", dim, i, out[i], want)
						}
					}
					if out[rows] != 42 {
						t.Fatalf("dotFloatUint8 dim=%d rows=%d wrote past len(out)", dim, rows)
					}
				}
			}
		})
	}
}

func TestIntegerKernelsMatchReference(t *testing.T) {
	for _, level := range append([]string{"generic"}, simdLevels...) {
		t.Run(level, func(t *testing.T) {
			k := kernelUnderTest(t, level)
			rng := rand.New(rand.NewSource(9))
			for _, n := range kernelLengths {
				for off := 0; off < 3; off++ {
					a := make([]uint8, n+off)[off:]
					b := make([]uint8, n)
					sa := make([]int8, n+off)[off:]
					sb := make([]int8, n)
					for i := 0; i < n; i++ {
						a[i], b[i] = uint8(rng.Intn(256)), uint8(rng.Intn(256))
						sa[i], sb[i] = int8(rng.Intn(256)-128), int8(rng.Intn(256)-128)
						if i%5 == 0 { // extremes exercise the 16-bit intermediate range
							a[i], b[i], sa[i], sb[i] = 0, 255, -128, -128
						}
					}
					var wantL2 uint32
					var wantDot int32
					for i := 0; i < n; i++ {
						d := int32(a[i]) - int32(b[i])
						wantL2 += uint32(d * d)
						wantDot += int32(sa[i]) * int32(sb[i])
					}
					if got := k.l2Uint8(a, b); got != wantL2 {
						t.Fatalf("l2Uint8 n=%d off=%d: got %d want %d", n, off, got, wantL2)
					}
					if got := k.dotInt8(sa, sb); got != wantDot {
						t.Fatalf("dotInt8 n=%d off=%d: got %d want %d", n, off, got, wantDot)
					}
				}
			}
		})
	}
}

func TestSumKernel(t *testing.T) {
	for _, level := range append([]string{"generic"}, simdLevels...) {
		t.Run(level, func(t *testing.T) {
			k := kernelUnderTest(t, level)
			rng := rand.New(rand.NewSource(10))
			for _, n := range kernelLengths {
				p := smallInts(rng, n)
				var want float32
				for _, v := range p {
					want += v
				}
				if got := k.sum(p); got != want {
					t.Fatalf("sum n=%d: got %v want %v", n, got, want)
				}
			}
		})
	}
}

func TestSelectedKernelIsBestSupported(t *testing.T) {
	ks := supportedKernels()
	if ks[0].level != "generic" {
		t.Fatalf("first supported kernel set is %q, want generic", ks[0].level)
	}
	if got, want := KernelLevel(), ks[len(ks)-1].level; got != want {
		t.Fatalf("KernelLevel() = %q, want best supported %q", got, want)
	}
}

func TestExportedKernelsCheckLengths(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Fatalf("%s: no panic on short slice", name)
			}
		}()
		f()
	}
	a := make([]float32, 8)
	mustPanic("L2Squared", func() { L2Squared(a, a[:7]) })
	mustPanic("Dot", func() { Dot(a, a[:7]) })
	mustPanic("L2SquaredBatch rows", func() { L2SquaredBatch(a[:4], a[:7], 4, make([]float32, 2)) })
	mustPanic("DotBatch q", func() { DotBatch(a[:3], a, 4, make([]float32, 2)) })
	mustPanic("DotFloatUint8Batch", func() { DotFloatUint8Batch(a[:4], make([]uint8, 7), 4, make([]float32, 2)) })
	mustPanic("L2SquaredUint8", func() { L2SquaredUint8(make([]uint8, 3), make([]uint8, 2)) })
	mustPanic("DotInt8", func() { DotInt8(make([]int8, 3), make([]int8, 2)) })

	if got := L2Squared([]float32{1, 2, 3}, []float32{1, 2, 5, 100}); got != 4 {
		t.Fatalf("L2Squared with longer b = %v, want 4", got)
	}
	out := make([]float32, 2)
	L2SquaredBatch([]float32{1, 1}, []float32{1, 1, 2, 3}, 2, out)
	if out[0] != 0 || out[1] != 5 {
		t.Fatalf("L2SquaredBatch = %v, want [0 5]", out)
	}
}

func TestGatherKernelsMatchReference(t *testing.T) {
	for _, level := range append([]string{"generic"}, simdLevels...) {
		t.Run(level, func(t *testing.T) {
			k := kernelUnderTest(t, level)
			rng := rand.New(rand.NewSource(11))
			for _, dim := range kernelLengths[1:] {
				const rows = 40
				q := smallInts(rng, dim)
				data := smallInts(rng, rows*dim+2)[2:] // unaligned rows
				for _, nids := range []int{0, 1, 2, 33} {
					ids := make([]uint32, nids)
					for i := range ids {
						ids[i] = uint32(rng.Intn(rows))
					}
					if nids > 1 {
						ids[nids-1] = rows - 1 // the last row, and a prefetch before it
					}
					out := make([]float32, nids+1)
					out[nids] = 42
					k.l2Gather(q, data, dim, ids, out[:nids])
					for i, r := range ids {
						if want := l2SquaredGeneric(q, data[int(r)*dim:int(r+1)*dim]); out[i] != want {
							t.Fatalf("l2Gather dim=%d id %d: got %v want %v", dim, r, out[i], want)
						}
					}
					k.dotGather(q, data, dim, ids, out[:nids])
					for i, r := range ids {
						if want := dotGeneric(q, data[int(r)*dim:int(r+1)*dim]); out[i] != want {
							t.Fatalf("dotGather dim=%d id %d: got %v want %v", dim, r, out[i], want)
						}
					}
					if out[nids] != 42 {
						t.Fatalf("gather dim=%d wrote past len(ids)", dim)
					}
				}
			}
		})
	}
}
