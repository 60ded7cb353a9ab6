// Package index owns vector distance kernels and the vector indexes built on
// them: FLAT (exact), HNSW, IVF_FLAT, IVF_SQ8 and IVF_PQ for sealed segments, their
// serialised form, and the Builder seam for a GPU builder.
//
// # Distances
//
// One convention everywhere in this package: smaller is closer. L2 is the
// squared Euclidean distance; IP and COSINE use the negated inner product
// (COSINE vectors are normalised at insert, so the inner product is the
// cosine similarity). Score converts a distance into the value users see.
//
// # Kernels
//
// The pure-Go kernels in kernels_generic.go are the reference; they are also
// what runs under the noasm build tag and on other architectures. On amd64
// the assembly in kernels_avx2_amd64.s (AVX2+FMA) and kernels_avx512_amd64.s
// (AVX-512F) implements squared L2 and inner product for float32, their
// one-query-against-many-rows batch forms (used by FlatSearch and IVF), and
// for scalar quantisation a uint8 squared L2, an int8 inner product and a
// float-query-against-uint8-codes batch product (IVF_SQ8's scan). On arm64
// kernels_neon_arm64.s (Advanced SIMD, which every ARMv8-A CPU has)
// implements squared L2 and inner product for float32, and the batch and
// gather forms loop over it; the integer kernels stay on the reference
// there. The kernel set is chosen once at start-up (on amd64 by
// klauspost/cpuid) in kernels_select_amd64.go or kernels_select_arm64.go —
// the only init() in the project, one per architecture — and KernelLevel
// reports it. make test-arm64 runs the package's tests under qemu-user.
//
// The assembly is hand-written rather than generated with avo. The kernels
// are a few short loops (4 accumulators, an 8- or 16-lane remainder, a scalar
// or masked tail) shared between the pair and batch forms through assembler
// macros; avo would add a generator module and a go:generate step for every
// engineer and CI, for code that is read more often than it changes and is
// easier to review as the instructions themselves. Each kernel is tested
// against the reference at odd and common lengths, on unaligned slices, and
// against a guard page after the last element (kernels_guard_linux_test.go),
// which is what would catch a tail that over-reads.
//
// # Indexes
//
// An Index is immutable and references the segment's float vectors instead
// of copying them. Deletes and MVCC visibility are applied through the Allow
// filter at search time, never by rebuilding. Builder builds indexes (the
// CPUBuilder here; a CUDA builder plugs in behind the cuda build tag, see
// builder_cuda.go). Encode and Decode give a versioned, checksummed blob tied
// to the vectors it was built on; a damaged blob is rejected with ErrCorrupt
// and the caller rebuilds.
//
// This package is a leaf: it imports nothing of raftvec.
package index
