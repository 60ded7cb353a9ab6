//go:build amd64 && !noasm

#include "textflag.h"

// AVX2+FMA kernels. Conventions shared by the macros below: SI walks the
// first operand (the query in batch forms), DI walks the second (the rows,
// which are contiguous, so DI runs straight from one row into the next), CX
// counts the elements left in the current vector. Each macro leaves its
// float result in the low lane of X0 and clobbers Y0-Y7. Four independent
// accumulators hide the FMA latency; the remainder runs 8 lanes, then one
// element at a time.

// HSUM_Y0 adds the eight lanes of Y0 into the low lane of X0.
#define HSUM_Y0 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1;     \
	VADDSS       X1, X0, X0

#define L2_AVX2 \
	VXORPS      Y0, Y0, Y0;     \
	VXORPS      Y1, Y1, Y1;     \
	VXORPS      Y2, Y2, Y2;     \
	VXORPS      Y3, Y3, Y3;     \
	CMPQ        CX, $32;        \
	JL          l2x8;           \
l2x32:;                         \
	VMOVUPS     (SI), Y4;       \
	VMOVUPS     32(SI), Y5;     \
	VMOVUPS     64(SI), Y6;     \
	VMOVUPS     96(SI), Y7;     \
	VSUBPS      (DI), Y4, Y4;   \
	VSUBPS      32(DI), Y5, Y5; \
	VSUBPS      64(DI), Y6, Y6; \
	VSUBPS      96(DI), Y7, Y7; \
	VFMADD231PS Y4, Y4, Y0;     \
	VFMADD231PS Y5, Y5, Y1;     \
	VFMADD231PS Y6, Y6, Y2;     \
	VFMADD231PS Y7, Y7, Y3;     \
	ADDQ        $128, SI;       \
	ADDQ        $128, DI;       \
	SUBQ        $32, CX;        \
	CMPQ        CX, $32;        \
	JGE         l2x32;          \
l2x8:;                          \
	CMPQ        CX, $8;         \
	JL          l2red;          \
	VMOVUPS     (SI), Y4;       \
	VSUBPS      (DI), Y4, Y4;   \
	VFMADD231PS Y4, Y4, Y0;     \
	ADDQ        $32, SI;        \
	ADDQ        $32, DI;        \
	SUBQ        $8, CX;         \
	JMP         l2x8;           \
l2red:;                         \
	VADDPS      Y1, Y0, Y0;     \
	VADDPS      Y3, Y2, Y2;     \
	VADDPS      Y2, Y0, Y0;     \
	HSUM_Y0;                    \
	TESTQ       CX, CX;         \
	JE          l2done;         \
l2x1:;                          \
	VMOVSS      (SI), X1;       \
	VSUBSS      (DI), X1, X1;   \
	VFMADD231SS X1, X1, X0;     \
	ADDQ        $4, SI;         \
	ADDQ        $4, DI;         \
	DECQ        CX;             \
	JNE         l2x1;           \
l2done:

#define DOT_AVX2 \
	VXORPS      Y0, Y0, Y0;       \
	VXORPS      Y1, Y1, Y1;       \
	VXORPS      Y2, Y2, Y2;       \
	VXORPS      Y3, Y3, Y3;       \
	CMPQ        CX, $32;          \
	JL          dotx8;            \
dotx32:;                          \
	VMOVUPS     (SI), Y4;         \
	VMOVUPS     32(SI), Y5;       \
	VMOVUPS     64(SI), Y6;       \
	VMOVUPS     96(SI), Y7;       \
	VFMADD231PS (DI), Y4, Y0;     \
	VFMADD231PS 32(DI), Y5, Y1;   \
	VFMADD231PS 64(DI), Y6, Y2;   \
	VFMADD231PS 96(DI), Y7, Y3;   \
	ADDQ        $128, SI;         \
	ADDQ        $128, DI;         \
	SUBQ        $32, CX;          \
	CMPQ        CX, $32;          \
	JGE         dotx32;           \
dotx8:;                           \
	CMPQ        CX, $8;           \
	JL          dotred;           \
	VMOVUPS     (SI), Y4;         \
	VFMADD231PS (DI), Y4, Y0;     \
	ADDQ        $32, SI;          \
	ADDQ        $32, DI;          \
	SUBQ        $8, CX;           \
	JMP         dotx8;            \
dotred:;                          \
	VADDPS      Y1, Y0, Y0;       \
	VADDPS      Y3, Y2, Y2;       \
	VADDPS      Y2, Y0, Y0;       \
	HSUM_Y0;                      \
	TESTQ       CX, CX;           \
	JE          dotdone;          \
