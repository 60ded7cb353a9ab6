//go:build amd64 && !noasm

package index

import "github.com/klauspost/cpuid/v2"

// supportedKernels lists the kernel sets this CPU (and its OS, which must
// save the wide registers; cpuid checks XCR0) can run, best last.
func supportedKernels() []kernelSet {
	ks := []kernelSet{genericKernels}
	if !cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3) {
		return ks
	}
	ks = append(ks, avx2Kernels)
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL) {
		ks = append(ks, avx512Kernels)
	}
	return ks
}

// init selects the best kernel set for this CPU once, before any other code
// of the package runs. It is the only init() in the project (with its
// arm64 twin in kernels_select_arm64.go).
func init() {
	ks := supportedKernels()
	useKernels(ks[len(ks)-1])
}
