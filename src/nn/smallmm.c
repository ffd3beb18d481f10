/* Small matrix products as FMA chains (see smallmm.h for the definition and why).
   The definition is chains_scalar; on CPUs with AVX2 + FMA (every x86-64 since Haswell
   and Zen) register-blocked kernels (6 x 16, and 8 x 8 for thin edges) compute the same
   chains eight at a time, edges included (masked columns, repeated rows). CPUs without
   FMA run chains_scalar with the C library's fmaf: slow, the same numbers. */
#include "smallmm.h"

#include <math.h>
#include <stddef.h>

#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86_KERNEL 1
#endif

/* One job: C (m, n) = op(A) (m, k) B (k, n), op(A)[r][t] = A[r * a_rs + t * a_cs].
   Each chain starts from 0, or from the value an earlier k-range left in C (accumulate);
   on the last k-range C is stored as alpha * chain + 0. */
typedef struct {
    float *C;
    const float *A, *B;
    int ldc, a_rs, a_cs, ldb;
    int m, n, k;
    int accumulate, last;
    float alpha;
} Chains;

/* The sub-job of rows r0.., columns j0.. of size m x n. */
static Chains sub_job(Chains c, int r0, int j0, int m, int n) {
    c.C += (size_t)r0 * c.ldc + j0;
    c.A += (size_t)r0 * c.a_rs;
    c.B += j0;
    c.m = m;
    c.n = n;
    return c;
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The definition, one element at a time. "+ 0" turns a chain of -0 into +0, as a BLAS
   kernel's store onto a zeroed C does. */
static void chains_scalar(Chains c) {
    for (int r = 0; r < c.m; r++)
        for (int j = 0; j < c.n; j++) {
            float *out = c.C + (size_t)r * c.ldc + j;
            float acc = c.accumulate ? *out : 0.0f;
            for (int t = 0; t < c.k; t++)
                acc = fmaf(c.A[(size_t)r * c.a_rs + (size_t)t * c.a_cs], c.B[(size_t)t * c.ldb + j], acc);
            *out = c.last ? c.alpha * acc + 0.0f : acc;
        }
}

#ifdef HAVE_X86_KERNEL
__attribute__((target("avx2,fma"))) ALWAYS_INLINE __m256 load_cols(const float *p, __m256i mask, int full) {
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/* A block of ROWS x 8*H of C (ROWS * H = 8 to 12 accumulators: enough independent chains
   to hide the FMA latency); each t loads 8*H values of B and broadcasts ROWS of A. Only the
   first `rows` rows and `cols` columns are C's: the other rows recompute the last real
   row and are not stored, the other columns are masked off (read as 0, never stored).
   full: all columns are C's (plain loads and stores: masked ones cost more). ROWS, H and
   full are constants in each copy, so the accumulators stay in registers. */
__attribute__((target("avx2,fma")))
ALWAYS_INLINE void block(Chains c, int ROWS, int H, int rows, int cols, int full) {
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask[2] = {_mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane),
                       _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane)};
    const float *a_row[8];   /* ROWS <= 8 */
    __m256 acc[8][2];
    /* every loop over i and h is unrolled, so that acc is registers, not memory */
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; i++) {
        a_row[i] = c.A + (size_t)(i < rows ? i : rows - 1) * c.a_rs;
#pragma GCC unroll 2
        for (int h = 0; h < H; h++)
            acc[i][h] = c.accumulate && i < rows ? load_cols(c.C + (size_t)i * c.ldc + 8 * h, mask[h], full)
                                                 : _mm256_setzero_ps();
    }
    for (int t = 0; t < c.k; t++) {
        const float *b = c.B + (size_t)t * c.ldb;
        __m256 bv[2];
#pragma GCC unroll 2
        for (int h = 0; h < H; h++) bv[h] = load_cols(b + 8 * h, mask[h], full);
#pragma GCC unroll 8
        for (int i = 0; i < ROWS; i++) {
            __m256 ai = _mm256_broadcast_ss(a_row[i] + (size_t)t * c.a_cs);
#pragma GCC unroll 2
            for (int h = 0; h < H; h++) acc[i][h] = _mm256_fmadd_ps(ai, bv[h], acc[i][h]);
        }
    }
    __m256 alpha = _mm256_set1_ps(c.alpha), zero = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < ROWS; i++) {
        if (i >= rows) break;
#pragma GCC unroll 2
        for (int h = 0; h < H; h++) {
            __m256 v = c.last ? _mm256_add_ps(_mm256_mul_ps(alpha, acc[i][h]), zero) : acc[i][h];
            float *out = c.C + (size_t)i * c.ldc + 8 * h;
            if (full)
                _mm256_storeu_ps(out, v);
            else
                _mm256_maskstore_ps(out, mask[h], v);
        }
    }
}

/* Columns in blocks of 16 (6 rows at a time); a last block of at most 8 columns in a
   block of 8 (8 rows at a time), so a thin edge costs no more than it holds. */
