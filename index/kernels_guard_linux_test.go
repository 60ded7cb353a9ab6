//go:build linux

package index

import (
	"syscall"
	"testing"
	"unsafe"
)

// guardedTail returns a slice of n elements of size elem whose last byte is
// the last byte before a PROT_NONE page: any read past the end faults.
func guardedTail(t *testing.T, bytes int) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	span := (bytes/page + 2) * page
	mem, err := syscall.Mmap(-1, 0, span, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[span-page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return mem[span-page-bytes : span-page]
}

// TestKernelsDoNotReadPastEnd runs every kernel on vectors that end right at
// an unmapped page, so a tail that over-reads crashes the test.
func TestKernelsDoNotReadPastEnd(t *testing.T) {
	for _, k := range supportedKernels() {
		t.Run(k.level, func(t *testing.T) {
			for _, n := range kernelLengths {
				if n == 0 {
					continue
				}
				fb := guardedTail(t, 4*n)
				f := unsafe.Slice((*float32)(unsafe.Pointer(&fb[0])), n)
				for i := range f {
					f[i] = float32(i % 5)
				}
				q := make([]float32, n)
				copy(q, f)
				if got := k.l2(q, f); got != 0 {
					t.Fatalf("l2(x, x) n=%d = %v", n, got)
				}
				_ = k.dot(q, f)
				_ = k.sum(f)
				out := make([]float32, 1)
				k.l2Batch(q, f, n, out)
				k.dotBatch(q, f, n, out)
				k.l2Gather(q, f, n, []uint32{0}, out)
				k.dotGather(q, f, n, []uint32{0}, out)
				u := guardedTail(t, n)
				k.dotFloatUint8(q, u, n, out)
				_ = k.l2Uint8(u, u)
				s := unsafe.Slice((*int8)(unsafe.Pointer(&u[0])), n)
				_ = k.dotInt8(s, s)
			}
		})
	}
}