dotx1:;                           \
	VMOVSS      (SI), X1;         \
	VFMADD231SS (DI), X1, X0;     \
	ADDQ        $4, SI;           \
	ADDQ        $4, DI;           \
	DECQ        CX;               \
	JNE         dotx1;            \
dotdone:

// DOTU8_AVX2 is DOT_AVX2 with DI walking uint8 codes that are widened to
// int32 and converted to float32 before the multiply.
#define DOTU8_AVX2 \
	VXORPS      Y0, Y0, Y0;       \
	VXORPS      Y1, Y1, Y1;       \
	VXORPS      Y2, Y2, Y2;       \
	VXORPS      Y3, Y3, Y3;       \
	CMPQ        CX, $32;          \
	JL          u8x8;             \
u8x32:;                           \
	VPMOVZXBD   (DI), Y4;         \
	VPMOVZXBD   8(DI), Y5;        \
	VPMOVZXBD   16(DI), Y6;       \
	VPMOVZXBD   24(DI), Y7;       \
	VCVTDQ2PS   Y4, Y4;           \
	VCVTDQ2PS   Y5, Y5;           \
	VCVTDQ2PS   Y6, Y6;           \
	VCVTDQ2PS   Y7, Y7;           \
	VFMADD231PS (SI), Y4, Y0;     \
	VFMADD231PS 32(SI), Y5, Y1;   \
	VFMADD231PS 64(SI), Y6, Y2;   \
	VFMADD231PS 96(SI), Y7, Y3;   \
	ADDQ        $128, SI;         \
	ADDQ        $32, DI;          \
	SUBQ        $32, CX;          \
	CMPQ        CX, $32;          \
	JGE         u8x32;            \
u8x8:;                            \
	CMPQ        CX, $8;           \
	JL          u8red;            \
	VPMOVZXBD   (DI), Y4;         \
	VCVTDQ2PS   Y4, Y4;           \
	VFMADD231PS (SI), Y4, Y0;     \
	ADDQ        $32, SI;          \
	ADDQ        $8, DI;           \
	SUBQ        $8, CX;           \
	JMP         u8x8;             \
u8red:;                           \
	VADDPS      Y1, Y0, Y0;       \
	VADDPS      Y3, Y2, Y2;       \
	VADDPS      Y2, Y0, Y0;       \
	HSUM_Y0;                      \
	TESTQ       CX, CX;           \
	JE          u8done;           \
u8x1:;                            \
	MOVBLZX     (DI), AX;         \
	VCVTSI2SSL  AX, X1, X1;       \
	VFMADD231SS (SI), X1, X0;     \
	ADDQ        $4, SI;           \
	INCQ        DI;               \
	DECQ        CX;               \
	JNE         u8x1;             \
u8done:

// func l2SquaredAVX2(a, b []float32) float32
TEXT ·l2SquaredAVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	L2_AVX2
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func dotAVX2(a, b []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	DOT_AVX2
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func l2SquaredBatchAVX2(q, rows []float32, dim int, out []float32)
TEXT ·l2SquaredBatchAVX2(SB), NOSPLIT, $0-80
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
	L2_AVX2
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// func dotBatchAVX2(q, rows []float32, dim int, out []float32)
TEXT ·dotBatchAVX2(SB), NOSPLIT, $0-80
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
	DOT_AVX2
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// func dotFloatUint8BatchAVX2(q []float32, codes []uint8, dim int, out []float32)
TEXT ·dotFloatUint8BatchAVX2(SB), NOSPLIT, $0-80
	MOVQ  q_base+0(FP), R8
	MOVQ  codes_base+24(FP), DI
	MOVQ  dim+48(FP), R9
	MOVQ  out_base+56(FP), R10
	MOVQ  out_len+64(FP), R11
	TESTQ R11, R11
	JE    done

row:
	MOVQ   R8, SI
	MOVQ   R9, CX
	DOTU8_AVX2
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// HSUMD_Y0 adds the eight int32 lanes of Y0 into AX.
#define HSUMD_Y0 \
	VEXTRACTI128 $1, Y0, X1;    \
	VPADDD       X1, X0, X0;    \
	VPSHUFD      $0x4e, X0, X1; \
	VPADDD       X1, X0, X0;    \
	VPSHUFD      $0xb1, X0, X1; \
	VPADDD       X1, X0, X0;    \
	VMOVD        X0, AX

// func l2SquaredUint8AVX2(a, b []uint8) uint32
// Bytes are widened to 16 bits, subtracted, and VPMADDWD squares and adds
// pairs into int32 lanes (at most 2*255*255 per pair, no overflow).
TEXT ·l2SquaredUint8AVX2(SB), NOSPLIT, $0-52
	MOVQ  a_base+0(FP), SI
	MOVQ  a_len+8(FP), CX
	MOVQ  b_base+24(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	CMPQ  CX, $32
	JL    x16

x32:
	VPMOVZXBW (SI), Y2
	VPMOVZXBW 16(SI), Y3
	VPMOVZXBW (DI), Y4
	VPMOVZXBW 16(DI), Y5
	VPSUBW    Y4, Y2, Y2
	VPSUBW    Y5, Y3, Y3
	VPMADDWD  Y2, Y2, Y2
	VPMADDWD  Y3, Y3, Y3
	VPADDD    Y2, Y0, Y0
	VPADDD    Y3, Y1, Y1
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $32, CX
	CMPQ      CX, $32
	JGE       x32

x16:
	CMPQ      CX, $16
	JL        red
	VPMOVZXBW (SI), Y2
	VPMOVZXBW (DI), Y4
	VPSUBW    Y4, Y2, Y2
	VPMADDWD  Y2, Y2, Y2
	VPADDD    Y2, Y0, Y0
	ADDQ      $16, SI
	ADDQ      $16, DI
	SUBQ      $16, CX

red:
	VPADDD Y1, Y0, Y0
	HSUMD_Y0
	TESTQ  CX, CX
	JE     done

x1:
	MOVBLZX (SI), DX
	MOVBLZX (DI), BX
	SUBL    BX, DX
	IMULL   DX, DX
	ADDL    DX, AX
	INCQ    SI
	INCQ    DI
	DECQ    CX
	JNE     x1

done:
	MOVL AX, ret+48(FP)
	VZEROUPPER
	RET

// func dotInt8AVX2(a, b []int8) int32
TEXT ·dotInt8AVX2(SB), NOSPLIT, $0-52
	MOVQ  a_base+0(FP), SI
	MOVQ  a_len+8(FP), CX
	MOVQ  b_base+24(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	CMPQ  CX, $32
	JL    x16

x32:
	VPMOVSXBW (SI), Y2
	VPMOVSXBW 16(SI), Y3
	VPMOVSXBW (DI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMADDWD  Y4, Y2, Y2
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y2, Y0, Y0
	VPADDD    Y3, Y1, Y1
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $32, CX
	CMPQ      CX, $32
	JGE       x32

x16:
	CMPQ      CX, $16
	JL        red
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y4
	VPMADDWD  Y4, Y2, Y2
	VPADDD    Y2, Y0, Y0
	ADDQ      $16, SI
	ADDQ      $16, DI
	SUBQ      $16, CX

red:
	VPADDD Y1, Y0, Y0
	HSUMD_Y0
	TESTQ  CX, CX
	JE     done

x1:
	MOVBLSX (SI), DX
	MOVBLSX (DI), BX
	IMULL   BX, DX
	ADDL    DX, AX
	INCQ    SI
	INCQ    DI
	DECQ    CX
	JNE     x1

done:
	MOVL AX, ret+48(FP)
	VZEROUPPER
	RET

// func sumAVX2(p []float32) float32
// The memory-bandwidth baseline: a pure streaming read with the same load
// width and unrolling as the distance kernels.
TEXT ·sumAVX2(SB), NOSPLIT, $0-28
	MOVQ   p_base+0(FP), SI
	MOVQ   p_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ   CX, $32
	JL     red

x32:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	CMPQ   CX, $32
	JGE    x32

red:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	TESTQ  CX, CX
	JE     done

x1:
	VADDSS (SI), X0, X0
	ADDQ   $4, SI
	DECQ   CX
	JNE    x1

done:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// GATHER_ROW points DI at row (R13) of the matrix at R12 (R14 bytes per
// row) after prefetching all of row 4(R13), the next one, if R11 > 1: the
// graph search visits rows in no order the hardware prefetcher can guess.
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

// func l2SquaredGatherAVX2(q, vectors []float32, dim int, ids []uint32, out []float32)
TEXT ·l2SquaredGatherAVX2(SB), NOSPLIT, $0-104
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
	L2_AVX2
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   $4, R13
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET

// func dotGatherAVX2(q, vectors []float32, dim int, ids []uint32, out []float32)
TEXT ·dotGatherAVX2(SB), NOSPLIT, $0-104
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
	DOT_AVX2
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	ADDQ   $4, R13
	DECQ   R11
	JNE    row

done:
	VZEROUPPER
	RET
