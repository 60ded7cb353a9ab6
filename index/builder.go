package index

import (
	"context"
	"fmt"
	"math/rand"
	"runtime"
)

// Builder builds the index of a sealed segment.
//
// The shard's background index pool calls Build off the apply path, from a
// bounded number of worker goroutines at once; a Builder must be safe for
// concurrent use. Build reads vectors (n rows of dim floats, contiguous) and
// keeps a reference to it in the returned Index (see Index). It honours ctx:
// a cancelled build returns ctx.Err() promptly and no Index.
//
// Builds are deterministic when BuildOptions.Threads is 1: the same spec,
// seed and vectors give the same index, byte for byte once encoded. With
// more threads, HNSW graphs depend on scheduling (equally valid, differing
// in the approximate tail, as DESIGN.md §5 allows between replicas).
type Builder interface {
	// Name says which backend builds, for `raftvec status`: "cpu (avx2)",
	// "cpu (avx512)", "cpu (generic)", or a GPU builder's name.
	Name() string
	Build(ctx context.Context, spec Spec, vectors []float32, dim int) (Index, error)
}

// BuildOptions configure a Builder.
type BuildOptions struct {
	// Threads is how many goroutines one build uses; 0 means GOMAXPROCS.
	// 1 makes builds exactly reproducible.
	Threads int
	// Seed seeds the *rand.Rand of each build (HNSW levels, k-means++).
	Seed int64
}

// MaxBuildThreads bounds BuildOptions.Threads.
const MaxBuildThreads = 1024

// DefaultBuildOptions uses every core and seed 1.
func DefaultBuildOptions() BuildOptions { return BuildOptions{Threads: 0, Seed: 1} }

// Validate names the field out of range. The error wraps ErrInvalidSpec.
func (o BuildOptions) Validate() error {
	return inRange("threads", o.Threads, 0, MaxBuildThreads)
}

func (o BuildOptions) threads() int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// CPUBuilder builds every index type on the CPU with the kernels chosen at
// start-up.
type CPUBuilder struct {
	opts BuildOptions
}

// NewCPUBuilder validates opts and returns a CPU builder.
func NewCPUBuilder(opts BuildOptions) (*CPUBuilder, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &CPUBuilder{opts: opts}, nil
}

// Name reports "cpu (<kernel level>)".
func (b *CPUBuilder) Name() string { return "cpu (" + KernelLevel() + ")" }

// Build validates spec and input and builds the index. Errors wrap
// ErrInvalidSpec or ErrInvalidInput, or are ctx.Err().
func (b *CPUBuilder) Build(ctx context.Context, spec Spec, vectors []float32, dim int) (Index, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := checkVectors(vectors, dim); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewSource(b.opts.Seed))
	threads := b.opts.threads()
	switch spec.Type {
	case TypeFlat:
		spec.Params = Params{} // none apply; Spec() reports what was used
		return &flatIndex{spec: spec, dim: dim, vectors: vectors}, nil
	case TypeHNSW:
		h, err := BuildHNSW(ctx, spec.Metric, spec.Params, vectors, dim, rng, threads)
		if err != nil {
			return nil, err // not a typed nil inside Index
		}
		return h, nil
	case TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ:
		ix, err := BuildIVF(ctx, spec, vectors, dim, rng, threads)
		if err != nil {
			return nil, err
		}
		return ix, nil
	}
	return nil, fmt.Errorf("%w: type %v", ErrInvalidSpec, spec.Type)
}

func checkVectors(vectors []float32, dim int) error {
	if dim <= 0 || dim > maxDim {
		return fmt.Errorf("%w: dim (%d) must be between 1 and %d", ErrInvalidInput, dim, maxDim)
	}
	if len(vectors)%dim != 0 {
		return fmt.Errorf("%w: len(vectors) (%d) must be a multiple of dim (%d)", ErrInvalidInput, len(vectors), dim)
	}
	if n := len(vectors) / dim; n > MaxRows {
		return fmt.Errorf("%w: rows (%d) must be at most %d", ErrInvalidInput, n, MaxRows)
	}
	return nil
}

// NewBuilder returns the best builder this binary and machine offer: a GPU
// builder when the binary is built with the cuda tag and a device is
// present (see gpuBuilder), otherwise the CPU builder.
func NewBuilder(opts BuildOptions) (Builder, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if b, ok := gpuBuilder(opts); ok {
		return b, nil
	}
	return NewCPUBuilder(opts)
}
