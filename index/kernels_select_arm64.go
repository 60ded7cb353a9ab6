//go:build arm64 && !noasm

package index

// supportedKernels lists the kernel sets this build can run, best last.
// Advanced SIMD (NEON) is part of every ARMv8-A CPU, so there is nothing
// to detect.
func supportedKernels() []kernelSet { return []kernelSet{genericKernels, neonKernels} }

// init selects the best kernel set once, before any other code of the
// package runs.
func init() {
	ks := supportedKernels()
	useKernels(ks[len(ks)-1])
}
