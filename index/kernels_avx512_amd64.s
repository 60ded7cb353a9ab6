//go:build amd64 && !noasm

#include "textflag.h"

// AVX-512 (F) kernels for float32. Same register conventions as the AVX2
// file: SI first operand, DI second (rows run on contiguously), CX elements
// left, result in the low lane of X0. Four 16-lane accumulators take 64
// elements per step; 16 at a time after that; the last <16 elements are one
// masked load (masked-off lanes are not read, so no fault past the slice).

#define HSUM_Z0_Z3 \
	VADDPS        Z1, Z0, Z0;   \
	VADDPS        Z3, Z2, Z2;   \
	VADDPS        Z2, Z0, Z0;   \
	VEXTRACTF64X4 $1, Z0, Y1;   \
	VADDPS        Y1, Y0, Y0;   \
	VEXTRACTF128  $1, Y0, X1;   \
	VADDPS        X1, X0, X0;   \
	VMOVHLPS      X0, X0, X1;   \
	VADDPS        X1, X0, X0;   \
	VMOVSHDUP     X0, X1;       \
	VADDSS        X1, X0, X0

// TAIL_MASK sets K1 to the low CX bits (CX < 16).
#define TAIL_MASK \
	MOVL  $1, AX;  \
	SHLL  CX, AX;  \
	DECL  AX;      \
	KMOVW AX, K1

#define L2_AVX512 \
	VPXORD      Z0, Z0, Z0;      \
	VPXORD      Z1, Z1, Z1;      \
	VPXORD      Z2, Z2, Z2;      \
	VPXORD      Z3, Z3, Z3;      \
	CMPQ        CX, $64;         \
	JL          l2x16;           \
l2x64:;                          \
	VMOVUPS     (SI), Z4;        \
	VMOVUPS     64(SI), Z5;      \
	VMOVUPS     128(SI), Z6;     \
	VMOVUPS     192(SI), Z7;     \
	VSUBPS      (DI), Z4, Z4;    \
	VSUBPS      64(DI), Z5, Z5;  \
	VSUBPS      128(DI), Z6, Z6; \
	VSUBPS      192(DI), Z7, Z7; \
	VFMADD231PS Z4, Z4, Z0;      \
	VFMADD231PS Z5, Z5, Z1;      \
	VFMADD231PS Z6, Z6, Z2;      \
	VFMADD231PS Z7, Z7, Z3;      \
	ADDQ        $256, SI;        \
	ADDQ        $256, DI;        \
	SUBQ        $64, CX;         \
	CMPQ        CX, $64;         \
	JGE         l2x64;           \
l2x16:;                          \
	CMPQ        CX, $16;         \
	JL          l2tail;          \
	VMOVUPS     (SI), Z4;        \
	VSUBPS      (DI), Z4, Z4;    \
	VFMADD231PS Z4, Z4, Z0;      \
	ADDQ        $64, SI;         \
	ADDQ        $64, DI;         \
	SUBQ        $16, CX;         \
	JMP         l2x16;           \
l2tail:;                         \
	TESTQ       CX, CX;          \
	JE          l2red;           \
	TAIL_MASK;                   \
	VMOVUPS.Z   (SI), K1, Z4;    \
	VMOVUPS.Z   (DI), K1, Z5;    \
	VSUBPS      Z5, Z4, Z4;      \
	VFMADD231PS Z4, Z4, Z1;      \
	LEAQ        (SI)(CX*4), SI;  \
	LEAQ        (DI)(CX*4), DI;  \
l2red:;                          \
	HSUM_Z0_Z3

#define DOT_AVX512 \
	VPXORD      Z0, Z0, Z0;        \
	VPXORD      Z1, Z1, Z1;        \
	VPXORD      Z2, Z2, Z2;        \
	VPXORD      Z3, Z3, Z3;        \
	CMPQ        CX, $64;           \
	JL          dotx16;            \
dotx64:;                           \
	VMOVUPS     (SI), Z4;          \
	VMOVUPS     64(SI), Z5;        \
	VMOVUPS     128(SI), Z6;       \
	VMOVUPS     192(SI), Z7;       \
	VFMADD231PS (DI), Z4, Z0;      \
	VFMADD231PS 64(DI), Z5, Z1;    \
	VFMADD231PS 128(DI), Z6, Z2;   \
	VFMADD231PS 192(DI), Z7, Z3;   \
	ADDQ        $256, SI;          \
	ADDQ        $256, DI;          \
	SUBQ        $64, CX;           \
	CMPQ        CX, $64;           \
	JGE         dotx64;            \
