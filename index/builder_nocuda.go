//go:build !cuda

package index

// gpuBuilder is the seam for a GPU index builder. Without the cuda build tag
// there is none. builder_cuda.go says what a CUDA builder must do.
func gpuBuilder(BuildOptions) (Builder, bool) { return nil, false }