__attribute__((target("avx2,fma")))
static void chains_fma(Chains c) {
    for (int j = 0; j < c.n; j += 16) {
        int cols = c.n - j < 16 ? c.n - j : 16, wide = cols > 8, ROWS = wide ? 6 : 8;
        for (int r = 0; r < c.m; r += ROWS) {
            int rows = c.m - r < ROWS ? c.m - r : ROWS;
            Chains b = sub_job(c, r, j, rows, cols);
            if (wide && cols == 16)
                block(b, 6, 2, rows, 16, 1);
            else if (wide)
                block(b, 6, 2, rows, cols, 0);
            else if (cols == 8)
                block(b, 8, 1, rows, 8, 1);
            else
                block(b, 8, 1, rows, cols, 0);
        }
    }
}

/* T[t][j] = B[j][t] for an 8 x 8 block (rows of B ldb apart, rows of T ldt apart):
   pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged. */
__attribute__((target("avx2,fma")))
static void transpose_8x8(float *T, int ldt, const float *B, int ldb) {
    __m256 r[8], u[8], v[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(B + (size_t)i * ldb);
    for (int i = 0; i < 8; i += 2) {
        u[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      /* rows a, b: a0 b0 a1 b1 | a4 b4 a5 b5 */
        u[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  /*            a2 b2 a3 b3 | a6 b6 a7 b7 */
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            v[i + h] = _mm256_shuffle_ps(u[i + h], u[i + 2 + h], 0x44);      /* a0 b0 c0 d0 | a4 b4 c4 d4 */
            v[i + 2 + h] = _mm256_shuffle_ps(u[i + h], u[i + 2 + h], 0xEE);  /* a1 b1 c1 d1 | a5 b5 c5 d5 */
        }
    /* v[0]: col 0 | col 4 of rows 0-3; v[2]: col 1 | col 5; v[1]: col 2 | col 6; v[3]: col 3 | col 7;
       v[4..7] the same for rows 4-7 */
    static const int col_of[4] = {0, 2, 1, 3};
    for (int q = 0; q < 4; q++) {
        __m256 lo = v[q], hi = v[4 + q];
        int c = col_of[q];
        _mm256_storeu_ps(T + (size_t)c * ldt, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(T + (size_t)(c + 4) * ldt, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
}
#endif

static void run_chains(Chains c) {
#ifdef HAVE_X86_KERNEL
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        chains_fma(c);
        return;
    }
#endif
    chains_scalar(c);
}

void smallmm_nn(float *C, int ldc, const float *A, int a_rs, int a_cs, const float *B, int ldb,
                int m, int n, int k, float alpha) {
    if (k < 1) FATAL("smallmm_nn: inner dimension %d", k);
    run_chains((Chains){C, A, B, ldc, a_rs, a_cs, ldb, m, n, k, 0, 1, alpha});
}

void smallmm_nn_scalar(float *C, int ldc, const float *A, int a_rs, int a_cs, const float *B,
                       int ldb, int m, int n, int k, float alpha) {
    if (k < 1) FATAL("smallmm_nn_scalar: inner dimension %d", k);
    chains_scalar((Chains){C, A, B, ldc, a_rs, a_cs, ldb, m, n, k, 0, 1, alpha});
}

enum { TILE_N = 16, TILE_K = 128 };

/* T[t][j] = B[j][t] for j < jw, t < kw, T's rows TILE_N apart: 8 x 8 blocks with AVX
   where the CPU has it and the tile allows, element by element elsewhere. */
static void transpose_tile(float *T, const float *B, int ldb, int jw, int kw) {
    int j = 0, t0 = 0;
#ifdef HAVE_X86_KERNEL
    if (__builtin_cpu_supports("avx2")) {
        int k8 = kw - kw % 8;
        for (; j + 8 <= jw; j += 8)
            for (int t = 0; t < k8; t += 8)
                transpose_8x8(T + (size_t)t * TILE_N + j, TILE_N, B + (size_t)j * ldb + t, ldb);
        t0 = k8;   /* rows j.. of B and columns t0.. of the full rows are left */
        for (int jj = 0; jj < j; jj++)
            for (int t = t0; t < kw; t++) T[t * TILE_N + jj] = B[(size_t)jj * ldb + t];
    }
#endif
    for (; j < jw; j++)
        for (int t = 0; t < kw; t++) T[t * TILE_N + j] = B[(size_t)j * ldb + t];
}

/* B^T is copied a tile at a time (TILE_N rows of B by TILE_K of its columns) so that the
   chains read it with unit stride; a chain is continued across k-tiles through C. */
void smallmm_nt(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int m,
                int n, int k, float alpha) {
    if (k < 1) FATAL("smallmm_nt: inner dimension %d", k);
    float T[TILE_K * TILE_N];   /* T[t][j] = B[j0 + j][k0 + t] */
    for (int j0 = 0; j0 < n; j0 += TILE_N) {
        int jw = n - j0 < TILE_N ? n - j0 : TILE_N;
        for (int k0 = 0; k0 < k; k0 += TILE_K) {
            int kw = k - k0 < TILE_K ? k - k0 : TILE_K;
            transpose_tile(T, B + (size_t)j0 * ldb + k0, ldb, jw, kw);
            run_chains((Chains){C + j0, A + k0, T, ldc, lda, 1, TILE_N, m, jw, kw, k0 > 0,
                                k0 + kw == k, alpha});
        }
    }
}
