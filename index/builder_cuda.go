//go:build cuda

package index

// gpuBuilder is the seam for a CUDA index builder, compiled only with
// `-tags cuda`. A real implementation lives beside this file (cgo against
// the CUDA runtime and, e.g., cuVS/CAGRA or a k-means kernel) and must:
//
//   - return (nil, false) when no device is present (cudaGetDeviceCount == 0
//     or the driver fails to load), so that NewBuilder falls back to the CPU
//     builder and `raftvec status` keeps saying "cpu (avx2)";
//   - otherwise return a Builder whose Name is "cuda (<device name>)";
//   - produce ordinary Index values of this package (e.g. build the HNSW
//     graph or IVF centroids on the device and hand the arrays to the same
//     types the CPU builder returns), so that Encode, Decode and Search need
//     no GPU; a replica without a device can load what another built;
//   - honour the Builder contract: safe for concurrent use, ctx cancels,
//     vectors are referenced not copied.
//
// Until that exists this tagged build reports no device.
func gpuBuilder(BuildOptions) (Builder, bool) { return nil, false }