dotx16:;                           \
	CMPQ        CX, $16;           \
	JL          dottail;           \
	VMOVUPS     (SI), Z4;          \
	VFMADD231PS (DI), Z4, Z0;      \
	ADDQ        $64, SI;           \
	ADDQ        $64, DI;           \
	SUBQ        $16, CX;           \
	JMP         dotx16;            \
dottail:;                          \
	TESTQ       CX, CX;            \
	JE          dotred;            \
	TAIL_MASK;                     \
	VMOVUPS.Z   (SI), K1, Z4;      \
	VMOVUPS.Z   (DI), K1, Z5;      \
	VFMADD231PS Z5, Z4, Z1;        \
	LEAQ        (SI)(CX*4), SI;    \
	LEAQ        (DI)(CX*4), DI;    \
dotred:;                           \
	HSUM_Z0_Z3

// func l2SquaredAVX512(a, b []float32) float32
TEXT ·l2SquaredAVX512(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	L2_AVX512
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func dotAVX512(a, b []float32) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	DOT_AVX512
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func l2SquaredBatchAVX512(q, rows []float32, dim int, out []float32)
TEXT ·l2SquaredBatchAVX512(SB), NOSPLIT, $0-80
	MOVQ  q_base+0(FP), R8
	MOVQ  rows_base+24(FP), DI
	MOVQ  dim+48(FP), R9
	MOVQ  out_base+56(FP), R10
	MOVQ  out_len+64(FP), R11
	TESTQ R11, R11
	JE    done

row:
	MOVQ   R8, SI
	MOVQ   R9, CX
	L2_AVX512
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// func dotBatchAVX512(q, rows []float32, dim int, out []float32)
TEXT ·dotBatchAVX512(SB), NOSPLIT, $0-80
	MOVQ  q_base+0(FP), R8
	MOVQ  rows_base+24(FP), DI
	MOVQ  dim+48(FP), R9
	MOVQ  out_base+56(FP), R10
	MOVQ  out_len+64(FP), R11
	TESTQ R11, R11
	JE    done

row:
	MOVQ   R8, SI
	MOVQ   R9, CX
	DOT_AVX512
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// See GATHER_ROW in kernels_avx2_amd64.s.
#define GATHER_ROW \
	CMPQ       R11, $1;         \
	JE         gnopf;           \
	MOVL       4(R13), AX;      \
	IMULQ      R14, AX;         \
	LEAQ       (R12)(AX*1), DX; \
	MOVQ       R14, BX;         \
gpf:;                           \
	PREFETCHT0 (DX);            \
	ADDQ       $64, DX;         \
	SUBQ       $64, BX;         \
	JG         gpf;             \
gnopf:;                         \
	MOVL       (R13), AX;       \
	IMULQ      R14, AX;         \
	LEAQ       (R12)(AX*1), DI; \
	MOVQ       R8, SI;          \
	MOVQ       R9, CX

// func l2SquaredGatherAVX512(q, vectors []float32, dim int, ids []uint32, out []float32)
TEXT ·l2SquaredGatherAVX512(SB), NOSPLIT, $0-104
	MOVQ q_base+0(FP), R8
	MOVQ vectors_base+24(FP), R12
	MOVQ dim+48(FP), R9
	MOVQ ids_base+56(FP), R13
	MOVQ ids_len+64(FP), R11
	MOVQ out_base+80(FP), R10
	MOVQ R9, R14
	SHLQ $2, R14
	TESTQ R11, R11
	JE    done

row:
	GATHER_ROW
	L2_AVX512
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   $4, R13
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// func dotGatherAVX512(q, vectors []float32, dim int, ids []uint32, out []float32)
TEXT ·dotGatherAVX512(SB), NOSPLIT, $0-104
	MOVQ q_base+0(FP), R8
	MOVQ vectors_base+24(FP), R12
	MOVQ dim+48(FP), R9
	MOVQ ids_base+56(FP), R13
	MOVQ ids_len+64(FP), R11
	MOVQ out_base+80(FP), R10
	MOVQ R9, R14
	SHLQ $2, R14
	TESTQ R11, R11
	JE    done

row:
	GATHER_ROW
	DOT_AVX512
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   $4, R13
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET
