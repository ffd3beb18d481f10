/* The small per-head products of the attention core (n x n scores times n x dh values and
   their gradients), without a BLAS call each: at the default model a step makes 12,000
   of them, and OpenBLAS's fixed cost per call (argument checks, packing both operands,
   zeroing C) took longer than the products (perf: attention was 31% of a step, 14% of
   its flops).

   The numbers are defined here, not by a BLAS kernel: every element of C is one chain of
   fused multiply-adds over the inner index in ascending order, started from 0, then
   stored as alpha * chain + 0. fmaf is correctly rounded everywhere, so these products
   give the same bits on every machine and with every BLAS (tests/test_smallmm.c checks
   the vectorized kernel against that definition bit for bit, and against cblas_sgemm to
   1e-5). Introducing them changed the numbers of a run from those of the cblas version
   (OpenBLAS's Haswell kernel sums some blocks in two interleaved chains); the pinned
   hashes were re-pinned then.

   Row-major, explicit strides; C must not overlap A or B; the inner dimension k >= 1. */
#ifndef SMALLMM_H
#define SMALLMM_H

/* C (m, n) = alpha * op(A) (m, k) B (k, n), where op(A)[r][t] = A[r * a_rs + t * a_cs]
   (a_rs = lda, a_cs = 1: A; a_rs = 1, a_cs = lda: A^T). B and C have leading dimensions
   ldb, ldc. */
void smallmm_nn(float *C, int ldc, const float *A, int a_rs, int a_cs, const float *B, int ldb,
                int m, int n, int k, float alpha);

/* smallmm_nn by the scalar code that CPUs without FMA run, whatever this CPU has (tests). */
void smallmm_nn_scalar(float *C, int ldc, const float *A, int a_rs, int a_cs, const float *B,
                       int ldb, int m, int n, int k, float alpha);

/* C (m, n) = alpha * A (m, k) B^T, with B stored (n, k). */
void smallmm_nt(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int m,
                int n, int k, float alpha);

#endif
