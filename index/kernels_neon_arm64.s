//go:build arm64 && !noasm

#include "textflag.h"

// NEON float32 kernels. Each handles the first n elements, n a multiple of
// 16, with four 4-lane accumulators, and stores the four accumulators
// added together (lane by lane) to acc; the Go wrappers in kernels_arm64.go
// add the lanes and the tail. Go's assembler has no vector FADD/FSUB, so a
// difference is a fused multiply-subtract by a vector of ones (exact: the
// product by 1 is exact and the subtraction rounds once), and accumulators
// are merged the same way with a multiply-add.

// func l2AccNEON(a, b *float32, n int, acc *[4]float32)
TEXT ·l2AccNEON(SB), NOSPLIT, $0-32
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	MOVD acc+24(FP), R3
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	FMOVS $1.0, F31
	VDUP V31.S[0], V31.S4

l2loop:
	CMP $16, R2
	BLT l2done
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V8.S4, V9.S4, V10.S4, V11.S4]
	VFMLS V8.S4, V31.S4, V4.S4
	VFMLS V9.S4, V31.S4, V5.S4
	VFMLS V10.S4, V31.S4, V6.S4
	VFMLS V11.S4, V31.S4, V7.S4
	VFMLA V4.S4, V4.S4, V0.S4
	VFMLA V5.S4, V5.S4, V1.S4
	VFMLA V6.S4, V6.S4, V2.S4
	VFMLA V7.S4, V7.S4, V3.S4
	SUB $16, R2
	B l2loop

l2done:
	VFMLA V1.S4, V31.S4, V0.S4
	VFMLA V2.S4, V31.S4, V0.S4
	VFMLA V3.S4, V31.S4, V0.S4
	VST1 [V0.S4], (R3)
	RET

// func dotAccNEON(a, b *float32, n int, acc *[4]float32)
TEXT ·dotAccNEON(SB), NOSPLIT, $0-32
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	MOVD acc+24(FP), R3
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	FMOVS $1.0, F31
	VDUP V31.S[0], V31.S4

dotloop:
	CMP $16, R2
	BLT dotdone
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V8.S4, V9.S4, V10.S4, V11.S4]
	VFMLA V4.S4, V8.S4, V0.S4
	VFMLA V5.S4, V9.S4, V1.S4
	VFMLA V6.S4, V10.S4, V2.S4
	VFMLA V7.S4, V11.S4, V3.S4
	SUB $16, R2
	B dotloop

dotdone:
	VFMLA V1.S4, V31.S4, V0.S4
	VFMLA V2.S4, V31.S4, V0.S4
	VFMLA V3.S4, V31.S4, V0.S4
	VST1 [V0.S4], (R3)
	RET
