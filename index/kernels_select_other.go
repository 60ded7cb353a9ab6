//go:build (!amd64 && !arm64) || noasm

package index

// supportedKernels lists the kernel sets this build can run: only the
// reference, because of the noasm tag or an architecture without assembly.
func supportedKernels() []kernelSet { return []kernelSet{genericKernels} }
